namespace Akka.Etcd.Actors.Server;

/// <summary>How <c>--auto-compaction-retention</c> is read (<c>--auto-compaction-mode</c>).</summary>
public enum AutoCompactionMode
{
    /// <summary>Keep a window of time: compact to the revision of one retention period ago (etcd's periodic compactor).</summary>
    Periodic,

    /// <summary>Keep a number of revisions: compact to the current revision minus the retention (etcd's revision compactor).</summary>
    Revision,
}

/// <summary>
/// What a member does on its own to stay operable, as etcd 3.4 does: auto-compaction, corruption checks and lease
/// checkpoints. Defaults are etcd's (all off, 5-minute intervals where etcd 3.4 fixes them).
/// </summary>
public sealed record OperationsOptions
{
    /// <summary><c>--auto-compaction-mode</c>.</summary>
    public AutoCompactionMode AutoCompactionMode { get; init; } = AutoCompactionMode.Periodic;

    /// <summary>
    /// Periodic mode: the retention window (<c>--auto-compaction-retention</c>, hours when unit-less); zero = no
    /// auto-compaction. Unused in revision mode.
    /// </summary>
    public TimeSpan AutoCompactionPeriod { get; init; }

    /// <summary>Revision mode: the revisions kept (<c>--auto-compaction-retention</c>); 0 = no auto-compaction.</summary>
    public long AutoCompactionRevisions { get; init; }

    /// <summary>Revision mode: how often the compactor looks (etcd 3.4: every 5 minutes).</summary>
    public TimeSpan RevisionCompactionInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>True when auto-compaction is on (a non-zero retention for the mode).</summary>
    public bool AutoCompactionEnabled =>
        AutoCompactionMode == AutoCompactionMode.Periodic ? AutoCompactionPeriod > TimeSpan.Zero : AutoCompactionRevisions > 0;

    /// <summary><c>--experimental-initial-corrupt-check</c>: compare HashKV with the peers before serving clients.</summary>
    public bool InitialCorruptCheck { get; init; }

    /// <summary><c>--experimental-corrupt-check-time</c>: the leader compares HashKV with the peers this often; zero = never.</summary>
    public TimeSpan CorruptCheckInterval { get; init; }

    /// <summary><c>--experimental-enable-lease-checkpoint</c>: the leader records remaining TTLs through the log.</summary>
    public bool LeaseCheckpoint { get; init; }

    /// <summary><c>--experimental-enable-lease-checkpoint-persist</c>: checkpointed remaining TTLs are also persisted (kept across a restart).</summary>
    public bool LeaseCheckpointPersist { get; init; }

    /// <summary>How long after a lease's (re)scheduling its checkpoint is due (etcd 3.4: 5 minutes).</summary>
    public TimeSpan LeaseCheckpointInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// etcd's <c>parseCompactionRetention</c>: a bare non-negative integer is hours (periodic) or revisions (revision);
    /// anything else is a Go duration (<c>30m</c>, <c>1h30m</c>), taken as nanoseconds in revision mode, as etcd does.
    /// </summary>
    /// <param name="mode"><c>periodic</c> (or empty) or <c>revision</c>.</param>
    /// <param name="retention">The flag's text.</param>
    /// <param name="parseDuration">A Go duration parser (the caller's flag syntax).</param>
    /// <exception cref="FormatException">Neither an integer nor a duration ("error parsing CompactionRetention").</exception>
    public static (AutoCompactionMode Mode, TimeSpan Period, long Revisions) ParseRetention(string mode, string retention,
        Func<string, TimeSpan> parseDuration)
    {
        var revisionMode = mode == "revision";
        var kind = revisionMode ? AutoCompactionMode.Revision : AutoCompactionMode.Periodic;
        if (long.TryParse(retention, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return revisionMode ? (kind, TimeSpan.Zero, number) : (kind, TimeSpan.FromHours(number), 0);
        }
        TimeSpan duration;
        try
        {
            duration = parseDuration(retention);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
        {
            throw new FormatException($"error parsing CompactionRetention: {ex.Message}", ex);
        }
        return revisionMode ? (kind, TimeSpan.Zero, duration.Ticks * 100) : (kind, duration, 0);
    }
}
