using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// Membership changes of a 3-member cluster with the real etcdctl, as an operator does them: <c>member add --learner</c>,
/// start the 4th member with what <c>member add</c> printed and <c>--initial-cluster-state existing</c>,
/// <c>member promote</c>, <c>member remove</c> (the removed process exits by itself), then <c>move-leader</c>.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class MembershipTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(20);

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_learner_joins_is_promoted_and_removed_then_leadership_moves(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind);
        var voters = cluster.Members.ToArray();
        var ctl = new Etcdctl(string.Join(',', voters.Select(m => m.ClientUrl)));
        try
        {
            // member add --learner prints the new ID and the environment for starting the new member.
            var ports = LoopbackPorts.Free(2);
            var peerUrl = $"http://127.0.0.1:{ports[1]}";
            // etcd refuses reconfiguration until every member has been connected for 5 s (--strict-reconfig-check).
            var add = await RunUntilAsync(ctl, ["member", "add", "m4", "--learner", "--peer-urls=" + peerUrl],
                "etcdserver: unhealthy cluster");
            var added = AddedLine().Match(add.Stdout);
            Assert.True(added.Success, $"unexpected member add output:\n{add.Stdout}");
            var learnerHex = added.Groups["member"].Value.TrimStart();
            Assert.Contains($"ETCD_NAME=\"m4\"", add.Stdout);
            Assert.Contains($"ETCD_INITIAL_ADVERTISE_PEER_URLS=\"{peerUrl}\"", add.Stdout);
            Assert.Contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\"", add.Stdout);
            var initialCluster = InitialClusterLine().Match(add.Stdout).Groups["value"].Value;
            Assert.Equal(
                voters.Select(m => $"{m.Name}={m.PeerUrl}").Append($"m4={peerUrl}").Order(),
                initialCluster.Split(',').Order());

            var unstarted = await ListAsync(ctl);
            var learnerRow = unstarted.Members.Single(m => m.HexId == learnerHex);
            Assert.True(learnerRow.IsLearner);
            Assert.Equal("", learnerRow.Name); // Not started yet: etcdctl shows it "unstarted".

            var m4 = cluster.DescribeJoiner("m4", initialCluster, ports[0], ports[1]);
            m4.Start();
            var joined = await cluster.WaitUntilPublishedAsync(4, StepDeadline, via: voters);
            Assert.True(joined.Members.Single(m => m.HexId == learnerHex) is { Name: "m4", IsLearner: true });

            // The leader refuses while the learner's log is not in sync; an operator retries.
            var promote = await RunUntilAsync(ctl, ["member", "promote", learnerHex],
                "can only promote a learner member which is in sync with leader");
            Assert.Contains($"Member {learnerHex.PadLeft(16)} promoted in cluster {MemberRow.Padded(joined.ClusterId)}", promote.Stdout);
            var promoted = await ListAsync(ctl);
            Assert.Equal(4, promoted.Members.Count);
            Assert.All(promoted.Members, m => Assert.False(m.IsLearner, $"{m.Name} is still a learner"));
            await m4.WaitHealthyAsync(StepDeadline);
            var status = await ctl.RunAsync("endpoint", "status", "--cluster", "-w", "table");
            Assert.True(status.Succeeded, status.Stderr);
            var statusTable = EtcdctlTable.Parse(status.Stdout);
            Assert.Equal(4, statusTable.Rows.Count);
            Assert.Contains(m4.ClientUrl, statusTable.Column("ENDPOINT"));
            Assert.Single(statusTable.Column("IS LEADER"), s => s == "true");

            var remove = await ctl.RunAsync("member", "remove", learnerHex);
            Assert.True(remove.Succeeded, $"member remove failed: {remove.Stderr}");
            Assert.Contains($"Member {learnerHex.PadLeft(16)} removed from cluster {MemberRow.Padded(joined.ClusterId)}", remove.Stdout);
            var removedExit = await m4.WaitForExitAsync(StepDeadline);
            output.WriteLine($"{kind}: the removed member exited with code {removedExit}");
            // The others quarantine a removed member's ActorSystem too; it stops on its own, not as a quarantined member.
            if (kind == ServerKind.Ours) Assert.DoesNotContain("was quarantined by peer", m4.Log, StringComparison.Ordinal);
            var remaining = await ListAsync(ctl);
            Assert.Equal(voters.Select(m => m.Name).Order(), remaining.Members.Select(m => m.Name).Order());

            // move-leader: etcdctl finds the leader among its endpoints and asks it to transfer leadership.
            var (leader, leaderId, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            var target = remaining.Members.First(m => m.Id != leaderId);
            var move = await ctl.RunAsync("move-leader", target.HexId);
            Assert.True(move.Succeeded, $"move-leader failed: {move.Stderr}");
            Assert.Contains($"Leadership transferred from {leaderId:x} to {target.HexId}", move.Stdout);
            var (newLeader, _, _) = await cluster.WaitForLeaderAsync(StepDeadline, id => id == target.Id);
            output.WriteLine($"{kind}: leadership moved from {leader.Name} to {newLeader.Name}");
            Assert.Equal(target.Name, newLeader.Name);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    /// <summary>
    /// Runs etcdctl until it succeeds, retrying while it fails with <paramref name="retryableError"/> in its stderr;
    /// any other failure, or still failing after <see cref="StepDeadline"/>, fails the test with etcdctl's stderr.
    /// </summary>
    private static async Task<EtcdctlResult> RunUntilAsync(Etcdctl ctl, string[] args, string retryableError)
    {
        using var cancel = new CancellationTokenSource(StepDeadline);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (true)
        {
            var result = await ctl.RunAsync(args);
            if (result.Succeeded) return result;
            Assert.True(result.Stderr.Contains(retryableError, StringComparison.Ordinal),
                $"etcdctl {string.Join(' ', args)} failed (exit {result.ExitCode}): {result.Stderr}");
            try
            {
                await poll.WaitForNextTickAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"etcdctl {string.Join(' ', args)} still failed after {StepDeadline}: {result.Stderr}");
            }
        }
    }

    private static async Task<MemberListing> ListAsync(Etcdctl ctl)
    {
        var list = await ctl.RunAsync("member", "list", "-w", "json");
        Assert.True(list.Succeeded, $"member list failed: {list.Stderr}");
        return MemberListing.Parse(list.Stdout);
    }

    /// <summary>etcdctl 3.4: <c>Member %16x added to cluster %16x</c> (space-padded hex).</summary>
    [GeneratedRegex("^Member (?<member>[ 0-9a-f]{16}) added to cluster (?<cluster>[ 0-9a-f]{16})$", RegexOptions.Multiline)]
    private static partial Regex AddedLine();

    [GeneratedRegex("^ETCD_INITIAL_CLUSTER=\"(?<value>[^\"]*)\"", RegexOptions.Multiline)]
    private static partial Regex InitialClusterLine();
}
