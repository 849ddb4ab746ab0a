using Xunit.Abstractions;

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>Elections of 3 and 5 members over Akka.Remote: one leader, agreed on by all, that commits writes everywhere.</summary>
public sealed class ElectionSpecs(ITestOutputHelper output) : MultiNodeSpec(output)
{
    [Fact]
    public async Task Three_members_elect_exactly_one_leader_in_one_term_and_its_write_is_applied_on_every_member()
    {
        var cluster = await StartClusterAsync(3);

        var leader = await cluster.LeaderAsync();

        // Agreement holds in one term: the followers took the leader's term, and no one else claims to lead.
        await AwaitTrueAsync(() => cluster.Running.All(m => m.Server.Status.Term == leader.Server.Status.Term
            && m.Server.Status.Leader == leader.Id), "every member follows the leader in its term");
        Assert.Single(cluster.Running, m => m.Server.Status.IsLeader);
        var put = await PutAsync(leader, "election/three", "v");
        await AwaitValueAsync(cluster.Running, "election/three", "v");
        await AwaitTrueAsync(() => cluster.Running.All(m => m.Server.Status.Revision == put.Header.Revision),
            "every member applied the write at its revision");
    }

    [Fact]
    public async Task Five_members_elect_one_leader_and_a_write_proposed_on_a_follower_is_forwarded_committed_and_applied_on_all_five()
    {
        var cluster = await StartClusterAsync(5);
        var leader = await cluster.LeaderAsync();
        var follower = cluster.Running.First(m => m != leader);

        // The follower forwards the proposal to the leader (MsgProp over remoting) and answers once it applied it.
        var put = await PutAsync(follower, "election/five", "from-a-follower");

        Assert.Equal(follower.Id, put.Header.MemberId);
        Assert.Equal("from-a-follower", await GetAsync(follower, "election/five", serializable: true));
        await AwaitValueAsync(cluster.Running, "election/five", "from-a-follower");
        Assert.Equal(leader, await cluster.LeaderAsync());
    }
}
