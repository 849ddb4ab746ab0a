using Akka.Etcd.Actors.Lease;

namespace Akka.Etcd.Actors.Tests.Lease;

/// <summary>Lease checkpoint scheduling of the pure <see cref="Lessor"/>, as etcd 3.4.23's lessor does it.</summary>
public sealed class LessorCheckpointTests
{
    private static Lessor Primary(long intervalMs, long nowMs = 0)
    {
        var lessor = new Lessor(new LessorOptions { CheckpointIntervalMs = intervalMs });
        lessor.Promote(nowMs, 0);
        return lessor;
    }

    [Fact]
    public void A_lease_longer_than_the_interval_is_checkpointed_one_interval_after_its_grant()
    {
        var lessor = Primary(intervalMs: 2000);
        lessor.Grant(1, 60, nowMs: 0);
        lessor.Grant(2, 2, nowMs: 0); // not longer than the interval: never scheduled
        Assert.Empty(lessor.DueCheckpoints(1999, 10));

        var due = Assert.Single(lessor.DueCheckpoints(2000, 10));
        Assert.Equal((1L, 58L), (due.ID, due.RemainingTTL));
        Assert.Empty(lessor.DueCheckpoints(10_000, 10)); // scheduled again only when the checkpoint is applied

        lessor.Checkpoint(1, 58, nowMs: 2500);
        Assert.Empty(lessor.DueCheckpoints(4499, 10));
        Assert.Equal(56, Assert.Single(lessor.DueCheckpoints(4500, 10)).RemainingTTL);
    }

    [Fact]
    public void A_new_primary_counts_down_from_the_checkpoint_and_a_renew_asks_to_clear_it()
    {
        var follower = new Lessor(new LessorOptions { CheckpointIntervalMs = 2000 });
        follower.Grant(1, 60, nowMs: 0);
        follower.Checkpoint(1, 30, nowMs: 0);
        Assert.Empty(follower.DueCheckpoints(100_000, 10)); // only the primary checkpoints

        follower.Promote(nowMs: 1000, extendMs: 500);
        Assert.Equal(1000 + 500 + 30_000, follower.DeadlineOf(1));
        Assert.True(follower.NeedsCheckpointClear(1));
        follower.Renew(1, nowMs: 2000);
        follower.Checkpoint(1, 0, nowMs: 2000);
        Assert.False(follower.NeedsCheckpointClear(1));
    }

    [Fact]
    public void Without_checkpointing_nothing_is_scheduled_or_cleared()
    {
        var lessor = Primary(intervalMs: 0);
        lessor.Grant(1, 600, nowMs: 0);
        lessor.Checkpoint(1, 300, nowMs: 0);
        Assert.Empty(lessor.DueCheckpoints(long.MaxValue / 2, 10));
        Assert.False(lessor.NeedsCheckpointClear(1));
    }
}
