using System.Diagnostics;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary>
/// <c>etcdctl lock</c> and <c>etcdctl elect</c> from several processes, against etcd 3.4 and ours. In etcdctl 3.4
/// both are client-side recipes (clientv3/concurrency Mutex and Election: a session lease with keep-alives, a
/// create-revision-ordered key under the name, a watch for the predecessor's delete), so they exercise KV, Lease and
/// Watch, not the v3lock/v3election gRPC services. Transcript scenarios compare normalised output; the SIGKILL
/// scenario runs on both servers at once and asserts timing on each side.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LockElectionScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    private static readonly TimeSpan LineDeadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Lock_with_a_command_runs_it_while_holding_the_lock()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            await s.RunMaskedAsync(LeaseSteps.MaskSessionKeys, "lock", "lkcmd", "--", "sh", "-c",
                "echo held $ETCD_LOCK_KEY at $ETCD_LOCK_REV; etcdctl --endpoints=$1 get lkcmd --prefix", "sh", s.Member.ClientUrl);
            await s.RunAsync("get", "lkcmd", "--prefix");
            await s.RunMaskedAsync(LeaseSteps.MaskSessionKeys, "lock", "lkcmd", "--", "sh", "-c", "exit 3");
            await s.RunAsync("get", "lkcmd", "--prefix");
            await s.RunAsync("lock");
            await s.RunAsync("elect", "elcmd");
            await s.RunAsync("elect", "-l", "elcmd", "proposal");
        }, etcd =>
        {
            Assert.Matches(@"\nheld lkcmd/LEASE at \d+\nlkcmd/LEASE\n\nrc=0\n\$ etcdctl get lkcmd --prefix\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl lock lkcmd -- sh -c 'exit 3'\nError: exit status 3\nrc=1\n$ etcdctl get lkcmd --prefix\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl lock\nError: lock takes a lock name argument and an optional command to execute\nrc=128\n", etcd);
            Assert.Contains("$ etcdctl elect elcmd\nError: no proposal argument but -l not set\nrc=128\n", etcd);
            Assert.Contains("$ etcdctl elect -l elcmd proposal\nError: proposal given but -l is set\nrc=128\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Second_locker_gets_the_lock_only_after_the_first_releases_it()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var ctl = s.Member.Etcdctl();
            await using var first = BackgroundEtcdctl.Start(s.Member.ClientUrl, "lock", "lk2");
            var firstKey = (await first.WaitForLineAsync(l => l.StartsWith("lk2/", StringComparison.Ordinal), LineDeadline)).Text;
            await using var second = BackgroundEtcdctl.Start(s.Member.ClientUrl, "lock", "lk2");
            var queued = await WaitForKeysAsync(ctl, "lk2/", 2);
            s.Transcript.Note($"both lockers have a key; the holder's is the first: {queued[0] == firstKey}; second printed: [{string.Join('|', second.Lines.Select(l => l.Text))}]");

            first.Interrupt();
            s.RecordBackground(first, await first.WaitForExitAsync(LineDeadline), LeaseSteps.MaskSessionKeys);
            var secondKey = (await second.WaitForLineAsync(l => l.StartsWith("lk2/", StringComparison.Ordinal), LineDeadline)).Text;
            s.Transcript.Note($"second holds the later key: {secondKey == queued[1]}");
            await s.RunMaskedAsync(LeaseSteps.MaskSessionKeys, "get", "lk2/", "--prefix", "--keys-only");
            second.Interrupt();
            s.RecordBackground(second, await second.WaitForExitAsync(LineDeadline), LeaseSteps.MaskSessionKeys);
            await s.RunMaskedAsync(LeaseSteps.MaskSessionKeys, "get", "lk2/", "--prefix", "--keys-only");
        }, etcd =>
        {
            Assert.Contains("# both lockers have a key; the holder's is the first: True; second printed: []\n", etcd);
            Assert.Contains("$ etcdctl (background) lock lk2\nlk2/LEASE\n\nrc=0\n", etcd);
            Assert.Contains("# second holds the later key: True\n$ etcdctl get lk2/ --prefix --keys-only\nlk2/LEASE\n\nrc=0\n", etcd);
            Assert.EndsWith("rc=0\n$ etcdctl get lk2/ --prefix --keys-only\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public Task Killed_lock_holder_passes_the_lock_after_its_session_ttl() =>
        EverySide.RunAsync(servers, output, async (member, log) =>
        {
            const int ttl = 3;
            var ctl = member.Etcdctl();
            var origin = Stopwatch.GetTimestamp();
            TimeSpan Now() => Stopwatch.GetElapsedTime(origin);

            await using var holder = BackgroundEtcdctl.Start(member.ClientUrl, "lock", $"--ttl={ttl}", "lk3");
            var holderKey = (await holder.WaitForLineAsync(l => l.StartsWith("lk3/", StringComparison.Ordinal), LineDeadline)).Text;
            await using var waiter = BackgroundEtcdctl.Start(member.ClientUrl, "lock", "lk3");
            var queued = await WaitForKeysAsync(ctl, "lk3/", 2);
            Assert.Equal(holderKey, queued[0]);

            // The holder's session lease is the hex suffix of its key; it cannot expire before now + remaining TTL.
            var holderLease = holderKey["lk3/".Length..];
            var queryStart = Now();
            var timeToLive = await ctl.RunAsync("lease", "timetolive", holderLease, "-w", "json");
            Assert.True(timeToLive.Succeeded, timeToLive.Stderr);
            var remaining = LeaseSteps.RemainingTtl(timeToLive.Stdout);
            Assert.Empty(waiter.Lines);

            holder.Kill();
            var killedAt = Now();
            var acquired = await waiter.WaitForLineAsync(l => l.StartsWith("lk3/", StringComparison.Ordinal), LineDeadline);
            var acquiredAt = Stopwatch.GetElapsedTime(origin, acquired.Timestamp);
            log($"holder lease {holderLease} had {remaining} s left at {queryStart}; SIGKILL at {killedAt}; waiter got {acquired.Text} at {acquiredAt}");

            Assert.Equal(queued[1], acquired.Text);
            Assert.True(acquiredAt >= queryStart + TimeSpan.FromSeconds(remaining),
                $"lock passed at {acquiredAt}, before the holder's lease ({remaining} s left at {queryStart}) could expire");
            // TTL + 1 s for expiry after the last keep-alive (at most the kill), + 0.5 s for the waiter's watch, get and print.
            var passBy = killedAt + TimeSpan.FromSeconds(ttl + 1.5);
            Assert.True(acquiredAt <= passBy, $"lock passed at {acquiredAt}, after {passBy}");
            var keys = await ctl.RunAsync("get", "lk3/", "--prefix", "--keys-only");
            Assert.Equal($"{acquired.Text}\n\n", keys.Stdout);

            waiter.Interrupt();
            var released = await waiter.WaitForExitAsync(LineDeadline);
            Assert.Equal(0, released.ExitCode);
            Assert.Equal("", (await ctl.RunAsync("get", "lk3/", "--prefix", "--keys-only")).Stdout);
        });

    [Fact]
    public async Task Elect_then_listen_shows_the_leader_and_follows_its_resignation()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var ctl = s.Member.Etcdctl();
            await using var leader = BackgroundEtcdctl.Start(s.Member.ClientUrl, "elect", "el1", "p1");
            await leader.WaitForLineAsync(l => l == "p1", LineDeadline);
            await using var observer = BackgroundEtcdctl.Start(s.Member.ClientUrl, "elect", "-l", "el1");
            await observer.WaitForLineAsync(l => l == "p1", LineDeadline);
            await using var candidate = BackgroundEtcdctl.Start(s.Member.ClientUrl, "elect", "el1", "p2");
            await WaitForKeysAsync(ctl, "el1/", 2);
            s.Transcript.Note($"candidate printed while p1 leads: [{string.Join('|', candidate.Lines.Select(l => l.Text))}]");
            await s.RunAsync("get", "el1/", "--prefix", "--print-value-only");

            leader.Interrupt();
            s.RecordBackground(leader, await leader.WaitForExitAsync(LineDeadline), LeaseSteps.MaskSessionKeys);
            await candidate.WaitForLineAsync(l => l == "p2", LineDeadline);
            await observer.WaitForLineAsync(l => l == "p2", LineDeadline);
            candidate.Interrupt();
            s.RecordBackground(candidate, await candidate.WaitForExitAsync(LineDeadline), LeaseSteps.MaskSessionKeys);
            observer.Interrupt();
            s.RecordBackground(observer, await observer.WaitForExitAsync(LineDeadline), LeaseSteps.MaskSessionKeys);
            await s.RunAsync("get", "el1/", "--prefix");
        }, etcd =>
        {
            Assert.Contains("# candidate printed while p1 leads: []\n$ etcdctl get el1/ --prefix --print-value-only\np1\np2\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl (background) elect el1 p1\nel1/LEASE\np1\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl (background) elect el1 p2\nel1/LEASE\np2\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl (background) elect -l el1\nel1/LEASE\np1\nel1/LEASE\np2\nrc=0\n", etcd);
            Assert.EndsWith("$ etcdctl get el1/ --prefix\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }

    /// <summary>Polls <c>get PREFIX --prefix --keys-only</c> until it lists <paramref name="count"/> keys; returns them in key order.</summary>
    private static async Task<List<string>> WaitForKeysAsync(Etcdctl ctl, string prefix, int count)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var get = await ctl.RunAsync("get", prefix, "--prefix", "--keys-only");
            var keys = get.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (keys.Count >= count) return keys;
            if (deadline.Elapsed > LineDeadline)
                throw new TimeoutException($"{prefix} has keys [{string.Join(' ', keys)}] after {deadline.Elapsed}, expected {count}");
            await Task.Delay(PollInterval);
        }
    }

}
