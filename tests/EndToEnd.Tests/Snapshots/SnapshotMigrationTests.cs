using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Snapshots;

/// <summary>
/// Migration both ways as processes, with etcd's own tools in the middle: our member → <c>etcdctl snapshot save</c> →
/// <c>etcdctl snapshot restore</c> → etcd 3.4 → <c>etcdctl snapshot save</c> → <c>akka-etcd snapshot restore</c> → our
/// member. At every step the keys (values, create/mod revisions, versions, leases), HashKV at the same revision, the
/// compact revision and the leases (granted TTL, attached keys) are equal, and <c>etcdctl snapshot status</c> prints for
/// each file what <c>akka-etcd snapshot status</c> computes.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection(Cluster.ClusterProcessCollection.Name)]
public sealed partial class SnapshotMigrationTests(ITestOutputHelper output)
{
    /// <summary>Keys, deletes, a txn, leases, a compaction, a value over a page, 1,500 keys for branch pages.</summary>
    private static async Task<long> WriteHistoryAsync(Etcdctl ctl)
    {
        async Task Run(params string[] args)
        {
            var result = await ctl.RunAsync(args);
            Assert.True(result.Succeeded, $"etcdctl {string.Join(' ', args)}: {result.Stderr}");
        }
        for (var batch = 0; batch < 15; batch++)
        {
            var txn = new StringBuilder("mod(\"none\") = \"0\"\n\n");
            for (var i = batch * 100; i < (batch + 1) * 100; i++) txn.Append($"put bulk/{i:D5} value-{i:D5}\n");
            txn.Append("\n\n");
            var result = await ctl.RunWithInputAsync(txn.ToString(), "txn");
            Assert.True(result.Succeeded && result.Stdout.StartsWith("SUCCESS"), result.Stdout + result.Stderr);
        }
        await Run("put", "a", "1");
        await Run("put", "b", "2");
        await Run("put", "a", "3");
        await Run("del", "b");
        await Run("del", "bulk/00100", "bulk/00200");
        var leaseA = LeaseId().Match((await ctl.RunAsync("lease", "grant", "600")).Stdout).Groups[1].Value;
        var leaseB = LeaseId().Match((await ctl.RunAsync("lease", "grant", "3000")).Stdout).Groups[1].Value;
        await Run("put", "leased/1", "x", "--lease=" + leaseA);
        await Run("put", "leased/2", "y", "--lease=" + leaseA);
        await Run("put", "leased/3", "z", "--lease=" + leaseB);
        await Run("put", "big", new string('B', 20_000));
        var compactAt = (await StoreImageRevision(ctl)) - 3;
        await Run("compaction", compactAt.ToString());
        await Run("put", "a", "4");
        await Run("del", "leased/2");
        await Run("put", "empty", "");
        return compactAt;
    }

    private static async Task<long> StoreImageRevision(Etcdctl ctl)
    {
        var result = await ctl.RunAsync("get", "a", "-w", "json");
        return ScenarioSession.HeaderRevision(result.Stdout);
    }

