using System.Text;
using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// Growing a cluster from one member, as an operator does it: start one member, <c>etcdctl member add</c> the next (a
/// one-voter cluster accepts it at once: etcd's IsReadyToAddVotingMember lets a single started voter grow to two),
/// start the new member with what <c>member add</c> printed and <c>--initial-cluster-state existing</c>, then both are
/// started in <c>member list</c> and a put through either member is read through the other. The etcdctl transcript is
/// compared with Debian's etcd 3.4 run on the same ports (the new member's random ID masked).
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class GrowFromOneTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Member_add_on_a_one_member_cluster_then_the_new_member_joins_and_serves()
    {
        var ports = LoopbackPorts.Free(4);
        var etcd = await GrowAsync(ServerKind.Etcd, ports);
        output.WriteLine("--- etcd ---\n" + etcd);
        if (!ServerKinds.OursEnabled) return;
        var ours = await GrowAsync(ServerKind.Ours, ports);
        output.WriteLine("--- ours ---\n" + ours);
        Assert.Equal(etcd, ours);
    }

    /// <summary>Runs the flow against <paramref name="kind"/> and returns the normalized etcdctl transcript.</summary>
    private async Task<string> GrowAsync(ServerKind kind, int[] ports)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind, size: 1, ports: ports[..2]);
        var m1 = cluster["m1"];
        var transcript = new StringBuilder();
        try
        {
            var peerUrl = $"http://127.0.0.1:{ports[3]}";
            var add = await m1.Etcdctl().RunAsync("member", "add", "m2", "--peer-urls=" + peerUrl);
            Assert.True(add.Succeeded, $"{kind}: member add on a one-member cluster failed: {add.Stderr}");
            var added = AddedLine().Match(add.Stdout);
            Assert.True(added.Success, $"unexpected member add output:\n{add.Stdout}");
            var m2Hex = added.Groups["member"].Value.Trim();
            // etcdctl prints the ID with %16x: a random ID below 2^60 is padded with spaces; the mask takes the padding too.
            var m2Padded = added.Groups["member"].Value;
            string Mask(string text) => text.Replace(m2Padded, "<m2-id>", StringComparison.Ordinal).Replace(m2Hex, "<m2-id>", StringComparison.Ordinal);
            // etcdctl lists ETCD_INITIAL_CLUSTER in the server's member order (by ID, and m2's is random): sort it.
            var initialCluster = InitialClusterLine().Match(add.Stdout).Groups["value"].Value;
            var sortedCluster = string.Join(',', initialCluster.Split(',').Order(StringComparer.Ordinal));
            transcript.Append("$ etcdctl member add m2 --peer-urls=<m2-peer>\n")
                .Append(Mask(add.Stdout.Replace(initialCluster, sortedCluster).Replace(peerUrl, "<m2-peer>")));

            Assert.Equal([$"m1={m1.PeerUrl}", $"m2={peerUrl}"], initialCluster.Split(',').Order());
            var m2 = cluster.DescribeJoiner("m2", initialCluster, ports[2], ports[3]);
            m2.Start();
            await m2.WaitHealthyAsync(StepDeadline);
            var listing = await cluster.WaitUntilPublishedAsync(2, StepDeadline);
            Assert.Equal(["m1", "m2"], listing.Members.Select(m => m.Name).Order());

            // etcdctl prints the members in the server's order (by ID); m2's ID is random, so the lines are sorted.
            var list = await m2.Etcdctl().RunAsync("member", "list");
            Assert.True(list.Succeeded, $"member list via m2 failed: {list.Stderr}");
            var rows = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(row => Mask(row.Replace(m1.PeerUrl, "<m1-peer>").Replace(m1.ClientUrl, "<m1-client>")
                    .Replace(peerUrl, "<m2-peer>").Replace(m2.ClientUrl, "<m2-client>")))
                .Order(StringComparer.Ordinal);
            transcript.Append("$ etcdctl member list\n").AppendJoin('\n', rows).Append('\n');
            Assert.All(rows, row => Assert.Contains(", started, ", row));

            foreach (var (writer, reader, key) in new[] { (m1, m2, "grown/one"), (m2, m1, "grown/two") })
            {
                var put = await writer.Etcdctl().RunAsync("put", key, "value-of-" + key);
                Assert.True(put.Succeeded, $"put via {writer.Name} failed: {put.Stderr}");
                transcript.Append($"$ etcdctl --endpoints=<{writer.Name}> put {key} value-of-{key}\n").Append(put.Stdout);
                var get = await reader.Etcdctl().RunAsync("get", key);
                Assert.True(get.Succeeded, $"get via {reader.Name} failed: {get.Stderr}");
                Assert.Equal($"{key}\nvalue-of-{key}\n", get.Stdout);
                transcript.Append($"$ etcdctl --endpoints=<{reader.Name}> get {key}\n").Append(get.Stdout);
            }
            return transcript.ToString();
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    /// <summary>etcdctl 3.4: <c>Member %16x added to cluster %16x</c> (space-padded hex).</summary>
    [GeneratedRegex("^Member (?<member>[ 0-9a-f]{16}) added to cluster (?<cluster>[ 0-9a-f]{16})$", RegexOptions.Multiline)]
    private static partial Regex AddedLine();

    [GeneratedRegex("^ETCD_INITIAL_CLUSTER=\"(?<value>[^\"]*)\"", RegexOptions.Multiline)]
    private static partial Regex InitialClusterLine();
}
