using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// SIGKILL of the leader of a 3-member cluster: a new leader within 3 election timeouts, no acknowledged put lost,
/// and the old leader catching up when restarted — from the log, or through a snapshot once it fell behind the
/// compacted log.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class LeaderFailoverTests(ITestOutputHelper output)
{
    /// <summary>etcd's default <c>--election-timeout</c>, which both servers run with.</summary>
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromMilliseconds(1000);

    private static readonly TimeSpan LoadDeadline = TimeSpan.FromSeconds(30);

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Killing_the_leader_under_load_elects_a_new_leader_and_loses_no_acknowledged_put(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind);
        try
        {
            var (oldLeader, oldLeaderId, _) = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
            var endpoints = cluster.Members.Select(m => m.ClientUrl).ToList();
            endpoints.Add(string.Join(',', endpoints)); // One writer goes through etcdctl's balancer.
            await using var load = PutLoad.Start("load", endpoints);
            await load.WaitForAcknowledgedAsync(40, LoadDeadline);
            Assert.True(load.FailureCount == 0, "puts failed before the kill: " + string.Join('\n', load.Failures));

            oldLeader.Kill();
            var (newLeader, _, waited) = await cluster.WaitForLeaderAsync(3 * ElectionTimeout, id => id != oldLeaderId);
            output.WriteLine($"{kind}: {newLeader.Name} leads {waited.TotalMilliseconds:F0} ms after SIGKILL of {oldLeader.Name}");

            await load.WaitForAcknowledgedAsync(load.AcknowledgedCount + 30, LoadDeadline);
            await load.StopAsync();
            output.WriteLine($"{kind}: {load.AcknowledgedCount} puts acknowledged, {load.FailureCount} failed (outcome unknown)");

            await oldLeader.RestartAsync();
            var acknowledged = load.Acknowledged;
            foreach (var member in cluster.Members)
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
    public async Task A_leader_that_fell_behind_the_compacted_log_catches_up_through_a_snapshot(ServerKind kind)
    {
        // Snapshot (and compact the Raft log, keeping 5,000 entries for catch-up) every 100 applied entries.
        await using var cluster = await ClusterProcesses.StartAsync(kind, extraFlags: ["--snapshot-count", "100"]);
        try
        {
            var before = new Dictionary<string, (string Value, long Revision)>();
            for (var i = 0; i < 3; i++) before[$"before/{i}"] = await PutAsync(cluster["m1"], $"before/{i}", $"b{i}");

            var (oldLeader, oldLeaderId, _) = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
            oldLeader.Kill();
            var (newLeader, _, _) = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10), id => id != oldLeaderId);

            // etcdctl's data-scale check: 10,000 puts from 50 clients (10,000 Raft entries), then one delete of them all.
            var scale = await newLeader.Etcdctl().RunAsync(["check", "datascale", "--load=s"], stdin: null,
                timeout: TimeSpan.FromSeconds(90));
            Assert.True(scale.Succeeded && scale.Stdout.Contains("PASS", StringComparison.Ordinal),
                $"check datascale failed: {scale.Stdout}\n{scale.Stderr}");
            var after = new Dictionary<string, (string Value, long Revision)>();
            for (var i = 0; i < 3; i++) after[$"after/{i}"] = await PutAsync(newLeader, $"after/{i}", $"a{i}");

            await oldLeader.RestartAsync();
            await WaitForLogAsync(oldLeader, SnapshotAppliedMarker(kind), TimeSpan.FromSeconds(30));
            if (kind == ServerKind.Ours)
            {
                // Over Akka.Remote the snapshot went in acknowledged chunks, its SHA-256 checked by the receiver.
                Assert.Contains(cluster.Members.Where(m => m != oldLeader),
                    m => m.Log.Contains("sent database snapshot at index", StringComparison.Ordinal));
            }
            await AssertHoldsAsync(oldLeader, "before/", before);
            await AssertHoldsAsync(oldLeader, "after/", after);
            // The check deleted its 10,000 keys at the end: the snapshot carried that state too.
            var leftover = await oldLeader.Etcdctl().RunAsync("get", "/etcdctl-check-datascale/", "--prefix", "--keys-only", "-w", "json");
            Assert.True(leftover.Succeeded, leftover.Stderr);
            Assert.Empty(RangeListing.Parse(leftover.Stdout).Kvs);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    /// <summary>What the member logs once it applied a snapshot received from the leader.</summary>
    private static string SnapshotAppliedMarker(ServerKind kind) => kind switch
    {
        ServerKind.Etcd => "finished applying incoming snapshot at index", // etcd 3.4's default capnslog logger.
        _ => "applied snapshot at raft index",
    };

    private static async Task<(string Value, long Revision)> PutAsync(ClusterMember via, string key, string value)
    {
        var put = await via.Etcdctl().RunAsync("put", key, value, "-w", "json");
        Assert.True(put.Succeeded, $"put {key} via {via.Name} failed: {put.Stderr}");
        return (value, ScenarioSession.HeaderRevision(put.Stdout));
    }

    /// <summary>
    /// A linearizable <c>get PREFIX --prefix</c> through <paramref name="member"/> alone (so served from its own store
    /// once it applied up to the leader's commit index) holds every expected key with its value and revision.
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
        {
            Assert.Equal((key, value, revision), (key, stored[key].Value, stored[key].ModRevision));
        }
    }

    private static async Task WaitForLogAsync(ClusterMember member, string marker, TimeSpan deadline)
    {
        using var cancel = new CancellationTokenSource(deadline);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (!member.Log.Contains(marker, StringComparison.Ordinal)) await poll.WaitForNextTickAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{member.Name} did not log \"{marker}\" within {deadline}");
        }
    }
}
