using Akka.Actor;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// The messages the <see cref="PeerActor"/> (<c>/user/peer</c>) accepts from its own member, and the answers it gives.
/// What peers send it over the wire are the protobuf messages of Protos/akka/etcd/peer/peer.proto.
/// </summary>
public static class PeerProtocol
{
    /// <summary>
    /// Starts serving the member <paramref name="LocalId"/> of cluster <paramref name="ClusterId"/>: from now on Raft
    /// batches, requests and snapshots of the peers added are accepted and the member's events raised on
    /// <paramref name="Member"/>; the member joins the Akka cluster of its peers. Answered with <see cref="Attached"/>.
    /// </summary>
    public sealed record Attach(ulong LocalId, ulong ClusterId, IPeerMember Member);

    /// <summary>Answer of <see cref="Attach"/>.</summary>
    public sealed record Attached
    {
        /// <summary>The one instance.</summary>
        public static readonly Attached Instance = new();
    }

    /// <summary>
    /// Stops serving the member: queued messages are dropped, snapshot sends in flight fail (SnapshotStatus false),
    /// waiting requests fail with "server stopped", nothing more is delivered. Answered with <see cref="Detached"/>.
    /// </summary>
    public sealed record Detach
    {
        /// <summary>The one instance.</summary>
        public static readonly Detach Instance = new();
    }

    /// <summary>Answer of <see cref="Detach"/>.</summary>
    public sealed record Detached
    {
        /// <summary>The one instance.</summary>
        public static readonly Detached Instance = new();
    }

    /// <summary>Raft messages to send, each to its <c>To</c> peer (MsgSnap through the snapshot pipeline). Not answered.</summary>
    public sealed record Send(IReadOnlyList<Message> Messages);

    /// <summary>A member to talk to, reachable at <paramref name="PeerUrl"/> (its first advertised peer URL). Not answered.</summary>
    public sealed record AddPeer(ulong Id, string PeerUrl);

    /// <summary>
    /// A member left the cluster (a committed ConfChange): its link goes, and if this member leads the Raft cluster it
    /// downs the removed member in the Akka cluster. Not answered.
    /// </summary>
    public sealed record RemovePeer(ulong Id);

    /// <summary>A member's peer URL changed (member update): its link moves there. Not answered.</summary>
    public sealed record UpdatePeer(ulong Id, string PeerUrl);

    /// <summary>
    /// Asks the member <paramref name="MemberId"/> (a current peer) <paramref name="Request"/> (a type of
    /// <see cref="PeerRequestTypes"/>). Answered with the peer's answer (an <see cref="IMessage"/>) or a
    /// <c>Status.Failure</c> with an <c>EtcdException</c>: the peer's error, Unavailable for an unknown member or a
    /// detached transport, DeadlineExceeded "peer request timed out" after <paramref name="Timeout"/>.
    /// </summary>
    public sealed record AskPeer(ulong MemberId, IMessage Request, TimeSpan Timeout);

    /// <summary>
    /// As <see cref="AskPeer"/>, to whatever member listens at <paramref name="PeerUrl"/>, attached or not: how a member
    /// started with <c>--initial-cluster-state existing</c> asks the running members for the member list before it
    /// knows its own ID.
    /// </summary>
    public sealed record AskPeerUrl(string PeerUrl, IMessage Request, TimeSpan Timeout);

    /// <summary>Asks for the links' counters (for monitoring); answered with <see cref="PeerStats"/>.</summary>
    public sealed record GetPeerStats
    {
        /// <summary>The one instance.</summary>
        public static readonly GetPeerStats Instance = new();
    }

    /// <summary>
    /// Answer of <see cref="GetPeerStats"/>, also published on the ActorSystem's EventStream about once a second while
    /// a member is attached (the <see cref="ClusterMonitorActor"/> keeps the latest): one entry per current peer,
    /// ordered by member ID.
    /// </summary>
    /// <param name="LocalId">This member's ID; 0 while no member is attached (before start, after stop).</param>
    /// <param name="LocalAddress">This member's Akka address (<c>akka.tcp://akka-etcd@host:port</c>, its advertised peer URL).</param>
    /// <param name="At">When the counters were read (UTC).</param>
    /// <param name="Peers">The peers' counters.</param>
    public sealed record PeerStats(ulong LocalId, string LocalAddress, DateTime At, IReadOnlyList<PeerLinkStats> Peers);

