extern alias DotnetEtcd;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Cluster;
using Akka.Etcd.EndToEnd.Tests.Harness;
using DotnetEtcd::dotnet_etcd;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Operations;

/// <summary>
/// Operating a member as an operator does with etcd 3.4, on member processes and the real etcdctl: auto-compaction,
/// lease checkpoints across a leader change and a restart, learner refusals, the corruption checks, systemd readiness,
/// and a defragmentation under a read/write load.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class OperationsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(30);

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Fact]
    public async Task Revision_mode_auto_compaction_keeps_the_last_revisions()
    {
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, size: 1, extraFlags:
            ["--auto-compaction-mode", "revision", "--auto-compaction-retention", "5", "--experimental-revision-compaction-interval", "1s"]);
        var m1 = cluster.Members[0];
        var ctl = m1.Etcdctl();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.True((await ctl.RunAsync("put", "ac/k", "v" + i)).Succeeded);
            }
            var current = HeaderRevision((await ctl.RunAsync("get", "ac/k", "-w", "json")).Stdout);

            // The compactor (leader only, every interval) compacts to current - 5: older revisions are gone, those kept readable.
            await WaitUntilAsync(async () => (await ctl.RunAsync("get", "ac/k", "--rev", (current - 6).ToString(CultureInfo.InvariantCulture)))
                .Stderr.Contains("required revision has been compacted", StringComparison.Ordinal), "auto-compaction to current - 5");
            var kept = await ctl.RunAsync("get", "ac/k", "--rev", (current - 5).ToString(CultureInfo.InvariantCulture));
            Assert.True(kept.Succeeded, kept.Stderr);
            Assert.Contains("v14", kept.Stdout);
            Assert.Matches("\"msg\":\"completed auto revision compaction\",\"revision\":\\d+,\"revision-compaction-retention\":5,\"took\":", m1.Log);
            Assert.Contains("\"msg\":\"starting auto revision compaction\"", m1.Log);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    [Fact]
    public async Task A_lease_keeps_counting_down_across_a_leader_change_with_checkpoints()
    {
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, size: 3, extraFlags:
            ["--experimental-enable-lease-checkpoint", "--experimental-lease-checkpoint-interval", "1s"]);
        var ctl = cluster.Etcdctl();
        try
        {
            var lease = await GrantAsync(ctl, 60);
            // Checkpoints every second: once the lease is 6 s into its TTL, the followers know about 54 s are left.
            await WaitUntilAsync(async () => await TimeToLiveAsync(ctl, lease) <= 54, "the lease to count down to 54 s");
            var (_, leaderId, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            var status = await cluster.StatusAsync();
            var target = status.First(row => row.MemberId != leaderId).MemberId;
            var move = await ctl.RunAsync("move-leader", target.ToString("x", CultureInfo.InvariantCulture));
            Assert.True(move.Succeeded, move.Stderr);
            await cluster.WaitForLeaderAsync(StepDeadline, id => id == target);

            // Without checkpoints the new leader would start the lease over: 60 s plus an election timeout.
            var ttl = await TimeToLiveAsync(ctl, lease);
            output.WriteLine($"remaining TTL after the leader change: {ttl} s");
            Assert.InRange(ttl, 1, 57);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    [Fact]
    public async Task A_lease_keeps_counting_down_across_a_restart_with_persisted_checkpoints()
    {
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, size: 1, extraFlags:
            ["--experimental-enable-lease-checkpoint", "--experimental-enable-lease-checkpoint-persist", "--experimental-lease-checkpoint-interval", "1s"]);
        var m1 = cluster.Members[0];
        var ctl = m1.Etcdctl();
        try
        {
            var lease = await GrantAsync(ctl, 60);
            await WaitUntilAsync(async () => await TimeToLiveAsync(ctl, lease) <= 54, "the lease to count down to 54 s");
            m1.Kill();
            await m1.RestartAsync();

            var ttl = await TimeToLiveAsync(ctl, lease);
            output.WriteLine($"remaining TTL after the restart: {ttl} s");
            Assert.InRange(ttl, 1, 57);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_learner_serves_only_status_and_serializable_reads_until_promoted(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind, size: 1);
        var m1 = cluster.Members[0];
        var ctl = m1.Etcdctl();
        try
        {
            Assert.True((await ctl.RunAsync("put", "ln/k", "v")).Succeeded);
            var ports = LoopbackPorts.Free(2);
            var peerUrl = $"http://127.0.0.1:{ports[1]}";
            var add = await ctl.RunAsync("member", "add", "m2", "--learner", "--peer-urls=" + peerUrl);
            Assert.True(add.Succeeded, add.Stderr);
            var learnerHex = AddedMember().Match(add.Stdout).Groups["member"].Value.Trim();
            var m2 = cluster.DescribeJoiner("m2", $"m1={m1.PeerUrl},m2={peerUrl}", ports[0], ports[1]);
            m2.Start();
            await cluster.WaitUntilPublishedAsync(2, StepDeadline, via: [m1]);
            var learner = m2.Etcdctl("--command-timeout=5s");

            // A learner answers serializable reads and status; anything else is refused.
            await WaitUntilAsync(async () => (await learner.RunAsync("get", "ln/k", "--consistency=s")).Stdout.Contains("ln/k\nv", StringComparison.Ordinal),
                "a serializable read on the learner");
            var status = await learner.RunAsync("endpoint", "status", "-w", "json");
            Assert.True(status.Succeeded, status.Stderr);
            Assert.True(EndpointStatusRow.ParseAll(status.Stdout).Single().IsLearner);
            foreach (var refused in new[] { new[] { "get", "ln/k" }, ["put", "ln/k", "w"], ["del", "ln/k"], ["member", "list"], ["lease", "grant", "10"] })
            {
                var result = await learner.RunAsync(refused);
                Assert.False(result.Succeeded, $"etcdctl {string.Join(' ', refused)} succeeded on a learner");
                Assert.Contains("etcdserver: rpc not supported for learner", result.Stderr);
            }

            // Promoted once in sync with the leader, it serves everything.
            var promote = await RunUntilAsync(ctl, ["member", "promote", learnerHex], "can only promote a learner member which is in sync with leader");
            Assert.Contains("promoted in cluster", promote.Stdout);
            await WaitUntilAsync(async () => (await learner.RunAsync("get", "ln/k")).Succeeded, "a linearizable read on the promoted member");
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    [Fact]
    public async Task A_corrupted_member_fails_the_initial_check_and_the_periodic_check_raises_CORRUPT()
    {
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, size: 3, extraFlags: ["--experimental-corrupt-check-time", "1s"]);
        var ctl = cluster.Etcdctl();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.True((await ctl.RunAsync("put", $"cc/k{i}", "v" + i)).Succeeded);
            }
            var (leader, leaderId, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            var followerUrl = (await cluster.StatusAsync()).First(row => row.MemberId != leaderId).Endpoint;
            var follower = cluster.ByClientUrl(followerUrl);
            // The follower has applied the puts once a read on it sees the last one; a graceful stop then commits its
            // backend durably (the store's last act), so the file corrupted below holds them.
            await WaitUntilAsync(async () => (await follower.Etcdctl().RunAsync("get", "cc/k9", "--consistency=s")).Stdout.Contains("v9"),
                "the follower to apply the puts");
            await follower.TerminateAsync(StepDeadline);
            CorruptFirstValue(Path.Combine(follower.DataDir, "member", "snap", "db"));

            // Restarted with the initial check, it refuses to serve.
            follower.ExtraStartFlags.Add("--experimental-initial-corrupt-check");
            follower.Start();
            var exit = await follower.WaitForExitAsync(StepDeadline);
            Assert.NotEqual(0, exit);
            Assert.Contains("found data inconsistency with peers", follower.Log);

            // Restarted without it, it serves; the leader's periodic check finds the mismatch and raises CORRUPT (after
            // which /health answers false: so this start does not wait for health).
            follower.ExtraStartFlags.Clear();
            follower.Start();
            await WaitUntilAsync(async () => (await ctl.RunAsync("alarm", "list")).Stdout.Contains("alarm:CORRUPT", StringComparison.Ordinal),
                "the CORRUPT alarm");
            // Through the leader: the restarted follower may still be catching up (its answer would be a timeout).
            var put = await leader.Etcdctl().RunAsync("put", "cc/after", "x");
            Assert.False(put.Succeeded);
            Assert.True(put.Stderr.Contains("etcdserver: corrupt cluster", StringComparison.Ordinal), put.Stderr);
            var read = await ctl.RunAsync("get", "cc/k1");
            Assert.True(read.Succeeded, read.Stderr);
            using var http = new HttpClient();
            var health = await http.GetAsync(leader.ClientUrl + "/health");
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("\"health\":\"false\"", await health.Content.ReadAsStringAsync());
            Assert.Contains(cluster.Members, m => m.Log.Contains("\"msg\":\"same compact revision then hashes must match\"", StringComparison.Ordinal));
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    [Fact]
    public async Task Under_a_notify_unit_the_member_says_READY_once_it_serves()
    {
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, size: 1);
        var m1 = cluster.Members[0];
        m1.Kill();
        var socketPath = Path.Combine(cluster.DataRoot, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        m1.Environment["NOTIFY_SOCKET"] = socketPath;
        m1.Start();

        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(StepDeadline);
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
        Assert.Equal("READY=1", Encoding.UTF8.GetString(buffer, 0, received).Trim());
        // READY comes after the client port serves: a client call made right away succeeds.
        var put = await m1.Etcdctl().RunAsync("put", "sd/k", "v");
        Assert.True(put.Succeeded, put.Stderr);
        Assert.Contains("\"msg\":\"successfully notified init daemon\"", m1.Log);
    }

    [Fact]
    public async Task A_defragmentation_under_load_reclaims_space_without_failing_a_read()
    {
        await using var member = await MemberProcess.StartAsync(ServerKind.Ours);
        using var client = new EtcdClient(member.ClientUrl);
        var ctl = member.Etcdctl();
        // 24 MB of garbage: written, overwritten, compacted away.
        var big = ByteString.CopyFrom(new byte[4096]);
        for (var round = 0; round < 2; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async w =>
            {
                for (var i = w; i < 3000; i += 8)
                {
                    await client.PutAsync(new DotnetEtcd::Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8($"df/{i:D5}"), Value = big });
                }
            }));
        }
        await client.DeleteRangeAsync("df/");
        var revision = HeaderRevision((await ctl.RunAsync("get", "df/", "-w", "json")).Stdout);
        Assert.True((await ctl.RunAsync("compaction", "--physical", revision.ToString(CultureInfo.InvariantCulture))).Succeeded);
        var before = DbSize((await ctl.RunAsync("endpoint", "status", "-w", "json")).Stdout);

        using var stop = new CancellationTokenSource();
        var reads = 0L;
        var failedReads = new List<string>();
        var writeLatencies = new List<(DateTime At, TimeSpan Took)>();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await client.GetAsync("load/k0");
                    Interlocked.Increment(ref reads);
                }
                catch (Exception ex)
                {
                    lock (failedReads) failedReads.Add(ex.Message);
                }
            }
        })).ToArray();
        var writer = Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                await client.PutAsync($"load/k{i++ % 100}", "v" + i);
                lock (writeLatencies) writeLatencies.Add((DateTime.UtcNow, clock.Elapsed));
            }
        });
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // the load runs before, during and after the defrag
        var defragStart = DateTime.UtcNow;
        var defrag = await ctl.RunAsync("defrag");
        var defragEnd = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        stop.Cancel();
        await Task.WhenAll(readers);
        await writer;

        Assert.True(defrag.Succeeded, defrag.Stderr);
        var after = DbSize((await ctl.RunAsync("endpoint", "status", "-w", "json")).Stdout);
        List<(DateTime At, TimeSpan Took)> during;
        lock (writeLatencies) during = writeLatencies.Where(w => w.At >= defragStart && w.At - w.Took <= defragEnd).ToList();
        output.WriteLine($"db size {before} -> {after} bytes; {reads} reads, {failedReads.Count} failed; {during.Count} writes during the defrag, "
            + $"longest {during.Select(w => w.Took.TotalMilliseconds).DefaultIfEmpty(0).Max():F1} ms; "
            + Regex.Match(member.Log, "defragmented:[^\"]*").Value);
        Assert.Empty(failedReads);
        Assert.True(reads > 0);
        Assert.True(after < before / 4, $"the defrag did not reclaim space: {before} -> {after}");
    }

    private static void CorruptFirstValue(string dbPath)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = false }.ToString());
        connection.Open();
        using var update = connection.CreateCommand();
        update.CommandText = "UPDATE kv SET value = X'636f72727570746564' WHERE main = (SELECT MIN(main) FROM kv WHERE tombstone = 0)";
        Assert.Equal(1, update.ExecuteNonQuery());
    }

    private static async Task<string> GrantAsync(Etcdctl ctl, int ttlSeconds)
    {
        var grant = await ctl.RunAsync("lease", "grant", ttlSeconds.ToString(CultureInfo.InvariantCulture));
        Assert.True(grant.Succeeded, grant.Stderr);
        return GrantedLease().Match(grant.Stdout).Groups["id"].Value;
    }

    private static async Task<long> TimeToLiveAsync(Etcdctl ctl, string lease)
    {
        var ttl = await ctl.RunAsync("lease", "timetolive", lease, "-w", "json");
        Assert.True(ttl.Succeeded, ttl.Stderr);
        return long.Parse(TtlField().Match(ttl.Stdout).Groups["ttl"].Value, CultureInfo.InvariantCulture);
    }

    private static long HeaderRevision(string json) =>
        long.Parse(RevisionField().Match(json).Groups["revision"].Value, CultureInfo.InvariantCulture);

    private static long DbSize(string json) => long.Parse(DbSizeField().Match(json).Groups["size"].Value, CultureInfo.InvariantCulture);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (!await condition())
        {
            if (clock.Elapsed > StepDeadline) Assert.Fail($"no {what} within {StepDeadline}");
            await poll.WaitForNextTickAsync();
        }
    }

    private static async Task<EtcdctlResult> RunUntilAsync(Etcdctl ctl, string[] args, string retryableError)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var result = await ctl.RunAsync(args);
            if (result.Succeeded) return result;
            Assert.True(result.Stderr.Contains(retryableError, StringComparison.Ordinal),
                $"etcdctl {string.Join(' ', args)} failed (exit {result.ExitCode}): {result.Stderr}");
            if (clock.Elapsed > StepDeadline) Assert.Fail($"etcdctl {string.Join(' ', args)} still failed after {StepDeadline}: {result.Stderr}");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    [GeneratedRegex(@"lease (?<id>[0-9a-f]+) granted")]
    private static partial Regex GrantedLease();

    [GeneratedRegex("\"ttl\":(?<ttl>-?\\d+)")]
    private static partial Regex TtlField();

    [GeneratedRegex("\"revision\":(?<revision>\\d+)")]
    private static partial Regex RevisionField();

    [GeneratedRegex("\"dbSize\":(?<size>\\d+)")]
    private static partial Regex DbSizeField();

    [GeneratedRegex(@"Member\s+(?<member>[0-9a-f ]+) added to cluster")]
    private static partial Regex AddedMember();
}
