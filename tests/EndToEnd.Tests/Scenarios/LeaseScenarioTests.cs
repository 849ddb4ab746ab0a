using System.Diagnostics;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary>
/// <c>etcdctl lease ...</c> and <c>put --lease</c> against etcd 3.4 and ours. Transcript scenarios compare normalised
/// output (lease IDs masked; remaining TTLs checked against a range on each side, then masked). Expiry scenarios run
/// on both servers at once and assert timing on each side: a leased key is there until its TTL has run from the grant
/// or the last keep-alive, and gone within TTL + 1 s of it. Every lease a scenario creates is revoked or expires
/// before it ends, so <c>lease list</c> is the same on both servers whatever the test order.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LeaseScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ExpiryGrace = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StreamDeadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Grant_timetolive_list_keep_alive_once_and_revoke()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var minimum = await s.GrantAsync(1);
            await s.RunMaskedAsync(o => LeaseSteps.MaskRemainingTtl(o, 0, 2), "lease", "timetolive", minimum, "-w", "json");
            await s.RunAsync("lease", "revoke", minimum);
            var zero = await s.GrantAsync(0);
            await s.RunMaskedAsync(o => LeaseSteps.MaskRemainingTtl(o, 0, 2), "lease", "timetolive", zero, "-w", "json");
            await s.RunAsync("lease", "revoke", zero);

            var a = await s.GrantAsync(60);
            var b = await s.GrantAsync(30);
            await s.RunAsync("lease", "list");
            await s.RunAsync("put", "lease/a", "1", "--lease=" + a);
            await s.RunAsync("put", "lease/b", "2", "--lease=" + a);
            await s.RunAsync("put", "lease/c", "3");
            await s.RunAsync("put", "lease/d", "4", "--lease=" + b);
            await s.RunAsync("lease", "timetolive", a);
            await s.RunMaskedAsync(LeaseSteps.SortAttachedKeys, "lease", "timetolive", a, "--keys");
            await s.RunMaskedAsync(o => LeaseSteps.SortAttachedKeys(LeaseSteps.MaskRemainingTtl(o, 58, 60)), "lease", "timetolive", a, "--keys", "-w", "json");
            await s.RunAsync("lease", "keep-alive", "--once", a);
            await s.RunAsync("lease", "keep-alive", "--once", a, "-w", "json");

            // A put without --lease detaches the key; a put with another lease moves it.
            await s.RunAsync("put", "lease/a", "1b");
            await s.RunAsync("put", "lease/b", "2b", "--lease=" + b);
            await s.RunMaskedAsync(LeaseSteps.SortAttachedKeys, "lease", "timetolive", a, "--keys");
            await s.RunMaskedAsync(LeaseSteps.SortAttachedKeys, "lease", "timetolive", b, "--keys");
            await s.RunMaskedAsync(LeaseSteps.MaskLeaseIds, "get", "lease/", "--prefix", "-w", "json");

            // Revoke deletes every attached key in one revision.
            var before = ScenarioSession.HeaderRevision((await s.Member.Etcdctl().RunAsync("get", "lease/c", "-w", "json")).Stdout);
            var revoke = await s.RunAsync("lease", "revoke", b, "-w", "json");
            var after = ScenarioSession.HeaderRevision(revoke.Stdout);
            s.Transcript.Note($"revoke of a lease with 2 keys advanced the revision by {after - before}");
            await s.RunAsync("get", "lease/", "--prefix");
            await s.RunMaskedAsync(LeaseSteps.MaskLeaseIds, "get", "lease/", "--prefix", "-w", "json");

            // Revoking a lease without keys does not create a revision.
            before = await s.PutAsync("lease/c", "3b");
            revoke = await s.RunAsync("lease", "revoke", a, "-w", "json");
            s.Transcript.Note($"revoke of a lease without keys advanced the revision by {ScenarioSession.HeaderRevision(revoke.Stdout) - before}");
            await s.RunAsync("lease", "list");
        }, etcd =>
        {
            Assert.Contains("$ etcdctl lease grant 1\nlease HEXID granted with TTL(T)\nrc=0\n", etcd);
            // TTL 1 and TTL 0 are raised to the 2 s minimum.
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(etcd, @"""ttl"":IN\[0\.\.2\],""granted-ttl"":2,").Count);
            Assert.Contains("$ etcdctl lease revoke HEXID\nlease HEXID revoked\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl lease list\nfound 2 leases\nHEXID\nHEXID\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl lease timetolive HEXID\nlease HEXID granted with TTL(T), remaining(T)\nrc=0\n", etcd);
            Assert.Contains("lease HEXID granted with TTL(T), remaining(T), attached keys([lease/a lease/b])\nrc=0\n", etcd);
            Assert.Contains("\"ttl\":IN[58..60],\"granted-ttl\":60,\"keys\":[\"bGVhc2UvYQ==\",\"bGVhc2UvYg==\"]}", etcd);
            Assert.Contains("$ etcdctl lease keep-alive --once HEXID\nlease HEXID keepalived with TTL(60)\nrc=0\n", etcd);
            Assert.Contains("\"ID\":N,\"TTL\":60}\nrc=0\n", etcd);
            Assert.Contains("attached keys([])\nrc=0\n", etcd);
            Assert.Contains("attached keys([lease/b lease/d])\nrc=0\n", etcd);
            Assert.Contains("\"value\":\"MWI=\"},{\"key\":\"bGVhc2UvYg==\"", etcd); // lease/a has no lease field any more
            Assert.Contains("\"value\":\"MmI=\",\"lease\":LEASE}", etcd);
            Assert.Contains("# revoke of a lease with 2 keys advanced the revision by 1\n", etcd);
            Assert.Contains("# revoke of a lease without keys advanced the revision by 0\n", etcd);
            Assert.Matches(@"\$ etcdctl get lease/ --prefix\nlease/a\n1b\nlease/c\n3\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl lease list\nfound 0 leases\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Revoked_and_unknown_leases_errors()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var lease = await s.GrantAsync(60);
            await s.RunAsync("put", "lerr/k", "v", "--lease=" + lease);
            await s.RunAsync("lease", "revoke", lease);
            await s.RunAsync("lease", "revoke", lease);
            await s.RunAsync("lease", "timetolive", lease);
            await s.RunAsync("lease", "timetolive", lease, "--keys", "-w", "json");
            await s.RunAsync("lease", "keep-alive", "--once", lease);
            await s.RunAsync("lease", "keep-alive", lease);
            await s.RunAsync("put", "lerr/k", "v", "--lease=" + lease);
            await s.RunAsync("put", "lerr/k", "v", "--lease=abcdef");
            await s.RunAsync("lease", "timetolive", "abcdef");
            await s.RunAsync("get", "lerr/", "--prefix");
            await s.RunAsync("lease", "grant", "9000000001");
            await s.RunAsync("lease", "revoke", "zz");
            await s.RunAsync("lease", "timetolive");
        }, etcd =>
        {
            Assert.Contains("code = NotFound desc = etcdserver: requested lease not found", etcd);
            Assert.Contains("Error: failed to revoke lease (etcdserver: requested lease not found)\nrc=1\n", etcd);
            Assert.Contains("$ etcdctl lease timetolive HEXID\nlease HEXID already expired\nrc=0\n", etcd);
            Assert.Contains("\"id\":N,\"ttl\":-1,\"granted-ttl\":0,\"keys\":null}\nrc=0\n", etcd);
            Assert.Matches(@"\$ etcdctl lease keep-alive --once HEXID\nError: etcdserver: requested lease not found\nrc=2\n", etcd);
            Assert.Matches(@"\$ etcdctl lease keep-alive HEXID\nlease HEXID expired or revoked.\nrc=0\n", etcd);
            Assert.Contains("Error: etcdserver: requested lease not found\nrc=1\n", etcd);
            Assert.Contains("$ etcdctl lease timetolive abcdef\nlease HEXID already expired\nrc=0\n", etcd); // 0000000000abcdef
            Assert.Contains("$ etcdctl get lerr/ --prefix\nrc=0\n", etcd);
            Assert.Contains("code = OutOfRange desc = etcdserver: too large lease TTL", etcd);
            Assert.Contains("Error: failed to grant lease (etcdserver: too large lease TTL)\nrc=1\n", etcd);
            Assert.Contains("Error: bad lease ID arg (strconv.ParseInt: parsing \"zz\": invalid syntax), expecting ID in Hex\nrc=128\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Keep_alive_stream_prints_keepalived_until_the_lease_is_revoked()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var lease = await s.GrantAsync(2);
            await s.RunAsync("put", "lstream/k", "v", "--lease=" + lease);
            await using var stream = BackgroundEtcdctl.Start(s.Member.ClientUrl, "lease", "keep-alive", lease);
            // etcdctl renews every TTL/3 on a 500 ms tick; two renewals show the stream works.
            await stream.WaitForLinesAsync(l => l.Contains(" keepalived with TTL(2)"), 2, StreamDeadline);
            await s.RunAsync("get", "lstream/k");
            await s.RunAsync("lease", "revoke", lease);
            var ended = await stream.WaitForExitAsync(StreamDeadline);
            s.RecordBackground(stream, ended);
            await s.RunAsync("get", "lstream/k");
        }, etcd =>
        {
            Assert.Contains("$ etcdctl get lstream/k\nlstream/k\nv\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl (background) lease keep-alive HEXID\nlease HEXID keepalived with TTL(2)\n(repeated)\n" +
                            "lease HEXID expired or revoked.\nrc=0\n", etcd);
            Assert.EndsWith("$ etcdctl get lstream/k\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public Task Leased_key_lives_its_ttl_from_the_grant_then_vanishes_within_a_second() =>
        EverySide.RunAsync(servers, output, async (member, log) =>
        {
            const int ttl = 3;
            var ctl = member.Etcdctl();
            var clock = Stopwatch.StartNew();
            var grantStart = clock.Elapsed;
            var lease = await GrantAsync(ctl, ttl);
            var grantEnd = clock.Elapsed;
            await MustAsync(ctl, "put", "lexp/ttl", "v", "--lease=" + lease);

            var polls = await PollUntilGoneAsync(ctl, "lexp/ttl", clock, grantEnd + TimeSpan.FromSeconds(ttl) + ExpiryGrace + TimeSpan.FromSeconds(3));
            log($"grant in [{grantStart}, {grantEnd}]; {Describe(polls)}");
            AssertLivedAndVanished(polls, aliveUntil: grantStart + TimeSpan.FromSeconds(ttl), goneBy: grantEnd + TimeSpan.FromSeconds(ttl) + ExpiryGrace);

            var ttlAfter = await MustAsync(ctl, "lease", "timetolive", lease);
            Assert.Equal($"lease {lease} already expired\n", ttlAfter.Stdout);
        });

    [Fact]
    public Task Keep_alive_once_restarts_the_ttl() =>
        EverySide.RunAsync(servers, output, async (member, log) =>
        {
            const int ttl = 3;
            var ctl = member.Etcdctl();
            var clock = Stopwatch.StartNew();
            var lease = await GrantAsync(ctl, ttl);
            var grantEnd = clock.Elapsed;
            await MustAsync(ctl, "put", "lexp/once", "v", "--lease=" + lease);

            // Wait until less than 1 s is left (timetolive truncates: "ttl":0), then renew.
            long remaining;
            do
            {
                await Task.Delay(PollInterval);
                remaining = LeaseSteps.RemainingTtl((await MustAsync(ctl, "lease", "timetolive", lease, "-w", "json")).Stdout);
                Assert.True(clock.Elapsed < grantEnd + TimeSpan.FromSeconds(ttl), $"remaining TTL still {remaining} at {clock.Elapsed}");
            } while (remaining > 0);
            var keepAliveStart = clock.Elapsed;
            var keepAlive = await MustAsync(ctl, "lease", "keep-alive", "--once", lease);
            var keepAliveEnd = clock.Elapsed;
            Assert.Equal($"lease {lease} keepalived with TTL({ttl})\n", keepAlive.Stdout);

            var polls = await PollUntilGoneAsync(ctl, "lexp/once", clock, keepAliveEnd + TimeSpan.FromSeconds(ttl) + ExpiryGrace + TimeSpan.FromSeconds(3));
            log($"grant ended {grantEnd}; keep-alive in [{keepAliveStart}, {keepAliveEnd}]; {Describe(polls)}");
            // The renewal came at least TTL - 1 s after the grant: the key must outlive its first deadline + 1 s.
            Assert.True(keepAliveStart + TimeSpan.FromSeconds(ttl) > grantEnd + TimeSpan.FromSeconds(ttl) + ExpiryGrace,
                $"keep-alive at {keepAliveStart} came too early to show the renewal");
            AssertLivedAndVanished(polls, aliveUntil: keepAliveStart + TimeSpan.FromSeconds(ttl),
                goneBy: keepAliveEnd + TimeSpan.FromSeconds(ttl) + ExpiryGrace);
        });

    [Fact]
    public Task Keep_alive_stream_keeps_the_key_past_its_ttl_and_killing_it_lets_the_key_expire() =>
        EverySide.RunAsync(servers, output, async (member, log) =>
        {
            const int ttl = 2;
            var ctl = member.Etcdctl();
            var origin = Stopwatch.GetTimestamp();
            var clock = Stopwatch.StartNew();
            var lease = await GrantAsync(ctl, ttl);
            var grantEnd = clock.Elapsed;
            await MustAsync(ctl, "put", "lexp/stream", "v", "--lease=" + lease);
            await using var stream = BackgroundEtcdctl.Start(member.ClientUrl, "lease", "keep-alive", lease);

            // Keep it alive for more than TTL + 1 s: without the renewals the key would be gone by then.
            var keepUntil = grantEnd + TimeSpan.FromSeconds(ttl) + ExpiryGrace + TimeSpan.FromMilliseconds(500);
            for (var count = 1; ; count++)
            {
                var line = await stream.WaitForLinesAsync(l => l == $"lease {lease} keepalived with TTL({ttl})", count, StreamDeadline);
                if (Stopwatch.GetElapsedTime(origin, line.Timestamp) > keepUntil) break;
            }
            var get = await MustAsync(ctl, "get", "lexp/stream", "--print-value-only");
            Assert.Equal("v\n", get.Stdout);
            stream.Kill();
            var killedAt = clock.Elapsed;
            Assert.True(killedAt > keepUntil, $"killed at {killedAt}, before {keepUntil}");

            var polls = await PollUntilGoneAsync(ctl, "lexp/stream", clock, killedAt + TimeSpan.FromSeconds(ttl) + ExpiryGrace + TimeSpan.FromSeconds(3));
            log($"grant ended {grantEnd}; {stream.Lines.Count} keepalived lines; killed at {killedAt}; {Describe(polls)}");
            // The last renewal happened before the kill.
            AssertLivedAndVanished(polls, aliveUntil: TimeSpan.Zero, goneBy: killedAt + TimeSpan.FromSeconds(ttl) + ExpiryGrace);
        });

    /// <summary>One <c>get</c> of the polled key: when it started and ended (since the scenario's clock started) and whether the key was there.</summary>
    private sealed record Poll(TimeSpan Start, TimeSpan End, bool Present);

    /// <summary>
    /// Asserts every poll that ended by <paramref name="aliveUntil"/> saw the key, that a poll saw it gone, and that the
    /// last poll that saw it started before <paramref name="goneBy"/> (so it was gone by then).
    /// </summary>
    private static void AssertLivedAndVanished(IReadOnlyList<Poll> polls, TimeSpan aliveUntil, TimeSpan goneBy)
    {
        var early = polls.FirstOrDefault(p => !p.Present && p.End <= aliveUntil);
        Assert.True(early is null, $"key gone at {early?.End}, before {aliveUntil}; {Describe(polls)}");
        Assert.True(polls.Count > 0 && !polls[^1].Present, $"key still there at {polls.LastOrDefault()?.End}; {Describe(polls)}");
        var lastPresent = polls.LastOrDefault(p => p.Present);
        Assert.True(lastPresent is null || lastPresent.Start < goneBy,
            $"key still there at {lastPresent?.Start}, after {goneBy}; {Describe(polls)}");
    }

    /// <summary>Polls <c>get KEY</c> every <see cref="PollInterval"/> until the key is gone or <paramref name="deadline"/> passed.</summary>
    private static async Task<List<Poll>> PollUntilGoneAsync(Etcdctl ctl, string key, Stopwatch clock, TimeSpan deadline)
    {
        var polls = new List<Poll>();
        while (true)
        {
            var start = clock.Elapsed;
            var get = await MustAsync(ctl, "get", key, "--keys-only");
            var poll = new Poll(start, clock.Elapsed, get.Stdout.Length > 0);
            polls.Add(poll);
            if (!poll.Present || poll.End > deadline) return polls;
            await Task.Delay(PollInterval);
        }
    }

    private static string Describe(IReadOnlyList<Poll> polls)
    {
        var present = polls.Where(p => p.Present).ToList();
        var gone = polls.FirstOrDefault(p => !p.Present);
        return $"{polls.Count} polls; present from {present.FirstOrDefault()?.Start} to {present.LastOrDefault()?.End}; " +
               $"first seen gone in [{gone?.Start}, {gone?.End}]";
    }

    private static async Task<string> GrantAsync(Etcdctl ctl, int ttl)
    {
        var grant = await MustAsync(ctl, "lease", "grant", ttl.ToString());
        Assert.Matches($"^lease [0-9a-f]{{16}} granted with TTL\\({ttl}s\\)\n$", grant.Stdout);
        return grant.Stdout.Split(' ')[1];
    }

    private static async Task<EtcdctlResult> MustAsync(Etcdctl ctl, params string[] args)
    {
        var result = await ctl.RunAsync(args);
        Assert.True(result.Succeeded, $"etcdctl {string.Join(' ', args)} failed (rc={result.ExitCode}): {result.Stdout}{result.Stderr}");
        return result;
    }
}
