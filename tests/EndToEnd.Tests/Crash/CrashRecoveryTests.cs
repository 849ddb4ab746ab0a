using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Crash;

/// <summary>
/// Durability across SIGKILL: writers put numbered keys with etcdctl, the member is killed once 50 puts were
/// acknowledged, restarted on the same data dir; every acknowledged put must be there with its value and the
/// revision it was acknowledged at, and revisions keep growing. Runs on etcd (harness baseline) and on ours
/// when <see cref="ServerKinds.OursEnabled"/>, once per Raft log journal: the WAL journal (the default) and
/// Akka.Persistence.Sql over SQLite (chosen in the member's HOCON).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    private const int Rounds = 3;
    private const int Writers = 4;
    private const int AcksBeforeKill = 50;
    private static readonly TimeSpan RoundDeadline = TimeSpan.FromSeconds(60);

    /// <summary>The Akka.Persistence journal plugins of our member (empty: the default, the WAL journal).</summary>
    public static TheoryData<ServerKind, string> KindsAndJournals
    {
        get
        {
            var data = new TheoryData<ServerKind, string>();
            foreach (var kind in ServerKinds.UnderTest)
            {
                data.Add(kind, "wal");
                if (kind == ServerKind.Ours) data.Add(kind, "sql");
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KindsAndJournals))]
    public async Task Acknowledged_puts_survive_sigkill_and_revisions_keep_growing(ServerKind kind, string journal)
    {
        var hocon = journal == "sql" ? "akka.persistence.journal.plugin = \"akka.persistence.journal.sql\"\n" : null;
        await using var member = await MemberProcess.StartAsync(kind, hocon: hocon);
        if (journal == "sql") Assert.Contains("akka.persistence.journal.sql", member.Log);
        var acknowledged = new Dictionary<string, (string Value, long Revision)>();
        try
        {
            for (var round = 0; round < Rounds; round++)
            {
                var acks = await WriteUntilKilledAsync(member, round);
                foreach (var (key, ack) in acks) acknowledged.Add(key, ack);
                output.WriteLine($"round {round}: {acks.Count} puts acknowledged before/around SIGKILL");

                await member.RestartAsync();
                var ctl = member.Etcdctl();
                var get = await ctl.RunAsync("get", "k", "--prefix", "-w", "json");
                Assert.True(get.Succeeded, $"get after restart failed: {get.Stderr}");
                var (stored, headerRevision) = ParseRange(get.Stdout);
                foreach (var (key, (value, revision)) in acknowledged)
                {
                    Assert.True(stored.TryGetValue(key, out var kv), $"acknowledged {key} (revision {revision}) lost after SIGKILL");
                    Assert.Equal(value, kv.Value);
                    Assert.Equal(revision, kv.ModRevision);
                }
                var highest = acknowledged.Values.Max(a => a.Revision);
                Assert.True(headerRevision >= highest, $"store revision {headerRevision} is below acknowledged revision {highest}");

                var put = await ctl.RunAsync("put", $"after/{round}", "x", "-w", "json");
                Assert.True(put.Succeeded, $"put after restart failed: {put.Stderr}");
                var next = ScenarioSession.HeaderRevision(put.Stdout);
                Assert.True(next > headerRevision, $"put after restart got revision {next}, not above {headerRevision}");
            }
        }
        catch
        {
            output.WriteLine("--- server log (tail) ---\n" + member.LogTail(80));
            throw;
        }
    }

    /// <summary>
    /// Runs <see cref="Writers"/> concurrent put loops on keys <c>k{round}/NNNN</c> with value <c>vNNNN</c>; SIGKILLs
    /// the member once <see cref="AcksBeforeKill"/> puts were acknowledged; returns every acknowledged put with its
    /// revision. A failed put before the kill fails the test; once the member is dead, in-flight etcdctl processes are
    /// killed (outcome unknown, not counted) and the writers stop.
    /// </summary>
    private static async Task<Dictionary<string, (string Value, long Revision)>> WriteUntilKilledAsync(MemberProcess member, int round)
    {
        var ctl = member.Etcdctl("--dial-timeout=1s", "--command-timeout=3s");
        var acks = new ConcurrentDictionary<string, (string Value, long Revision)>();
        var enoughAcks = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var killRequested = 0;
        using var killed = new CancellationTokenSource();

        async Task Writer(int first)
        {
            for (var n = first; n < 10_000; n += Writers)
            {
                var key = $"k{round}/{n:D4}";
                var value = $"v{n:D4}";
                EtcdctlResult result;
                try
                {
                    result = await ctl.RunAsync(["put", key, value, "-w", "json"], stdin: null, timeout: null, killed.Token);
                }
                catch (OperationCanceledException) when (killed.IsCancellationRequested)
                {
                    return; // In flight at the kill: outcome unknown, not counted as acknowledged.
                }
                if (result.Succeeded)
                {
                    acks[key] = (value, ScenarioSession.HeaderRevision(result.Stdout));
                    if (acks.Count >= AcksBeforeKill) enoughAcks.TrySetResult();
                    continue;
                }
                if (Volatile.Read(ref killRequested) == 1) return;
                throw new InvalidOperationException($"put {key} failed before the kill: {result.Stderr}");
            }
            throw new InvalidOperationException("writer ran out of keys before the member was killed");
        }

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() => Writer(w))).ToArray();
        var allWriters = Task.WhenAll(writers);
        await Task.WhenAny(enoughAcks.Task, allWriters).WaitAsync(RoundDeadline);
        if (allWriters.IsFaulted) await allWriters;
        Volatile.Write(ref killRequested, 1);
        member.Kill();
        killed.Cancel();
        await allWriters.WaitAsync(RoundDeadline);
        return new Dictionary<string, (string, long)>(acks);
    }

    private static (Dictionary<string, (string Value, long ModRevision)> Kvs, long Revision) ParseRange(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var kvs = new Dictionary<string, (string, long)>();
        if (root.TryGetProperty("kvs", out var array))
        {
            foreach (var kv in array.EnumerateArray())
            {
                var key = Encoding.UTF8.GetString(kv.GetProperty("key").GetBytesFromBase64());
                var value = kv.TryGetProperty("value", out var v) ? Encoding.UTF8.GetString(v.GetBytesFromBase64()) : "";
                kvs[key] = (value, kv.GetProperty("mod_revision").GetInt64());
            }
        }
        return (kvs, root.GetProperty("header").GetProperty("revision").GetInt64());
    }
}
