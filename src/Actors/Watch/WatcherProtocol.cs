using Akka.Actor;
using Etcdserverpb;
using Mvccpb;

namespace Akka.Etcd.Actors.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>The messages a <see cref="WatcherActor"/> and its parent <see cref="WatchStreamsActor"/> accept.</summary>
public static class WatcherProtocol
{
    /// <summary>
    /// Opens one client Watch stream: the parent creates its WatcherActor and answers a <see cref="WatchStream"/> (the
    /// handle the gRPC facade feeds requests into and reads responses from).
    /// </summary>
    public sealed record OpenStream
    {
        /// <summary>The one instance.</summary>
        public static readonly OpenStream Instance = new();
    }

    /// <summary>
    /// A request read from the client's gRPC Watch stream (create, cancel or progress). A create with
    /// <paramref name="DeniedReason"/> is refused by auth: it is answered "created and canceled" with that reason.
    /// </summary>
    public sealed record ClientRequest(WatchRequest Request, string? DeniedReason = null);

    /// <summary>Time for the periodic progress notification of watchers created with <c>progress_notify</c>.</summary>
    public sealed record ProgressTick
    {
        /// <summary>The one instance.</summary>
        public static readonly ProgressTick Instance = new();
    }

    /// <summary>A revision the store applied, shared by every stream (never mutated).</summary>
    public sealed record Published(long Revision, IReadOnlyList<Event> Events);

    /// <summary>The store replaced its state from a snapshot at <paramref name="Revision"/>: every watcher re-syncs from history.</summary>
    public sealed record Restored(long Revision);

    /// <summary>The gRPC writer drained the outbox to its low watermark.</summary>
    internal sealed record OutboxHasRoom
    {
        public static readonly OutboxHasRoom Instance = new();
    }

    /// <summary>Self-sent after the first published revision of a burst: coalesced responses are written when it arrives.</summary>
    internal sealed record FlushBatches
    {
        public static readonly FlushBatches Instance = new();
    }

    /// <summary>Stops the stream's actor (the client went away); its outbox completes.</summary>
    internal sealed record Close(IActorRef Stream);
}
