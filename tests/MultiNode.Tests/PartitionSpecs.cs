using Akka.Etcd.Protos.Errors;
using Xunit.Abstractions;

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
        var minorityWrite = old.Server.PutAsync(new Etcdserverpb.PutRequest { Key = B("part/minority"), Value = B("lost") }, None);

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
}
