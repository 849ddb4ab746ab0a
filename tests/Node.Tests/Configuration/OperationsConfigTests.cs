using Akka.Etcd.Actors.Server;
using Akka.Etcd.Node.Configuration;

namespace Akka.Etcd.Node.Tests.Configuration;

/// <summary>etcd 3.4's operations flags mapped onto <see cref="OperationsOptions"/>, the retention read as etcd reads it.</summary>
public class OperationsConfigTests
{
    private static OperationsOptions From(params string[] args)
    {
        var outcome = MemberConfigParser.Parse(args, new Dictionary<string, string>(), new StringWriter(), new StringWriter());
        return OperationsConfig.From(outcome.Config ?? throw new Xunit.Sdk.XunitException($"flags refused: exit {outcome.ExitCode}"));
    }

    [Theory]
    [InlineData("1h", 60)]
    [InlineData("30m", 30)]
    [InlineData("1", 60)]
    [InlineData("12", 720)]
    [InlineData("1h30m", 90)]
    public void Periodic_retention_is_a_duration_or_a_bare_number_of_hours(string retention, int minutes)
    {
        var options = From("--auto-compaction-retention", retention);
        Assert.Equal(AutoCompactionMode.Periodic, options.AutoCompactionMode);
        Assert.Equal(TimeSpan.FromMinutes(minutes), options.AutoCompactionPeriod);
        Assert.True(options.AutoCompactionEnabled);
    }

    [Fact]
    public void Revision_retention_is_a_count_and_zero_turns_auto_compaction_off()
    {
        var options = From("--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000");
        Assert.Equal((AutoCompactionMode.Revision, 1000L), (options.AutoCompactionMode, options.AutoCompactionRevisions));
        Assert.Equal(TimeSpan.FromMinutes(5), options.RevisionCompactionInterval);
        Assert.False(From().AutoCompactionEnabled);
        Assert.False(From("--auto-compaction-mode", "revision").AutoCompactionEnabled);
    }

    [Fact]
    public void A_retention_that_is_neither_a_number_nor_a_duration_is_refused()
    {
        var error = Assert.Throws<ConfigErrorException>(() => From("--auto-compaction-retention", "lots"));
        Assert.StartsWith("error parsing CompactionRetention", error.Message);
    }

    [Fact]
    public void Corruption_checks_and_lease_checkpoints_come_from_their_flags()
    {
        var options = From("--experimental-initial-corrupt-check", "--experimental-corrupt-check-time", "3m",
            "--experimental-enable-lease-checkpoint", "--experimental-enable-lease-checkpoint-persist",
            "--experimental-lease-checkpoint-interval", "10s");
        Assert.True(options.InitialCorruptCheck);
        Assert.Equal(TimeSpan.FromMinutes(3), options.CorruptCheckInterval);
        Assert.True(options.LeaseCheckpoint && options.LeaseCheckpointPersist);
        Assert.Equal(TimeSpan.FromSeconds(10), options.LeaseCheckpointInterval);
        Assert.Equal(TimeSpan.FromMinutes(5), From().LeaseCheckpointInterval);
    }
}
