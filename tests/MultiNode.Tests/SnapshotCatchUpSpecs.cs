using Akka.Etcd.Actors.Server;
using Akka.Etcd.Storage.Snap;
using Akka.Etcd.TestDoubles;
using Xunit.Abstractions;

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>
/// A follower behind the leader's compacted log catches up from a snapshot (the backend db sent in chunks over
/// Akka.Remote), as etcd's follower does from a MsgSnap.
/// </summary>
public sealed class SnapshotCatchUpSpecs(ITestOutputHelper output) : MultiNodeSpec(output)
{
    private const ulong SnapshotCount = 40;
    private const ulong CatchUpEntries = 10;

    [Fact]
    public async Task A_follower_that_was_down_while_the_leader_compacted_its_log_past_it_catches_up_from_a_snapshot_and_then_follows_the_log()
    {
        var cluster = await StartClusterAsync(3, options => options with { SnapshotCount = SnapshotCount, SnapshotCatchUpEntries = CatchUpEntries });
        var leader = await cluster.LeaderAsync();
        var follower = cluster.Running.First(m => m != leader);
        await PutAsync(leader, "snap/000", "v0");
        await AwaitValueAsync([follower], "snap/000", "v0");
        var followerLastIndex = follower.Server.Status.LastIndex;
        Assert.True(followerLastIndex < SnapshotCount, "the follower has not taken a snapshot of its own");

        await cluster.StopAsync(follower);
        for (var batch = 0; batch < 6; batch++)
        {
            await Task.WhenAll(Enumerable.Range(1 + batch * 20, 20).Select(i => PutAsync(leader, $"snap/{i:D3}", $"v{i}")));
        }

        // The leader snapshotted and compacted its log past everything the follower lacks: the entries are gone, so only
        // a snapshot can bring it up to date.
        var leaderSnapshot = NewestSnapshotIndex(leader);
        Assert.True(leaderSnapshot > CatchUpEntries + followerLastIndex + 1,
            $"the leader's newest snapshot is at {leaderSnapshot}; the follower stopped at {followerLastIndex}");

        await cluster.RestartAsync(follower);

        await AwaitValueAsync([follower], "snap/120", "v120");
        Assert.Equal(121, (await KeysAsync(follower, "snap/", serializable: true)).Count);
        // The follower saved the snapshot it installed (the same term and index as one of the leader's).
        var leaderSnapshots = SnapshotFileNames(leader);
        Assert.Contains(SnapshotFileNames(follower), leaderSnapshots.Contains);
        // Then it follows the log again.
        await PutAsync(leader, "snap/after", "x");
        await AwaitValueAsync(cluster.Running, "snap/after", "x");
    }

    [Fact]
    public async Task A_member_added_after_the_leaders_latest_snapshot_catches_up_from_a_snapshot_that_includes_it()
    {
        var cluster = await StartClusterAsync(3, options => options with { SnapshotCount = SnapshotCount, SnapshotCatchUpEntries = CatchUpEntries });
        var leader = await cluster.LeaderAsync();
        for (var batch = 0; batch < 3; batch++)
        {
            await Task.WhenAll(Enumerable.Range(1 + batch * 20, 20).Select(i => PutAsync(leader, $"grow/{i:D3}", $"v{i}")));
        }
        var snapshotBeforeAdd = NewestSnapshotIndex(leader);
        Assert.True(snapshotBeforeAdd > CatchUpEntries + 1, $"the leader's newest snapshot is at {snapshotBeforeAdd}: its log still starts at 1");

        // The new member's log is empty and the leader's starts after its snapshot: it needs a snapshot, and the leader's
        // newest was taken before the add (its ConfState lacks the new member, which Raft would refuse to restore).
        await AwaitConnectedFor(leader, cluster.Running.Where(m => m != leader), TimeSpan.FromSeconds(5)); // strict reconfig check
        var learner = cluster.Reserve("m4");
        var added = await new MemberChanges(leader.Server.Gateway).MemberAddAsync(new Etcdserverpb.MemberAddRequest { IsLearner = true, PeerURLs = { learner.PeerUrl } }, None)
            .WaitAsync(Deadline);
        Assert.Equal(snapshotBeforeAdd, NewestSnapshotIndex(leader)); // no snapshot since the add
        await cluster.JoinAsync(learner, added);

        await AwaitValueAsync([learner], "grow/060", "v60");
        Assert.Equal(60, (await KeysAsync(learner, "grow/", serializable: true)).Count);
        await PutAsync(leader, "grow/after", "x");
        await AwaitValueAsync([learner], "grow/after", "x");
    }

    private static IReadOnlyList<string> SnapshotFileNames(LoopbackMember member) =>
        Directory.GetFiles(member.Server.Options.SnapDir, "*" + SnapshotFiles.Extension).Select(Path.GetFileName).ToList()!;

    /// <summary>The index of the newest snapshot file (named <c>TERM-INDEX.snap</c> in hex, as etcd names them).</summary>
    private static ulong NewestSnapshotIndex(LoopbackMember member) =>
        SnapshotFileNames(member).Select(name => Convert.ToUInt64(name.Split('-', '.')[1], 16)).DefaultIfEmpty(0UL).Max();
}