    [Fact]
    public async Task Ours_to_etcd_and_back_keeps_keys_revisions_hash_compaction_and_leases()
    {
        await using var harness = new SnapshotHarness();

        // 1. our member with history
        var source = harness.Describe(ServerKind.Ours, "source-token", "a1")[0];
        await SnapshotHarness.StartAsync(source);
        var compactAt = await WriteHistoryAsync(source.Etcdctl());
        var original = await StoreImage.ReadAsync(source);
        Assert.Equal(compactAt, original.CompactRevision);
        Assert.Contains(" granted 600 keys leased/1\n", original.Leases);
        output.WriteLine($"ours: revision {original.Revision}, hash {original.HashKv}, compact {original.CompactRevision}");

        // 2. etcdctl snapshot save from ours; etcdctl and akka-etcd agree on its status
        var oursFile = await harness.SaveAsync(source, "from-ours.db");
        var oursStatus = await SnapshotHarness.AssertSameStatusAsync(oursFile);
        Assert.Equal(original.Revision, oursStatus.Revision);

        // 3. etcdctl snapshot restore into etcd 3.4, which starts with the same data
        var etcd = harness.Describe(ServerKind.Etcd, "etcd-token", "e1")[0];
        var restored = await SnapshotHarness.EtcdctlAsync(["snapshot", "restore", oursFile, .. SnapshotHarness.RestoreFlags(etcd)]);
        Assert.True(restored.Succeeded, restored.Stderr);
        await SnapshotHarness.StartAsync(etcd);
        Assert.Equal(original, await StoreImage.ReadAsync(etcd));

        // 4. etcdctl snapshot save from etcd; both tools agree on its status
        var etcdFile = await harness.SaveAsync(etcd, "from-etcd.db");
        var etcdStatus = await SnapshotHarness.AssertSameStatusAsync(etcdFile);
        Assert.Equal(original.Revision, etcdStatus.Revision);

        // 5. akka-etcd snapshot restore into our member, which starts with the same data and etcd's IDs
        var target = harness.Describe(ServerKind.Ours, "target-token", "m1")[0];
        var ourRestore = await SnapshotHarness.AkkaEtcdAsync(["snapshot", "restore", etcdFile, .. SnapshotHarness.RestoreFlags(target)]);
        Assert.True(ourRestore.Succeeded, ourRestore.Stderr);
        Assert.Contains("\"msg\":\"restored snapshot\"", ourRestore.Stderr);
        var etcdIds = await SnapshotHarness.EtcdctlAsync(["snapshot", "restore", etcdFile, .. SnapshotHarness.RestoreFlags(target)[..2],
            "--data-dir", harness.PathOf("ids-by-etcd"), .. SnapshotHarness.RestoreFlags(target)[4..]]);
        Assert.True(etcdIds.Succeeded, etcdIds.Stderr);
        await SnapshotHarness.StartAsync(target);
        Assert.Equal(original, await StoreImage.ReadAsync(target));
        var (memberId, clusterId) = await IdsAsync(target);
        Assert.Contains($"\"cluster-id\":\"{clusterId:x}\"", etcdIds.Stderr);
        Assert.Contains($"\"added-peer-id\":\"{memberId:x}\"", etcdIds.Stderr);

        // 6. the restored member goes on from the restored revision, and its compaction holds
        var put = await target.Etcdctl().RunAsync("put", "after", "restore", "-w", "json");
        Assert.Equal(original.Revision + 1, ScenarioSession.HeaderRevision(put.Stdout));
        var compacted = await target.Etcdctl().RunAsync("get", "a", "--rev", (compactAt - 1).ToString());
        Assert.Contains("required revision has been compacted", compacted.Stderr);
    }

    [Fact]
    public async Task A_snapshot_taken_under_write_load_is_one_point_in_time()
    {
        await using var harness = new SnapshotHarness();
        var source = harness.Describe(ServerKind.Ours, "load-token", "a1")[0];
        await SnapshotHarness.StartAsync(source);
        await WriteHistoryAsync(source.Etcdctl());
        await using var load = PutLoad.Start("load", [source.ClientUrl, source.ClientUrl]);
        await load.WaitForAcknowledgedAsync(20, TimeSpan.FromSeconds(60));
        var file = await harness.SaveAsync(source, "under-load.db");
        await load.WaitForAcknowledgedAsync(load.AcknowledgedCount + 10, TimeSpan.FromSeconds(60));
        await load.StopAsync();
        var status = await SnapshotHarness.AssertSameStatusAsync(file);
        output.WriteLine($"snapshot at revision {status.Revision}; {load.AcknowledgedCount} puts acknowledged");

        var target = harness.Describe(ServerKind.Ours, "restored-token", "m1")[0];
        var restored = await SnapshotHarness.AkkaEtcdAsync(["snapshot", "restore", file, .. SnapshotHarness.RestoreFlags(target)]);
        Assert.True(restored.Succeeded, restored.Stderr);
        await SnapshotHarness.StartAsync(target);

        // The restored member holds exactly the source's state at the snapshot's revision: nothing later, nothing torn.
        var atSnapshot = await StoreImage.ReadAsync(source, status.Revision);
        var image = await StoreImage.ReadAsync(target);
        Assert.Equal(status.Revision, image.Revision);
        Assert.Equal(atSnapshot.HashKv, image.HashKv);
        Assert.Equal(atSnapshot.Keys, image.Keys);
        Assert.True(load.Acknowledged.Values.Any(put => put.Revision > status.Revision), "no put landed after the snapshot");
        Assert.True(load.Acknowledged.Values.Any(put => put.Revision <= status.Revision), "no put landed before the snapshot");
    }

    private static async Task<(ulong MemberId, ulong ClusterId)> IdsAsync(ClusterMember member)
    {
        var status = await member.Etcdctl().RunAsync("endpoint", "status", "-w", "json");
        using var doc = JsonDocument.Parse(status.Stdout);
        var header = doc.RootElement[0].GetProperty("Status").GetProperty("header");
        return (header.GetProperty("member_id").GetUInt64(), header.GetProperty("cluster_id").GetUInt64());
    }

    [GeneratedRegex("lease ([0-9a-f]+) granted")]
    private static partial Regex LeaseId();
}
