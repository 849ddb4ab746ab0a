using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.TestDoubles;
using Etcdserverpb;
using Xunit.Abstractions;

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>
/// Membership changes on running members over Akka.Remote, as an operator makes them with <c>etcdctl member</c>:
/// add a learner, promote it, remove a member; replace a dead member.
/// </summary>
public sealed class MembershipSpecs(ITestOutputHelper output) : MultiNodeSpec(output)
{
    [Fact]
    public async Task A_learner_added_to_three_members_catches_up_is_promoted_to_a_voter_whose_vote_counts_and_a_removed_follower_stops()
    {
        var cluster = await StartClusterAsync(3);
        var leader = await cluster.LeaderAsync();
        for (var i = 0; i < 20; i++)
        {
            await PutAsync(leader, $"members/{i:D2}", $"v{i}");
        }
        // etcd's strict reconfig check: a member is added only once every voter has been connected for 5 s.
        await AwaitConnectedFor(leader, cluster.Running.Where(m => m != leader), TimeSpan.FromSeconds(5));

        var learner = cluster.Reserve("m4");
        var added = await new MemberChanges(leader.Server.Gateway).MemberAddAsync(new MemberAddRequest { IsLearner = true, PeerURLs = { learner.PeerUrl } }, None)
            .WaitAsync(Deadline);
        Assert.True(added.Member.IsLearner);
        await cluster.JoinAsync(learner, added);

        // It receives the log without voting.
        await AwaitValueAsync([learner], "members/19", "v19");
        Assert.True(learner.Server.Gateway.IsLearner);
        var status = await new MemberChanges(leader.Server.Gateway).RaftStatusAsync(None).WaitAsync(Deadline);
        Assert.True(status.Progress[learner.Id].IsLearner);

        // Promoted once it has caught up (etcd refuses "learner not ready" before). An attempt that timed out may still
        // have been applied: "member not learner" then means it is done.
        await AwaitAssertAsync(async () =>
        {
            try
            {
                await new MemberChanges(leader.Server.Gateway).MemberPromoteAsync(new MemberPromoteRequest { ID = learner.Id }, None).WaitAsync(Deadline);
            }
            catch (EtcdException e) when (e.Message == EtcdErrors.MemberNotLearner.Message)
            {
            }
        }, Deadline, TimeSpan.FromMilliseconds(200));
        await AwaitTrueAsync(() => cluster.Running.All(m => m.Server.Membership.Members.Single(x => x.ID == learner.Id).IsLearner == false),
            "every member applied the promotion");
        Assert.False(learner.Server.Gateway.IsLearner);

        // Removing a follower: it applies its own removal and stops serving (not a failure).
        var removed = cluster.Running.First(m => m != leader && m != learner);
        var remaining = await new MemberChanges(leader.Server.Gateway).MemberRemoveAsync(new MemberRemoveRequest { ID = removed.Id }, None).WaitAsync(Deadline);
        Assert.DoesNotContain(remaining.Members, m => m.ID == removed.Id);
        var exit = await removed.Server.Exited.WaitAsync(Deadline);
        Assert.False(exit.Fatal);
        Assert.Contains("removed", exit.Reason);
        await cluster.StopAsync(removed);

        // Voters now: the leader, the third original member and the promoted learner. With the third one stopped too,
        // a write commits only if the promoted member's vote counts (two of three).
        var third = cluster.Running.Single(m => m != leader && m != learner);
        await cluster.StopAsync(third);
        var put = await PutAsync(leader, "members/after", "x");
        await AwaitValueAsync([learner], "members/after", "x");
        Assert.True(put.Header.Revision > 0);
    }

    [Fact]
    public async Task A_dead_member_of_three_is_replaced_by_adding_a_new_member_then_removing_the_dead_one_while_it_is_unreachable_and_if_it_comes_back_it_learns_it_was_removed()
    {
        // etcd refuses to add a member while a voter is down unless --strict-reconfig-check=false, the operator's way
        // to replace a dead member before removing it.
        var cluster = await StartClusterAsync(3, options => options with { StrictReconfigCheck = false });
        var leader = await cluster.LeaderAsync();
        for (var i = 0; i < 10; i++)
        {
            await PutAsync(leader, $"replace/{i:D2}", $"v{i}");
        }
        var dead = cluster.Running.First(m => m != leader);
        await cluster.StopAsync(dead);

        // Four voters with two up: no quorum until the replacement has joined and caught up.
        var replacement = cluster.Reserve("m4");
        var added = await new MemberChanges(leader.Server.Gateway).MemberAddAsync(new MemberAddRequest { PeerURLs = { replacement.PeerUrl } }, None).WaitAsync(Deadline);
        await cluster.JoinAsync(replacement, added);
        await AwaitValueAsync([replacement], "replace/09", "v9");

        var afterRemove = await new MemberChanges(leader.Server.Gateway).MemberRemoveAsync(new MemberRemoveRequest { ID = dead.Id }, None).WaitAsync(Deadline);

        Assert.Equal(3, afterRemove.Members.Count);
        Assert.DoesNotContain(afterRemove.Members, m => m.ID == dead.Id);
        await AwaitTrueAsync(() => cluster.Running.All(m => m.Server.Membership.Members.Count == 3
            && m.Server.Membership.Members.Any(x => x.ID == replacement.Id && !x.IsLearner)), "every member applied the removal");
        var put = await PutAsync(leader, "replace/after", "x");
        await AwaitValueAsync(cluster.Running, "replace/after", "x");
        Assert.Equal(11, (await KeysAsync(replacement, "replace/", serializable: false)).Count);

        // The dead member restarted on its old data dir is told by its former peers that it was removed, and stops.
        await cluster.RestartAsync(dead, waitUntilReady: false);
        var exit = await dead.Server.Exited.WaitAsync(Deadline);
        Assert.False(exit.Fatal);
        Assert.Contains("removed", exit.Reason);
        Assert.Equal(put.Header.Revision, (await leader.Server.Gateway.PutAsync(new PutRequest { Key = B("replace/last"), Value = B("y") }, None)
            .WaitAsync(Deadline)).Header.Revision - 1);
    }
}
