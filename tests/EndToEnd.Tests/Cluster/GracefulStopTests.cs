using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// SIGTERM of the leader of a 3-member cluster under load: as etcd 3.4's graceful <c>Stop()</c>, the leader first
/// hands leadership to a connected voter (<c>TransferLeadership</c>), so when its process is gone the others already
/// agree on a new leader (no election timeout to sit out), the stop is quick, and no acknowledged put is lost.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class GracefulStopTests(ITestOutputHelper output)
{
    /// <summary>etcd's default <c>--election-timeout</c>, which both servers run with.</summary>
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// How soon after the old leader's exit the survivors must agree on another leader: less than one election
    /// timeout, which is what they would wait (at least) had the leader just vanished.
    /// </summary>
    private static readonly TimeSpan NewLeaderBound = TimeSpan.FromMilliseconds(900);

    /// <summary>How long the SIGTERMed leader may take to exit: a transfer is a few heartbeats, not seconds.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan LoadDeadline = TimeSpan.FromSeconds(15);

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Stopping_the_leader_with_SIGTERM_hands_leadership_over_and_loses_no_acknowledged_put(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind);
        try
        {
            var (oldLeader, oldLeaderId, _) = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
            var survivors = cluster.Members.Where(m => m != oldLeader).ToList();
            // One writer through each survivor, one through etcdctl's balancer over every member.
            var endpoints = survivors.Select(m => m.ClientUrl).ToList();
            endpoints.Add(string.Join(',', cluster.Members.Select(m => m.ClientUrl)));
            await using var load = PutLoad.Start("load", endpoints);
            await load.WaitForAcknowledgedAsync(20, LoadDeadline);

            var stopTook = await oldLeader.TerminateAsync(TimeSpan.FromSeconds(15));
            var (newLeader, _, waited) = await cluster.WaitForLeaderAsync(NewLeaderBound, id => id != oldLeaderId);
            output.WriteLine($"{kind}: {oldLeader.Name} exited {stopTook.TotalMilliseconds:F0} ms after SIGTERM; " +
                             $"{newLeader.Name} leads, seen {waited.TotalMilliseconds:F0} ms after the exit");
            Assert.Contains(TransferFinishedMarker(kind), oldLeader.Log, StringComparison.Ordinal);
            Assert.True(stopTook < StopBound, $"{oldLeader.Name} took {stopTook} to stop (bound {StopBound})");
            if (kind == ServerKind.Ours) Assert.Equal(0, oldLeader.ExitCode);

            await load.WaitForAcknowledgedAsync(load.AcknowledgedCount + 20, LoadDeadline);
            await load.StopAsync();
            output.WriteLine($"{kind}: {load.AcknowledgedCount} puts acknowledged, {load.FailureCount} failed (outcome unknown)");

            var acknowledged = load.Acknowledged;
            foreach (var member in survivors)
                await AssertHoldsAsync(member, "load/", acknowledged);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Stopping_a_follower_with_SIGTERM_leaves_the_leader_in_place(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind);
        try
        {
            var (leader, leaderId, _) = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
            var follower = cluster.Members.First(m => m != leader);
            var stopTook = await follower.TerminateAsync(TimeSpan.FromSeconds(15));
            output.WriteLine($"{kind}: follower {follower.Name} exited {stopTook.TotalMilliseconds:F0} ms after SIGTERM");
            Assert.True(stopTook < StopBound, $"{follower.Name} took {stopTook} to stop (bound {StopBound})");
            Assert.DoesNotContain(TransferFinishedMarker(kind), follower.Log, StringComparison.Ordinal);
            var (still, _, _) = await cluster.WaitForLeaderAsync(ElectionTimeout);
            Assert.Equal(leader, still);
            Assert.Equal(leaderId, (await cluster.StatusAsync([leader])).Single().Leader);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    /// <summary>What the stopping leader logs once the transferee leads.</summary>
    private static string TransferFinishedMarker(ServerKind kind) => kind switch
    {
        ServerKind.Etcd => "finished leadership transfer from", // etcd 3.4's default capnslog logger.
        _ => "leadership transfer finished",
    };

    /// <summary>
    /// A linearizable <c>get PREFIX --prefix</c> through <paramref name="member"/> alone holds every expected key with
    /// its value and revision.
    /// </summary>
    private static async Task AssertHoldsAsync(ClusterMember member, string prefix,
        IReadOnlyDictionary<string, (string Value, long Revision)> expected)
    {
        var get = await member.Etcdctl().RunAsync("get", prefix, "--prefix", "-w", "json");
        Assert.True(get.Succeeded, $"get {prefix} via {member.Name} failed: {get.Stderr}");
        var stored = RangeListing.Parse(get.Stdout).Kvs;
        var missing = expected.Keys.Where(k => !stored.ContainsKey(k)).ToList();
        Assert.True(missing.Count == 0,
            $"{member.Name} lacks {missing.Count} of {expected.Count} acknowledged keys, e.g. {string.Join(", ", missing.Take(5))}");
        foreach (var (key, (value, revision)) in expected)
            Assert.Equal((key, value, revision), (key, stored[key].Value, stored[key].ModRevision));
    }
}
