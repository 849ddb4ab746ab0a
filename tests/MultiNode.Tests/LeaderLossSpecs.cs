using Akka.Etcd.TestDoubles;
using Xunit.Abstractions;

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>Losing the leader (killed: no leadership transfer) on 3 and 5 members over Akka.Remote.</summary>
public sealed class LeaderLossSpecs(ITestOutputHelper output) : MultiNodeSpec(output)
{
    [Fact]
    public async Task When_the_leader_of_three_is_killed_the_survivors_elect_a_new_leader_in_a_higher_term_that_keeps_every_acknowledged_write_and_the_restarted_old_leader_catches_up()
    {
        var cluster = await StartClusterAsync(3);
        var old = await cluster.LeaderAsync();
        var oldTerm = old.Server.Status.Term;
        for (var i = 0; i < 10; i++)
        {
            await PutAsync(old, $"loss/{i:D2}", $"v{i}");
        }

        await cluster.StopAsync(old);
        var survivors = cluster.Running;
        var leader = await cluster.LeaderAsync(survivors);

        Assert.NotEqual(old, leader);
        Assert.True(leader.Server.Status.Term > oldTerm, $"new term {leader.Server.Status.Term} after {oldTerm}");
        // A linearizable read on the new leader holds every write the old one acknowledged.
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"loss/{i:D2}"), await KeysAsync(leader, "loss/", serializable: false));
        await PutAsync(leader, "loss/after", "x");

        // Restarted on its data dir, the old leader rejoins (it is ready once it knows the leader) and catches up.
        await cluster.RestartAsync(old);
        await cluster.LeaderAsync();
        await AwaitValueAsync([old], "loss/after", "x");
        Assert.Equal(11, (await KeysAsync(old, "loss/", serializable: true)).Count);
    }

    [Fact]
    public async Task Five_members_that_lose_the_leader_and_another_member_still_have_a_quorum_of_three_that_elects_a_leader_and_commits()
    {
        var cluster = await StartClusterAsync(5);
        var old = await cluster.LeaderAsync();
        await PutAsync(old, "loss5/before", "1");
        await AwaitValueAsync(cluster.Running, "loss5/before", "1");

        await cluster.StopAsync(old);
        await cluster.StopAsync(cluster.Running.First());
        var leader = await cluster.LeaderAsync();

        Assert.Equal(3, cluster.Running.Count);
        var put = await PutAsync(leader, "loss5/after", "2");
        await AwaitValueAsync(cluster.Running, "loss5/after", "2");
        Assert.All(cluster.Running, m => Assert.True(m.Server.Status.Revision >= put.Header.Revision));
        Assert.Equal("1", await GetAsync(cluster.Running.First(m => m != leader), "loss5/before", serializable: false));
    }
}
