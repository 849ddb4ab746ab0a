namespace Akka.Etcd.Actors.Watch;

/// <summary>Limits and timings of one watch stream (one <see cref="WatcherActor"/>).</summary>
public sealed record WatchStreamOptions
{
    /// <summary>
    /// Responses buffered for the gRPC writer before watchers that would get events become victims
    /// (unsynced, caught up from history once the buffer drains to half). Default 1024 responses.
    /// </summary>
    public int OutboxCapacity { get; init; } = 1024;

    /// <summary>
    /// Client requests of one stream that may wait for their answer before the gRPC reader stops reading (etcd's
    /// <c>ctrlStreamBufLen</c>, 16); see <see cref="WatchIntake"/>.
    /// </summary>
    public int IntakePermits { get; init; } = WatchIntake.DefaultPermits;

    /// <summary>
    /// Size (bytes) above which a response of a watcher created with <c>fragment=true</c> is split, like
    /// etcd's <c>sendFragments</c> (limit = max request bytes 1.5 MiB + 512 KiB gRPC overhead = 2 MiB).
    /// </summary>
    public int MaxResponseBytes { get; init; } = (int)(1.5 * 1024 * 1024) + 512 * 1024;

    /// <summary>Most distinct revisions per history read and per catch-up response (etcd's <c>watchBatchMaxRevs</c>, 1000).</summary>
    public int HistoryBatchRevisions { get; init; } = 1000;

    /// <summary>
    /// Period of progress notifications for watchers created with <c>progress_notify</c> (etcd default 10 min,
    /// plus up to 10% jitter). <see cref="Timeout.InfiniteTimeSpan"/> or zero disables the stream's own timer;
    /// ticks can then be driven with <see cref="WatcherProtocol.ProgressTick"/>.
    /// </summary>
    public TimeSpan ProgressNotifyInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Most events one watcher's coalesced live response carries: the revisions published in one mailbox
    /// burst are sent as one response per watcher (like etcd's catch-up of slow watchers), cut at a revision
    /// boundary once this many events are reached. A single revision with more events still goes whole.
    /// 1 sends one response per revision. Default 1000 events.
    /// </summary>
    public int CoalesceMaxEvents { get; init; } = 1000;

    /// <summary>
    /// Most encoded event bytes one watcher's coalesced live response carries (cut at a revision boundary like
    /// <see cref="CoalesceMaxEvents"/>; fragmenting per <see cref="MaxResponseBytes"/> still applies).
    /// Default 1 MiB.
    /// </summary>
    public int CoalesceMaxBytes { get; init; } = 1024 * 1024;
}
