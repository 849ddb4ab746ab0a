using System.Text.Json;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Snapshots;

/// <summary>
/// etcd's documented disaster recovery, on our executable: one snapshot file, <c>akka-etcd snapshot restore</c> once per
/// member with its own <c>--name</c> and <c>--initial-advertise-peer-urls</c> and the same <c>--initial-cluster</c> and
/// token, then the three members started as a new cluster.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection(Cluster.ClusterProcessCollection.Name)]
public sealed class SnapshotClusterRestoreTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_members_restored_from_one_file_form_a_cluster_with_the_same_data()
    {
        await using var harness = new SnapshotHarness();
        var source = harness.Describe(ServerKind.Ours, "single", "s1")[0];
        await SnapshotHarness.StartAsync(source);
        var ctl = source.Etcdctl();
        for (var i = 0; i < 50; i++) Assert.True((await ctl.RunAsync("put", $"k/{i:D2}", $"v{i}")).Succeeded);
        Assert.True((await ctl.RunAsync("del", "k/1", "k/2")).Succeeded);
        var lease = (await ctl.RunAsync("lease", "grant", "900")).Stdout.Split(' ')[1];
        Assert.True((await ctl.RunAsync("put", "leased", "v", "--lease=" + lease)).Succeeded);
        Assert.True((await ctl.RunAsync("compaction", "20")).Succeeded);
        var original = await StoreImage.ReadAsync(source);
        var file = await harness.SaveAsync(source, "backup.db");
        await source.DisposeAsync();

        var members = harness.Describe(ServerKind.Ours, "restored-cluster", "m1", "m2", "m3");
        foreach (var member in members)
        {
            var restored = await SnapshotHarness.AkkaEtcdAsync(["snapshot", "restore", file, .. SnapshotHarness.RestoreFlags(member)]);
            Assert.True(restored.Succeeded, restored.Stderr);
            Assert.Equal(3, restored.Stderr.Split('\n').Count(line => line.Contains("\"msg\":\"added member\"")));
        }
        await SnapshotHarness.StartAsync([.. members]);

        var list = await members[0].Etcdctl().RunAsync("member", "list", "-w", "json");
        using (var doc = JsonDocument.Parse(list.Stdout))
        {
            var names = doc.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("name").GetString()).Order();
            Assert.Equal(["m1", "m2", "m3"], names);
        }
        foreach (var member in members)
        {
            var image = await StoreImage.ReadAsync(member);
            output.WriteLine($"{member.Name}: revision {image.Revision}, hash {image.HashKv}, compact {image.CompactRevision}");
            Assert.Equal(original, image);
        }

        // The new cluster takes writes and replicates them.
        var put = await members[1].Etcdctl().RunAsync("put", "after", "restore", "-w", "json");
        Assert.Equal(original.Revision + 1, ScenarioSession.HeaderRevision(put.Stdout));
        foreach (var member in members)
        {
            var get = await member.Etcdctl().RunAsync("get", "after", "--print-value-only");
            Assert.Equal("restore\n", get.Stdout);
        }
    }
}
