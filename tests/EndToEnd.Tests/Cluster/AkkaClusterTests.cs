using System.Diagnostics;
using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// The members' Akka cluster under the failures an operator meets, with Raft membership as the authority: a member
/// paused (SIGSTOP) for 30 s, or whose peer traffic is dropped for 30 s, comes back into Raft and the Akka cluster by
/// itself (nothing downs or quarantines it), and
/// etcd's "add a replacement, then remove the dead member" completes while the dead member is unreachable, the Raft
/// leader downing it in Akka; a member stopped gracefully hands over leadership and leaves the Akka cluster. What each member's Akka cluster did is read from its JSON log (the cluster monitor's
/// lines). akka-etcd only: etcd has no Akka cluster.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class AkkaClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_leader_paused_for_30_seconds_rejoins_raft_and_the_akka_cluster_without_a_restart()
    {
        if (!ServerKinds.OursEnabled) return;
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours);
        try
        {
            await WaitAkkaClusterUpAsync(cluster.Members);
            var (paused, pausedId, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            var others = cluster.Members.Where(m => m != paused).ToList();
            var clock = Stopwatch.StartNew();
            paused.Pause();

            // The others elect a leader and take writes while it is away (a put forwarded to the paused leader before the
            // election times out, as in etcd, and is tried again).
            var ctl = new Etcdctl(string.Join(',', others.Select(m => m.ClientUrl)), "--command-timeout=3s");
            for (var i = 0; i < 20; i++)
            {
                var key = $"paused/{i}";
                await EventuallyAsync(async () => (await ctl.RunAsync("put", key, "v")).Succeeded, $"put {key} during the pause");
            }
            foreach (var other in others)
                await WaitForLogAsync(other, $"akka cluster: member {AkkaAddress(paused)} is unreachable", StepDeadline);
            var rest = Pause - clock.Elapsed;
            if (rest > TimeSpan.Zero) await Task.Delay(rest); // the pause itself is the scenario, not a wait for a result
            paused.Resume();
            output.WriteLine($"{paused.Name} ({pausedId:x}) paused for {clock.Elapsed.TotalSeconds:F1} s");

            // Raft: it catches up and serves a linearizable read of what was written meanwhile, through its own endpoint.
            await EventuallyAsync(async () =>
            {
                var get = await paused.Etcdctl("--command-timeout=2s").RunAsync("get", "paused/", "--prefix", "--keys-only");
                return get.Succeeded && get.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 20;
            }, "the paused member serves the keys written during its pause");
            // Akka: the others see it reachable again, it sees them; nobody downed or quarantined anyone.
            foreach (var other in others)
            {
                await WaitForLogAsync(other, $"akka cluster: member {AkkaAddress(paused)} is reachable again", StepDeadline);
                Assert.DoesNotContain("was downed", other.Log);
            }
            Assert.DoesNotContain("quarantined", paused.Log, StringComparison.OrdinalIgnoreCase);
            Assert.True(paused.IsRunning, "the paused member exited");
            await cluster.WaitForLeaderAsync(StepDeadline);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(80));
            throw;
        }
    }

    [Fact]
    public async Task A_leader_whose_peer_traffic_is_dropped_for_30_seconds_rejoins_raft_and_the_akka_cluster_without_a_restart()
    {
        if (!ServerKinds.OursEnabled) return;
        // Every byte between the members passes the relay, which drops the leader's traffic both ways (connections into
        // it and those it opened to the others) as a lossy network would: nothing arrives, TCP retransmits meanwhile.
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, relayPeerTraffic: true);
        var relay = cluster.Relay!;
        try
        {
            await WaitAkkaClusterUpAsync(cluster.Members);
            var (cut, cutId, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            var others = cluster.Members.Where(m => m != cut).ToList();
            var logStarts = cluster.Members.ToDictionary(m => m, m => m.Log.Length);
            var clock = Stopwatch.StartNew();
            relay.Cut(cut.PeerPort);

            // The others elect a leader and take writes while it is cut off.
            var ctl = new Etcdctl(string.Join(',', others.Select(m => m.ClientUrl)), "--command-timeout=3s");
            for (var i = 0; i < 20; i++)
            {
                var key = $"dropped/{i}";
                await EventuallyAsync(async () => (await ctl.RunAsync("put", key, "v")).Succeeded, $"put {key} during the cut");
            }
            // Both directions are cut: the others lose it and it loses them.
            foreach (var other in others)
            {
                await WaitForLogAsync(other, $"akka cluster: member {AkkaAddress(cut)} is unreachable", StepDeadline, logStarts[other]);
                await WaitForLogAsync(cut, $"akka cluster: member {AkkaAddress(other)} is unreachable", StepDeadline, logStarts[cut]);
            }
            var rest = Pause - clock.Elapsed;
            if (rest > TimeSpan.Zero) await Task.Delay(rest); // the outage itself is the scenario, not a wait for a result
            var healedAt = cluster.Members.ToDictionary(m => m, m => m.Log.Length);
            relay.Heal(cut.PeerPort);
            output.WriteLine($"{cut.Name} ({cutId:x}) cut off for {clock.Elapsed.TotalSeconds:F1} s");
            // The relay saw connections of the cut member both ways, so the cut covered what it sends and what it receives.
            foreach (var other in others)
            {
                Assert.Contains(relay.Connections, c => c.FromPort == cut.PeerPort && c.ToPort == other.PeerPort);
                Assert.Contains(relay.Connections, c => c.FromPort == other.PeerPort && c.ToPort == cut.PeerPort);
            }

            // Raft: it catches up and serves a linearizable read of what was written meanwhile, through its own endpoint.
            await EventuallyAsync(async () =>
            {
                var get = await cut.Etcdctl("--command-timeout=2s").RunAsync("get", "dropped/", "--prefix", "--keys-only");
                return get.Succeeded && get.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 20;
            }, "the cut-off member serves the keys written during the cut");
            // Akka: the others see it reachable again and it sees them; nobody downed or quarantined anyone.
            foreach (var other in others)
            {
                await WaitForLogAsync(other, $"akka cluster: member {AkkaAddress(cut)} is reachable again", StepDeadline, healedAt[other]);
                await WaitForLogAsync(cut, $"akka cluster: member {AkkaAddress(other)} is reachable again", StepDeadline, healedAt[cut]);
            }
            foreach (var member in cluster.Members)
            {
                Assert.DoesNotContain("was downed", member.Log);
                Assert.DoesNotContain("quarantined", member.Log, StringComparison.OrdinalIgnoreCase);
                Assert.True(member.IsRunning, $"{member.Name} exited");
            }
            await cluster.WaitForLeaderAsync(StepDeadline);
            // What Akka did, for whoever reads the run: cluster events and remoting's association lines, then the relay's.
            foreach (var member in cluster.Members)
            {
                output.WriteLine($"--- {member.Name} ---");
                foreach (var line in member.Log.Split('\n').Where(l =>
                             l.Contains("akka cluster:", StringComparison.Ordinal) ||
                             l.Contains("ssociat", StringComparison.Ordinal) || l.Contains("gated", StringComparison.OrdinalIgnoreCase)))
                    output.WriteLine(line);
            }
            output.WriteLine(relay.Log);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(80));
            throw;
        }
    }

    [Fact]
    public async Task A_dead_member_is_replaced_while_unreachable_and_the_leader_downs_it_once_removed()
    {
        if (!ServerKinds.OursEnabled) return;
        // etcd's strict reconfig check refuses any add while a voter is down; the replacement flow needs it off, as in etcd.
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, extraFlags: ["--strict-reconfig-check=false"]);
        try
        {
            await WaitAkkaClusterUpAsync(cluster.Members);
            var (leader, _, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            var dead = cluster.Members.First(m => m != leader);
            var survivors = cluster.Members.Where(m => m != dead).ToList();
            var ctl = new Etcdctl(string.Join(',', survivors.Select(m => m.ClientUrl)), "--command-timeout=5s");
            var deadId = (await ListAsync(ctl)).Members.Single(m => m.Name == dead.Name).HexId;
            dead.Kill();
            foreach (var survivor in survivors)
                await WaitForLogAsync(survivor, $"akka cluster: member {AkkaAddress(dead)} is unreachable", StepDeadline);

            // Add the replacement and start it while the dead member is still a member (and unreachable).
            var ports = LoopbackPorts.Free(2);
            var peerUrl = $"http://127.0.0.1:{ports[1]}";
            var add = await ctl.RunAsync("member", "add", "m4", "--peer-urls=" + peerUrl);
            Assert.True(add.Succeeded, $"member add failed: {add.Stderr}");
            var initialCluster = InitialClusterLine().Match(add.Stdout).Groups["value"].Value;
            var replacement = cluster.DescribeJoiner("m4", initialCluster, ports[0], ports[1]);
            replacement.Start();
            await replacement.WaitHealthyAsync(StepDeadline);
            await WaitForLogAsync(leader, $"akka cluster: member {AkkaAddress(replacement)} joined", StepDeadline);
            Assert.DoesNotContain($"akka cluster: member {AkkaAddress(replacement)} is up", leader.Log);

            var remove = await ctl.RunAsync("member", "remove", deadId);
            Assert.True(remove.Succeeded, $"member remove failed: {remove.Stderr}");
            var (raftLeader, _, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            await WaitForLogAsync(raftLeader, $"downing {AkkaAddress(dead)} in the Akka cluster", StepDeadline);
            foreach (var member in survivors.Append(replacement))
                await WaitForLogAsync(member, $"akka cluster: member {AkkaAddress(dead)} was removed", StepDeadline);
            await WaitForLogAsync(leader, $"akka cluster: member {AkkaAddress(replacement)} is up", StepDeadline);

            var put = await replacement.Etcdctl().RunAsync("put", "replaced", "yes");
            Assert.True(put.Succeeded, put.Stderr);
            var get = await survivors[0].Etcdctl().RunAsync("get", "replaced", "--print-value-only");
            Assert.Equal("yes", get.Stdout.Trim());
            Assert.Equal(survivors.Select(m => m.Name).Append("m4").Order(), (await ListAsync(ctl)).Members.Select(m => m.Name).Order());
        }
        catch
        {
            output.WriteLine(cluster.LogTails(80));
            throw;
        }
    }

    [Fact]
    public async Task A_leader_stopped_with_SIGTERM_hands_leadership_over_and_leaves_the_akka_cluster()
    {
        if (!ServerKinds.OursEnabled) return;
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours);
        try
        {
            await WaitAkkaClusterUpAsync(cluster.Members);
            var (leader, leaderId, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            var others = cluster.Members.Where(m => m != leader).ToList();

            await leader.TerminateAsync(StepDeadline);
            Assert.Equal(0, leader.ExitCode);
            Assert.Contains("leadership transfer finished", leader.Log, StringComparison.Ordinal);
            Assert.Contains("left the Akka cluster", leader.Log, StringComparison.Ordinal);
            // A graceful leave (Leaving, Exiting, Removed), not a member the others found unreachable and never removed.
            foreach (var other in others)
                await WaitForLogAsync(other, $"akka cluster: member {AkkaAddress(leader)} was removed (previous status Exiting)", StepDeadline);
            var (next, _, _) = await cluster.WaitForLeaderAsync(StepDeadline, id => id != leaderId);
            var put = await next.Etcdctl().RunAsync("put", "after-stop", "yes");
            Assert.True(put.Succeeded, put.Stderr);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(80));
            throw;
        }
    }

    /// <summary>The Akka address of a member: its advertised peer URL as Akka writes it.</summary>
    private static string AkkaAddress(ClusterMember member) => $"akka.tcp://akka-etcd@127.0.0.1:{member.PeerPort}";

    /// <summary>Waits until every member logged every member (itself included) up in its Akka cluster.</summary>
    private static async Task WaitAkkaClusterUpAsync(IReadOnlyList<ClusterMember> members)
    {
        foreach (var member in members)
            foreach (var other in members)
                await WaitForLogAsync(member, $"akka cluster: member {AkkaAddress(other)}{(other == member ? " (this member)" : "")} is up", StepDeadline);
    }

    private static async Task<MemberListing> ListAsync(Etcdctl ctl)
    {
        var list = await ctl.RunAsync("member", "list", "-w", "json");
        Assert.True(list.Succeeded, $"member list failed: {list.Stderr}");
        return MemberListing.Parse(list.Stdout);
    }

    /// <summary>Waits until the member's log, from character <paramref name="from"/> on (the whole log by default), has <paramref name="marker"/>.</summary>
    private static async Task WaitForLogAsync(ClusterMember member, string marker, TimeSpan deadline, int from = 0)
    {
        using var cancel = new CancellationTokenSource(deadline);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (member.Log.IndexOf(marker, from, StringComparison.Ordinal) < 0) await poll.WaitForNextTickAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{member.Name} did not log \"{marker}\" within {deadline}");
        }
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        using var cancel = new CancellationTokenSource(StepDeadline);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (!await condition()) await poll.WaitForNextTickAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"not within {StepDeadline}: {what}");
        }
    }

    [GeneratedRegex("^ETCD_INITIAL_CLUSTER=\"(?<value>[^\"]*)\"", RegexOptions.Multiline)]
    private static partial Regex InitialClusterLine();
}
