using Etcdserverpb;
using Mvccpb;

namespace Akka.Etcd.Actors.Watch;

/// <summary>Messages a <see cref="WatcherActor"/> accepts.</summary>
public abstract record WatcherMessage
{
    private protected WatcherMessage()
    {
    }

    /// <summary>A request read from the client's gRPC Watch stream (create, cancel or progress).</summary>
    public sealed record ClientRequest(WatchRequest Request) : WatcherMessage;

    /// <summary>Time for the periodic progress notification of watchers created with <c>progress_notify</c>.</summary>
    public sealed record ProgressTick : WatcherMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly ProgressTick Instance = new();
    }

    /// <summary>A revision the store applied, shared by every stream (never mutated).</summary>
    internal sealed record Published(long Revision, IReadOnlyList<Event> Events) : WatcherMessage;

    /// <summary>The store replaced its state from a snapshot at <paramref name="Revision"/>: every watcher re-syncs from history.</summary>
    internal sealed record Restored(long Revision) : WatcherMessage;

    /// <summary>The answer of a history read started by this stream.</summary>
    internal sealed record HistoryRead(long Generation, IReadOnlyList<Watcher> Watchers, HistoryResult Result) : WatcherMessage;

    /// <summary>The gRPC writer drained the outbox to its low watermark.</summary>
    internal sealed record OutboxHasRoom : WatcherMessage
    {
        public static readonly OutboxHasRoom Instance = new();
    }
}
