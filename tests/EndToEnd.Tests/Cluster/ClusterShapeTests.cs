using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// A 3-member cluster as processes on loopback: what <c>member list</c> and <c>endpoint status --cluster</c> print
/// (compared with a real etcd 3.4 cluster started with the same flags on the same ports), and linearizable reads
/// through followers.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class ClusterShapeTests(ITestOutputHelper output)
{
    private static readonly string[] MemberListColumns = ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"];

    private static readonly string[] EndpointStatusColumns =
    [
        "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX",
        "RAFT APPLIED INDEX", "ERRORS",
    ];

    /// <summary>Columns that legitimately differ between two clusters: storage size, who won the election, log position.</summary>
    private static readonly string[] MaskedStatusColumns = ["DB SIZE", "IS LEADER", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX"];

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Fact]
    public async Task Member_list_and_endpoint_status_show_etcds_columns_and_the_same_ids_as_etcd_on_the_same_ports()
    {
        var ports = ClusterProcesses.FreePorts(3);
        var etcd = await CaptureAsync(ServerKind.Etcd, ports);
        output.WriteLine("--- etcd ---\n" + etcd.MemberList + etcd.EndpointStatus);
        AssertShape(etcd);
        if (!ServerKinds.OursEnabled) return;

        // Same ports, same names, same token: the same member IDs and cluster ID (etcd derives them from these).
        var ours = await CaptureAsync(ServerKind.Ours, ports);
        output.WriteLine("--- ours ---\n" + ours.MemberList + ours.EndpointStatus);
        AssertShape(ours);
        Assert.Equal(etcd.Listing.ClusterId.ToString("x16"), ours.Listing.ClusterId.ToString("x16"));
        Assert.Equal(etcd.Listing.Members.Select(m => m.HexId), ours.Listing.Members.Select(m => m.HexId));
        Assert.Equal(EtcdctlTable.Parse(etcd.MemberList).Normalized(), EtcdctlTable.Parse(ours.MemberList).Normalized());
        Assert.Equal(EtcdctlTable.Parse(etcd.EndpointStatus).Normalized(MaskedStatusColumns),
            EtcdctlTable.Parse(ours.EndpointStatus).Normalized(MaskedStatusColumns));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_put_through_one_member_is_read_at_once_through_another(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind);
        var members = cluster.Members;
        try
        {
            // The same key gets a new value each round: a stale follower read would return the previous one.
            for (var round = 0; round < 12; round++)
            {
                var writer = members[round % 3];
                var reader = members[(round + 1 + round / 3 % 2) % 3];
                var value = $"v{round:D2}";
                var put = await writer.Etcdctl().RunAsync("put", "linearizable", value);
                Assert.True(put.Succeeded, $"put via {writer.Name} failed: {put.Stderr}");
                var get = await reader.Etcdctl().RunAsync("get", "linearizable", "--print-value-only");
                Assert.True(get.Succeeded, $"get via {reader.Name} failed: {get.Stderr}");
                Assert.Equal(value, get.Stdout.Trim());
            }
        }
        catch
        {
            output.WriteLine(cluster.LogTails());
            throw;
        }
    }

    private static void AssertShape(Captured captured)
    {
        var list = EtcdctlTable.Parse(captured.MemberList);
        Assert.Equal(MemberListColumns, list.Header);
        Assert.Equal(3, list.Rows.Count);
        Assert.All(list.Column("STATUS"), s => Assert.Equal("started", s));
        Assert.Equal(["m1", "m2", "m3"], list.Column("NAME").Order());
        Assert.All(list.Column("IS LEARNER"), s => Assert.Equal("false", s));
        Assert.Equal(captured.Listing.Members.Select(m => m.HexId), list.Column("ID"));

        var status = EtcdctlTable.Parse(captured.EndpointStatus);
        Assert.Equal(EndpointStatusColumns, status.Header);
        Assert.Equal(3, status.Rows.Count);
        Assert.Equal(list.Column("ID"), status.Column("ID"));
        Assert.Single(status.Column("IS LEADER"), s => s == "true");
        Assert.Single(status.Column("RAFT TERM").Distinct());
        Assert.All(status.Column("ERRORS"), e => Assert.Equal("", e));
    }

    private static async Task<Captured> CaptureAsync(ServerKind kind, int[] ports)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind, ports: ports);
        var ctl = cluster["m1"].Etcdctl();
        var memberList = await ctl.RunAsync("member", "list", "-w", "table");
        var status = await ctl.RunAsync("endpoint", "status", "--cluster", "-w", "table");
        var json = await ctl.RunAsync("member", "list", "-w", "json");
        Assert.True(memberList.Succeeded && status.Succeeded && json.Succeeded,
            $"{kind}: {memberList.Stderr}{status.Stderr}{json.Stderr}\n{cluster.LogTails()}");
        return new Captured(memberList.Stdout, status.Stdout, MemberListing.Parse(json.Stdout));
    }

    private sealed record Captured(string MemberList, string EndpointStatus, MemberListing Listing);
}
