using Akka.Actor;

namespace Akka.Etcd.Actors.Supervision;

/// <summary>The messages the <see cref="MemberActor"/> accepts and the answers it gives.</summary>
public static class MemberProtocol
{
    /// <summary>Asks for the member's top actors; answered with <see cref="MemberRefs"/>.</summary>
    public sealed record GetRefs
    {
        /// <summary>The one instance.</summary>
        public static readonly GetRefs Instance = new();
    }

    /// <summary>
    /// A committed ConfChange removed this member from the cluster (from the RaftActor): the member stops, as etcd exits
    /// with "the member has been permanently removed from the cluster".
    /// </summary>
    public sealed record RemovedFromCluster(ulong MemberId);

    /// <summary>
    /// Stops the member's actors in etcd's order (Raft first, then the store with a final durable commit, then the
    /// lessor, the watch streams and the journal), then the member itself; answered with <see cref="Stopped"/>.
    /// </summary>
    public sealed record Stop
    {
        /// <summary>The one instance.</summary>
        public static readonly Stop Instance = new();
    }

    /// <summary>Answer of <see cref="Stop"/>.</summary>
    public sealed record Stopped
    {
        /// <summary>The one instance.</summary>
        public static readonly Stopped Instance = new();
    }
}

/// <summary>The member's top actors, for the asks of its gateway (<see cref="Server.MemberGateway"/>).</summary>
/// <param name="Raft">The RaftActor (proposals, linearizable reads, Raft status).</param>
/// <param name="Store">The MvccStoreActor (serializable reads, maintenance queries).</param>
/// <param name="Lessor">The LessorActor (keep-alives, time-to-live, lease lists).</param>
/// <param name="WatchStreams">The parent of the WatcherActors (opens watch streams).</param>
public sealed record MemberRefs(IActorRef Raft, IActorRef Store, IActorRef Lessor, IActorRef WatchStreams)
{
    /// <summary>The member's root actor (the <see cref="MemberActor"/>); <see cref="ActorRefs.Nobody"/> when not set.</summary>
    public IActorRef Member { get; init; } = ActorRefs.Nobody;

    /// <summary>
    /// The Akka.Persistence journal plugin actor the member's Raft log is written through (a system actor of the
    /// ActorSystem, not a child of the member; monitoring samples its mailbox); <see cref="ActorRefs.Nobody"/> when not set.
    /// </summary>
    public IActorRef Journal { get; init; } = ActorRefs.Nobody;

    /// <summary>
    /// The <see cref="Server.PeerRequestsActor"/> serving what the other members ask this one; <see cref="ActorRefs.Nobody"/>
    /// when not set.
    /// </summary>
    public IActorRef PeerRequests { get; init; } = ActorRefs.Nobody;
}

/// <summary>Why a member's actors ended.</summary>
/// <param name="Reason">What happened, for the log (e.g. "the member has been permanently removed from the cluster").</param>
/// <param name="Fatal">True when an actor the member cannot serve without failed (WAL, Raft, store): the process must exit non-zero.</param>
/// <param name="Cause">The failure, when there was one.</param>
public sealed record MemberExit(string Reason, bool Fatal, Exception? Cause = null);
