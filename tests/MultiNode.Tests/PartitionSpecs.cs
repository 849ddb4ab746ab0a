using Akka.Etcd.Protos.Errors;
using Xunit.Abstractions;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>
/// Partitions at the Akka.Remote level (Akka's throttler blackholes every message between the two sides, in both
/// directions) and their healing, on 5 members.
/// </summary>
public sealed class PartitionSpecs(ITestOutputHelper output) : MultiNodeSpec(output)
{
    [Fact]
    public async Task A_leader_cut_off_with_one_follower_steps_down_the_majority_of_three_elects_a_new_leader_and_after_heal_all_five_converge_without_the_minority_write()
    {
        var cluster = await StartClusterAsync(5);
        var old = await cluster.LeaderAsync();
        var oldTerm = old.Server.Status.Term;
        await PutAsync(old, "part/before", "1");
        await AwaitValueAsync(cluster.Running, "part/before", "1");
        var buddy = cluster.Running.First(m => m != old);
        var majority = cluster.Running.Where(m => m != old && m != buddy).ToList();

        await cluster.PartitionAsync(old, buddy);
        // Proposed on the minority side: it can reach two of five, never a quorum.
        var minorityWrite = old.Server.Gateway.PutAsync(new Etcdserverpb.PutRequest { Key = B("part/minority"), Value = B("lost") }, None);

        var leader = await cluster.LeaderAsync(majority);
        Assert.True(leader.Server.Status.Term > oldTerm, $"new term {leader.Server.Status.Term} after {oldTerm}");
        // The old leader hears from no quorum and steps down (check quorum), as etcd's does.
        await AwaitTrueAsync(() => !old.Server.Status.IsLeader, "the cut-off leader steps down");
        await PutAsync(leader, "part/majority", "2");
        Assert.Null(await GetAsync(old, "part/majority", serializable: true));

        await cluster.HealAsync();
        await cluster.LeaderAsync();
        await AwaitValueAsync(cluster.Running, "part/majority", "2");

        // The minority write was never acknowledged, and its uncommitted entry was overwritten by the new leader's log.
        var error = await Assert.ThrowsAsync<EtcdException>(() => minorityWrite.WaitAsync(Deadline));
        AssertNotThroughConsensus(error);
        foreach (var member in cluster.Running)
        {
            Assert.Equal(["part/before", "part/majority"], await KeysAsync(member, "part/", serializable: false));
        }
    }

    [Fact]
    public async Task A_follower_of_five_cut_off_until_the_leader_marks_it_inactive_catches_up_on_every_write_it_missed_once_healed()
    {
        var cluster = await StartClusterAsync(5);
        var leader = await cluster.LeaderAsync();
        var follower = cluster.Running.First(m => m != leader);

        await cluster.PartitionAsync(follower);
        for (var i = 0; i < 50; i++)
        {
            await PutAsync(leader, $"long/{i:D2}", $"v{i}");
        }
        // Nothing heard for 5 s (etcd's ConnReadTimeout): the leader's transport takes the peer as inactive; by then the
        // link's window of unacknowledged batches has been used up and reset, as the heartbeats went nowhere.
        await AwaitTrueAsync(() => !leader.Server.Transport!.IsActive(follower.Id), "the leader's transport marks the cut-off follower inactive");
        Assert.Empty(await KeysAsync(follower, "long/", serializable: true));

        await cluster.HealAsync();

        await AwaitValueAsync([follower], "long/49", "v49");
        Assert.Equal(50, (await KeysAsync(follower, "long/", serializable: true)).Count);
        await AwaitTrueAsync(() => leader.Server.Transport!.IsActive(follower.Id), "the leader's transport hears from the follower again");
        await cluster.LeaderAsync();
    }

    [Fact]
    public async Task With_pre_vote_a_follower_cut_off_past_its_election_timeout_never_raises_its_term_and_after_heal_follows_the_leader_and_catches_up()
    {
        var cluster = await StartClusterAsync(3, options => options with { PreVote = true });
        var leader = await cluster.LeaderAsync();
        var follower = cluster.Running.First(m => m != leader);
        var term = follower.Server.Status.Term;
        var highestTerm = term;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
            while (!sampling.IsCancellationRequested)
            {
                highestTerm = Math.Max(highestTerm, follower.Server.Status.Term);
                try
                {
                    await poll.WaitForNextTickAsync(sampling.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });

        await cluster.PartitionAsync(follower);
        // Its election timeout passes without a heartbeat: it pre-campaigns (and knows no leader), which asks for
        // votes without raising its term.
        await AwaitTrueAsync(() => !follower.Server.Status.HasLeader, "the cut-off follower gave up on the leader");
        var put = await PutAsync(leader, "prevote/k", "during");
        await AwaitTrueAsync(() => !follower.Server.Status.HasLeader && cluster.Running.Count(m => m.Server.Status.Revision >= put.Header.Revision) == 2,
            "the majority applied the write while the follower stays cut off");

        await cluster.HealAsync();
        var agreed = await cluster.LeaderAsync();
        await AwaitValueAsync([follower], "prevote/k", "during");
        sampling.Cancel();
        await sampler;

        // Without pre-vote its term would have grown with every election it started, and the heal would depose the leader.
        Assert.Equal(term, highestTerm);
        Assert.True(agreed.Server.Status.Term >= highestTerm);
    }
}
