using Akka.Etcd.Actors.Server;

namespace Akka.Etcd.Node.Configuration;

/// <summary>Maps etcd's operations flags of a <see cref="MemberConfig"/> onto the member's <see cref="OperationsOptions"/>.</summary>
public static class OperationsConfig
{
    /// <summary>
    /// The auto-compaction, corruption-check and lease-checkpoint settings of <paramref name="config"/>; the retention
    /// is read as etcd reads it (see <see cref="OperationsOptions.ParseRetention"/>).
    /// </summary>
    /// <exception cref="ConfigErrorException">The retention is neither a number nor a duration.</exception>
    public static OperationsOptions From(MemberConfig config)
    {
        (AutoCompactionMode Mode, TimeSpan Period, long Revisions) retention;
        try
        {
            retention = OperationsOptions.ParseRetention(config.AutoCompactionMode, config.AutoCompactionRetention, GoValueSyntax.ParseDuration);
        }
        catch (FormatException ex)
        {
            throw new ConfigErrorException(ex.Message);
        }
        return new OperationsOptions
        {
            AutoCompactionMode = retention.Mode,
            AutoCompactionPeriod = retention.Period,
            AutoCompactionRevisions = retention.Revisions,
            RevisionCompactionInterval = config.ExperimentalRevisionCompactionInterval,
            InitialCorruptCheck = config.ExperimentalInitialCorruptCheck,
            CorruptCheckInterval = config.ExperimentalCorruptCheckTime,
            LeaseCheckpoint = config.ExperimentalEnableLeaseCheckpoint,
            LeaseCheckpointPersist = config.ExperimentalEnableLeaseCheckpointPersist,
            LeaseCheckpointInterval = config.ExperimentalLeaseCheckpointInterval,
        };
    }
}
