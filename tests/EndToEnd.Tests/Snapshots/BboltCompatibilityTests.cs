using System.Buffers.Binary;
using System.Text;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.EtcdDb;

namespace Akka.Etcd.EndToEnd.Tests.Snapshots;

/// <summary>
/// Files from our <see cref="BboltWriter"/> read by real bbolt: <c>etcdctl snapshot status</c> opens them with bbolt,
/// runs bbolt's <c>Tx.Check</c> (every page reachable once or free) and walks every bucket; it must accept them and
/// print what <see cref="EtcdDbStatus"/> computes. Covers what etcd's own snapshots rarely hold: nested and deeply
/// nested buckets, inline buckets, overflow pages, three-level trees, a larger page size.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BboltCompatibilityTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bbolt-compat-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static byte[] U(string text) => Encoding.UTF8.GetBytes(text);

    private async Task AssertBboltReadsAsync(string name, Action<BboltWriter> fill, int pageSize = 4096)
    {
        var path = Path.Combine(_root, name);
        await using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            var writer = BboltWriter.Create(stream, pageSize);
            fill(writer);
            writer.Complete();
        }
        EtcdDbStatus expected;
        using (var file = BboltFile.Open(path))
            expected = EtcdDbStatus.Compute(file);
        var status = await SnapshotHarness.EtcdctlAsync("snapshot", "status", path, "-w", "json");
        Assert.True(status.Succeeded, $"bbolt refused {name}: {status.Stderr}");
        Assert.Equal(
            $"{{\"hash\":{expected.Hash},\"revision\":{expected.Revision},\"totalKey\":{expected.TotalKey},\"totalSize\":{expected.TotalSize}}}\n",
            status.Stdout);
        var ours = await SnapshotHarness.AkkaEtcdAsync("snapshot", "status", path, "-w", "json");
        Assert.Equal(status.Stdout, ours.Stdout);
    }

    [Fact]
    public Task Nested_inline_and_deep_buckets() => AssertBboltReadsAsync("nested", w =>
    {
        var outer = w.Root.CreateBucket(U("outer"));
        outer.Sequence = 9;
        outer.CreateBucket(U("inline")).Put(U("x"), U("1"));
        var big = outer.CreateBucket(U("large"));
        for (var i = 0; i < 3_000; i++) big.Put(U($"k{i:D6}"), new byte[40]);
        outer.Put(U("plain"), U("value"));
        var level = outer.CreateBucket(U("z"));
        for (var depth = 0; depth < 5; depth++)
        {
            level.Put(U("at"), U(depth.ToString()));
            level = level.CreateBucket(U("deeper"));
        }
        w.Root.CreateBucket(U("vacant"));
    });

    [Fact]
    public Task Overflow_pages_and_a_three_level_tree() => AssertBboltReadsAsync("big", w =>
    {
        var many = w.Root.CreateBucket(U("many"));
        var key = new byte[8];
        for (var i = 0; i < 120_000; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(key, i);
            many.Put(key, key);
        }
        var values = w.Root.CreateBucket(U("values"));
        for (var i = 0; i < 40; i++) values.Put(U($"v{i:D3}"), Enumerable.Repeat((byte)i, 1_000 * i).ToArray());
    });

    [Fact]
    public Task An_etcd_layout_with_a_16_KiB_page_size() => AssertBboltReadsAsync("etcd-16k", w =>
    {
        w.Root.CreateBucket(U("alarm"));
        var keys = w.Root.CreateBucket(U("key"));
        var revision = new byte[17];
        for (var i = 2; i < 5_000; i++)
        {
            EtcdDbLayout.WriteRevisionKey(revision, i, 0, tombstone: false);
            keys.Put(revision, U($"value {i}"));
        }
        w.Root.CreateBucket(U("meta")).Put(U("consistent_index"), new byte[8]);
    }, pageSize: 16384);
}
