using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Raft;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Consensus;

/// <summary>The messages the <see cref="RaftActor"/> accepts and the answers it gives.</summary>
public static class RaftProtocol
{
    /// <summary>One Raft tick (every heartbeat interval, from the actor's own timer).</summary>
    public sealed record Tick
    {
        /// <summary>The one instance.</summary>
        public static readonly Tick Instance = new();
    }

    /// <summary>
    /// Proposes an encoded <c>InternalRaftRequest</c> whose <c>ID</c> field is <paramref name="Id"/>. The sender is
    /// answered once the entry is applied on this member: with the apply's response (a protobuf message, e.g. a
    /// PutResponse), or <c>Status.Failure</c> with an <c>EtcdException</c> (the apply error; LeaderChanged or NoLeader
    /// when Raft dropped the proposal; TooManyRequests past the uncommitted-bytes limit; Timeout after the request
    /// timeout).
    /// </summary>
    /// <param name="Id">The request ID, unique across members and restarts (RequestIdGenerator).</param>
    /// <param name="Data">The encoded InternalRaftRequest.</param>
    public sealed record Propose(ulong Id, ByteString Data);

    /// <summary>
    /// Proposes a single-member configuration change; the sender is answered like <see cref="Propose"/>, with a
    /// <c>MemberListResponse</c> once the change is applied.
    /// </summary>
    public sealed record ProposeConfChange(ConfChange Change);

    /// <summary>
    /// A linearizable read: the RaftActor obtains a read index (all reads of one round share one Raft ReadIndex),
    /// then hands <paramref name="Query"/> to the MvccStoreActor, which runs it once the read index is applied and
    /// answers the original sender directly. Fails with NoLeader, LeaderChanged or Stopped.
    /// </summary>
    public sealed record LinearizableRead(StoreProtocol.Query Query);

    /// <summary>A Raft message from a peer (any type but the local ones).</summary>
    public sealed record Step(Message Message);

    /// <summary>
    /// A MsgSnap arrived from the leader with its backend db file at <paramref name="DbPath"/> (complete and fsynced):
    /// the db is kept aside and the message stepped; only when Raft accepts the snapshot is the backend replaced.
    /// </summary>
    public sealed record SnapshotArrived(Message Message, string DbPath);

    /// <summary>The MvccStoreActor applied everything up to <paramref name="Index"/>.</summary>
    public sealed record Applied(ulong Index);

    /// <summary>Asks the leader to hand leadership to <paramref name="Transferee"/> (MoveLeader). Not answered.</summary>
    public sealed record TransferLeadership(ulong Transferee);

    /// <summary>The transport could not reach <paramref name="PeerId"/>.</summary>
    public sealed record Unreachable(ulong PeerId);

    /// <summary>A snapshot sent to <paramref name="PeerId"/> was delivered or failed.</summary>
    public sealed record SnapshotStatus(ulong PeerId, bool Succeeded);

    /// <summary>Asks for the Raft status (term, leader, per-follower progress); answered with a <see cref="RaftStatus"/>.</summary>
    public sealed record GetStatus
    {
        /// <summary>The one instance.</summary>
        public static readonly GetStatus Instance = new();
    }

    /// <summary>Self-sent once per burst of input: the round that turns everything stepped since into one Ready.</summary>
    internal sealed record ProcessReady
    {
        public static readonly ProcessReady Instance = new();
    }
}