    /// <summary>One link's counters since it was added.</summary>
    /// <param name="PeerId">The peer's member ID.</param>
    /// <param name="Address">The peer's Akka address (its peer URL).</param>
    /// <param name="ActiveSince">Since when the peer is active (UTC), null while inactive.</param>
    /// <param name="BatchesSent">Remote messages carrying Raft messages, pings or acknowledgements sent.</param>
    /// <param name="MessagesSent">Raft messages sent in them.</param>
    /// <param name="BatchesReceived">Remote messages received from the peer.</param>
    /// <param name="MessagesReceived">Raft messages received in them.</param>
    /// <param name="MessagesDropped">Raft messages dropped (queue or window full).</param>
    /// <param name="InFlight">Batches sent and not acknowledged yet.</param>
    /// <param name="RemoteMessagesSent">
    /// Every remote message this member's peer actor sent to the peer: Raft batches (with acknowledgements), peer
    /// requests and their answers, snapshot offers and chunks. Monotonic since the link was added (a removed and
    /// re-added peer starts at 0). Not counted: snapshot acknowledgements and Akka's own traffic (heartbeats, gossip).
    /// </param>
    /// <param name="BytesSent">Protobuf payload bytes of <paramref name="RemoteMessagesSent"/> (without Akka.Remote's envelope and framing).</param>
    /// <param name="RemoteMessagesReceived">The same kinds of remote message received from the peer and accepted (from a current member).</param>
    /// <param name="BytesReceived">Protobuf payload bytes of <paramref name="RemoteMessagesReceived"/>.</param>
    public sealed record PeerLinkStats(ulong PeerId, string Address, DateTime? ActiveSince, long BatchesSent, long MessagesSent,
        long BatchesReceived, long MessagesReceived, long MessagesDropped, int InFlight,
        long RemoteMessagesSent, long BytesSent, long RemoteMessagesReceived, long BytesReceived);
}

/// <summary>
/// The member a <see cref="PeerActor"/> serves, as the actor sees it. Every callback runs on the actor's thread: keep
/// them short and non-blocking (tell an actor, start a task).
/// </summary>
public interface IPeerMember
{
    /// <summary>A Raft message from a peer (never MsgSnap): the member steps it.</summary>
    void OnReceived(Message message);

    /// <summary>A message to the peer was dropped (window or queue full, peer silent): the member reports it unreachable to Raft.</summary>
    void OnUnreachable(ulong peerId);

    /// <summary>A snapshot sent to the peer was installed there (true) or failed (false).</summary>
    void OnSnapshotStatus(ulong peerId, bool succeeded);

    /// <summary>A peer says this member has been removed from the cluster: it must stop.</summary>
    void OnRemovedFromCluster(ulong peerId);

    /// <summary>The peer became active (<paramref name="since"/>, UTC) or inactive (null).</summary>
    void OnActivityChanged(ulong peerId, DateTime? since);

    /// <summary>True when <paramref name="memberId"/> was removed from the cluster (its messages are answered with a removal notice).</summary>
    bool IsMemberRemoved(ulong memberId);

    /// <summary>True while this member leads the Raft cluster (it then downs removed members in the Akka cluster).</summary>
    bool IsLeader { get; }

    /// <summary>Opens the backend db to send with a MsgSnap (may block: the actor calls it on a pool thread); the caller disposes it.</summary>
    Stream OpenSnapshot(Message message);

    /// <summary>
    /// Hands over a received snapshot: the MsgSnap and its complete, checked and fsynced db file (now the member's).
    /// The sender hears of success when the task completes.
    /// </summary>
    Task InstallSnapshotAsync(Message message, string dbPath);

    /// <summary>Serves a request of a peer (see <see cref="IPeerRequests.Serve"/>).</summary>
    Task<IMessage> ServeAsync(ulong from, IMessage request, CancellationToken cancel);
}
