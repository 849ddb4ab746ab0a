using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Xunit.Abstractions;

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>Leadership moved on purpose over Akka.Remote: MoveLeader (etcdctl move-leader) and etcd's graceful stop.</summary>
public sealed class LeadershipTransferSpecs(ITestOutputHelper output) : MultiNodeSpec(output)
{
    [Fact]
    public async Task MoveLeader_on_five_members_hands_leadership_to_the_chosen_follower_which_every_member_follows_in_a_higher_term_with_every_write_kept()
    {
        var cluster = await StartClusterAsync(5);
        var old = await cluster.LeaderAsync();
        var oldTerm = old.Server.Status.Term;
        for (var i = 0; i < 5; i++)
        {
            await PutAsync(old, $"move/{i}", $"v{i}");
        }
        var target = cluster.Running.Last(m => m != old);

        await LeadershipTransfer.MoveAsync(old.Server.Gateway, target.Id, TimeSpan.FromMilliseconds(old.Server.Options.ElectionTimeoutMs * 5L), None)
            .WaitAsync(Deadline);

        // MoveLeader answers once the target leads; then every member follows it.
        Assert.True(target.Server.Status.IsLeader);
        Assert.Equal(target, await cluster.LeaderAsync());
        Assert.True(target.Server.Status.Term > oldTerm, $"term {target.Server.Status.Term} after {oldTerm}");
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"move/{i}"), await KeysAsync(target, "move/", serializable: false));
        await PutAsync(target, "move/after", "x");
        Assert.Equal("x", await LinearizableGetAsync(old, "move/after"));
    }

    [Fact]
    public async Task A_graceful_stop_of_the_leader_of_three_hands_leadership_to_a_survivor_before_it_returns()
    {
        var cluster = await StartClusterAsync(3);
        var old = await cluster.LeaderAsync();
        await PutAsync(old, "graceful/k", "v");

        await cluster.StopAsync(old, graceful: true);

        // No election timeout sat out: a survivor already leads when the stop returns.
        Assert.Contains(cluster.Running, m => m.Server.Status.IsLeader);
        var leader = await cluster.LeaderAsync();
        Assert.Equal("v", await LinearizableGetAsync(leader, "graceful/k"));
    }
}
