using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Akka.Etcd.TestDoubles;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// 3-member clusters whose members talk over TLS (<c>https://</c> peer URLs), as etcd's own test tooling starts them:
/// with <c>--peer-auto-tls</c> (puts, reads on every member, leader failover), and with certificates of a CA plus
/// client TLS (mutual peer authentication with an allowed CN; a 4th member added; a stopped member that fell behind the
/// compacted log catching up through a snapshot on our server; a member with a certificate of another CA refused by
/// its peers and never published; member remove).
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class PeerTlsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(30);

    private readonly string _certs = Directory.CreateTempSubdirectory("akka-etcd-peer-tls-").FullName;

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    public void Dispose() => Directory.Delete(_certs, recursive: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_auto_tls_cluster_serves_and_fails_over(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind, extraFlags: ["--peer-auto-tls"],
            schemes: new ClusterSchemes(Peer: "https"));
        try
        {
            foreach (var member in cluster.Members)
            {
                Assert.True(File.Exists(Path.Combine(member.DataDir, "fixtures", "peer", "cert.pem")), $"{member.Name} made no peer certificate");
                if (kind == ServerKind.Ours)
                    Assert.Contains("starting with peer TLS", member.Log, StringComparison.Ordinal);
            }
            await PutAsync(cluster["m1"], "tls/a", "1");
            foreach (var member in cluster.Members)
                Assert.Equal("1", await GetAsync(member, "tls/a"));

            var (oldLeader, oldLeaderId, _) = await cluster.WaitForLeaderAsync(StepDeadline);
            oldLeader.Kill();
            var (newLeader, _, _) = await cluster.WaitForLeaderAsync(StepDeadline, id => id != oldLeaderId);
            await PutAsync(newLeader, "tls/b", "2");
            foreach (var member in cluster.Running)
                Assert.Equal("2", await GetAsync(member, "tls/b"));
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_cluster_with_peer_and_client_certificates_grows_catches_up_refuses_a_foreign_member_and_shrinks(ServerKind kind)
    {
        using var ca = TestCertificateAuthority.Create("members-ca");
        using var foreignCa = TestCertificateAuthority.Create("foreign-ca");
        var caFile = ca.WriteCertificate(Path.Combine(_certs, "ca.crt"));
        IReadOnlyList<string> CertificateFlags(TestCertificateAuthority issuer, string name)
        {
            var (cert, key, _) = issuer.IssueFiles(_certs, name, "member");
            return ["--peer-cert-file", cert, "--peer-key-file", key, "--cert-file", cert, "--key-file", key];
        }
        List<string> flags = ["--peer-trusted-ca-file", caFile, "--peer-client-cert-auth", "--peer-cert-allowed-cn", "member"];
        if (kind == ServerKind.Ours)
        {
            // Snapshot every 20 entries, keeping 5 behind it: a member stopped during the puts below gets a snapshot.
            // (etcd 3.4 has no --experimental-snapshot-catchup-entries: there it catches up from the log.)
            flags.AddRange(["--snapshot-count", "20", "--experimental-snapshot-catchup-entries", "5"]);
        }
        var schemes = new ClusterSchemes("https", "https", name => CertificateFlags(ca, name), ["--cacert", caFile]);
        await using var cluster = await ClusterProcesses.StartAsync(kind, extraFlags: flags, schemes: schemes);
        var voters = cluster.Members.ToArray();
        var ctl = cluster.Etcdctl();
        try
        {
            // A 4th member with its own certificate of the cluster's CA joins and catches up from the log.
            var ports = LoopbackPorts.Free(4);
            var m4Url = $"https://127.0.0.1:{ports[1]}";
            var add = await MemberAddAsync(ctl, "m4", m4Url);
            var m4 = cluster.DescribeJoiner("m4", InitialClusterLine().Match(add.Stdout).Groups["value"].Value, ports[0], ports[1]);
            m4.Start();
            await cluster.WaitUntilPublishedAsync(4, StepDeadline, via: voters);
            await m4.WaitHealthyAsync(StepDeadline);

            if (kind == ServerKind.Ours)
            {
                // The transport is TLS for every peer or for none: an http peer URL in this cluster is refused.
                var plain = await ctl.RunAsync("member", "add", "plain", $"--peer-urls=http://127.0.0.1:{ports[3]}");
                Assert.Contains("etcdserver: given member URLs are invalid", plain.Stderr, StringComparison.Ordinal);
            }

            // m3 stops, falls behind the compacted log, and catches up through a snapshot sent over TLS.
            var lagging = cluster["m3"];
            await lagging.TerminateAsync(StepDeadline);
            for (var i = 0; i < 40; i++)
                await PutAsync(i % 2 == 0 ? voters[0] : m4, $"certs/{i:D2}", $"v{i}");
            await lagging.RestartAsync();
            if (kind == ServerKind.Ours)
            {
                await WaitForLogAsync([lagging], "applied snapshot at raft index", 0);
                Assert.Contains(cluster.Members.Where(m => m != lagging), m => m.Log.Contains("sent database snapshot at index", StringComparison.Ordinal));
            }
            Assert.Equal("v39", await GetAsync(lagging, "certs/39"));
            Assert.Equal("v39", await GetAsync(m4, "certs/39"));

            // A 5th member whose certificate another CA signed: its peers refuse it both ways, it never publishes itself.
            var m5Url = $"https://127.0.0.1:{ports[3]}";
            var m5Add = await MemberAddAsync(ctl, "m5", m5Url);
            var m5Id = AddedLine().Match(m5Add.Stdout).Groups["member"].Value.Trim();
            var m5 = cluster.DescribeJoiner("m5", InitialClusterLine().Match(m5Add.Stdout).Groups["value"].Value, ports[2], ports[3],
                memberFlags: CertificateFlags(foreignCa, "m5"));
            var members = voters.Append(m4).ToArray();
            var offsets = members.Select(m => m.Log.Length).ToArray();
            m5.Start();
            await WaitForLogAsync(members, "rejected connection", offsets);
            var list = await ctl.RunAsync("member", "list", "-w", "json");
            Assert.True(list.Succeeded, list.Stderr);
            Assert.Contains(MemberListing.Parse(list.Stdout).Members, m => m.HexId == m5Id && m.Name == "");
            Assert.Equal("v39", await GetAsync(cluster["m1"], "certs/39"));

            var removeM5 = await ctl.RunAsync("member", "remove", m5Id);
            Assert.True(removeM5.Succeeded, removeM5.Stderr);
            await m5.DisposeAsync();

            // Member remove over TLS: the removed member learns it and exits by itself.
            var m4Id = MemberListing.Parse((await ctl.RunAsync("member", "list", "-w", "json")).Stdout).Members.Single(m => m.Name == "m4").HexId;
            var removeM4 = await ctl.RunAsync("member", "remove", m4Id);
            Assert.True(removeM4.Succeeded, removeM4.Stderr);
            await m4.WaitForExitAsync(StepDeadline);
            await PutAsync(cluster["m2"], "certs/after", "done");
            Assert.Equal("done", await GetAsync(cluster["m3"], "certs/after"));
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    private static async Task PutAsync(ClusterMember via, string key, string value)
    {
        var put = await via.Etcdctl().RunAsync("put", key, value);
        Assert.True(put.Succeeded, $"put {key} via {via.Name} failed: {put.Stderr}");
    }

    private static async Task<string> GetAsync(ClusterMember via, string key)
    {
        var get = await via.Etcdctl().RunAsync("get", key, "--print-value-only");
        Assert.True(get.Succeeded, $"get {key} via {via.Name} failed: {get.Stderr}");
        return get.Stdout.Trim();
    }

    /// <summary><c>member add</c>, retried while etcd refuses reconfiguration until every member was connected for 5 s.</summary>
    private static async Task<EtcdctlResult> MemberAddAsync(Etcdctl ctl, string name, string peerUrl)
    {
        using var cancel = new CancellationTokenSource(StepDeadline);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (true)
        {
            var result = await ctl.RunAsync("member", "add", name, "--peer-urls=" + peerUrl);
            if (result.Succeeded) return result;
            Assert.True(result.Stderr.Contains("etcdserver: unhealthy cluster", StringComparison.Ordinal), $"member add {name} failed: {result.Stderr}");
            await poll.WaitForNextTickAsync(cancel.Token);
        }
    }

    /// <summary>Waits until one of <paramref name="members"/> logged <paramref name="marker"/> after <paramref name="offset"/> characters of its log.</summary>
    private static Task WaitForLogAsync(IReadOnlyList<ClusterMember> members, string marker, int offset) =>
        WaitForLogAsync(members, marker, members.Select(_ => offset).ToArray());

    private static async Task WaitForLogAsync(IReadOnlyList<ClusterMember> members, string marker, int[] offsets)
    {
        using var cancel = new CancellationTokenSource(StepDeadline);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (!members.Select((m, i) => m.Log.IndexOf(marker, offsets[i], StringComparison.Ordinal) >= 0).Any(found => found))
                await poll.WaitForNextTickAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"none of {string.Join(",", members.Select(m => m.Name))} logged \"{marker}\" within {StepDeadline}");
        }
    }

    /// <summary>etcdctl 3.4: <c>Member %16x added to cluster %16x</c> (space-padded hex).</summary>
    [GeneratedRegex("^Member (?<member>[ 0-9a-f]{16}) added to cluster", RegexOptions.Multiline)]
    private static partial Regex AddedLine();

    [GeneratedRegex("^ETCD_INITIAL_CLUSTER=\"(?<value>[^\"]*)\"", RegexOptions.Multiline)]
    private static partial Regex InitialClusterLine();
}
