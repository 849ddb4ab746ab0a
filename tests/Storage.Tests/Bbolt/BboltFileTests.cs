using System.Buffers.Binary;
using System.Text;
using Akka.Etcd.Storage.Bbolt;
using static Akka.Etcd.Storage.Tests.Bbolt.BboltTestFiles;

namespace Akka.Etcd.Storage.Tests.Bbolt;

public sealed class BboltFileTests : IDisposable
{
    /// <summary>Written by etcd 3.4.23's <c>etcdctl snapshot save</c>: puts a=1, b=2, a=3, del b, put c=4 with a lease,
    /// compaction 3, put d=5 (SHA-256 trailer included).</summary>
    public static readonly string SmallEtcdSnapshot = Path.Combine(AppContext.BaseDirectory, "EtcdDb", "Fixtures", "etcd34-small.db");

    /// <summary>Written by etcd 3.4.23's <c>etcdctl snapshot save</c>: 1,500 keys in txns, deletes, two leases, a 20 KB
    /// value, compaction 10 (branch pages, an overflow page run, free pages, no stored freelist).</summary>
    public static readonly string LargeEtcdSnapshot = Path.Combine(AppContext.BaseDirectory, "EtcdDb", "Fixtures", "etcd34-large.db");

    readonly BboltTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    static string S(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public void Reads_a_snapshot_etcd_wrote_with_its_buckets_inline_and_its_trailer_ignored()
    {
        var file = _files.Open(SmallEtcdSnapshot);

        Assert.Equal(4096, file.PageSize);
        Assert.Equal(5ul, file.HighWaterPgid);
        Assert.Equal(20480, file.Size);
        Assert.Equal(20480 + 32, file.FileLength);
        Assert.Equal(BboltFormat.NoFreelist, file.FreelistPgid); // etcd on Linux does not store its freelist
        Assert.Equal(10ul, file.TxId);
        Assert.Empty(file.Check());
        Assert.Equal(["alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease", "members", "members_removed", "meta"],
            Elements(file.Root).Select(e => S(e.Key)));
        Assert.All(Elements(file.Root), e => Assert.True(e.IsBucket));

        var key = file.Root.Bucket(U("key"))!.Value;
        Assert.True(key.IsInline);
        var rows = Elements(key);
        Assert.Equal(6, rows.Count);
        Assert.Equal(18, rows[3].Key.Length); // the delete of b at revision 5: tombstone mark
        Assert.Equal((byte)'t', rows[3].Key[17]);
        Assert.Equal("3.4.0", S(file.Root.Bucket(U("cluster"))!.Value.Get(U("clusterVersion"))));
        Assert.Equal("{\"id\":13049071153751544597,\"peerURLs\":[\"http://127.0.0.1:24380\"],\"name\":\"e1\",\"clientURLs\":[\"http://127.0.0.1:24379\"]}",
            S(file.Root.Bucket(U("members"))!.Value.Get(U("b5179d13d0285315"))));
        var meta = file.Root.Bucket(U("meta"))!.Value;
        Assert.Equal(12, BinaryPrimitives.ReadInt64BigEndian(meta.Get(U("consistent_index"))));
        Assert.Equal(3, BinaryPrimitives.ReadInt64BigEndian(meta.Get(U("finishedCompactRev"))));
    }

    [Fact]
    public void Reads_a_larger_etcd_snapshot_with_branch_and_overflow_pages()
    {
        var file = _files.Open(LargeEtcdSnapshot);

        Assert.Empty(file.Check());
        Assert.Equal(204800, file.Size);
        var key = file.Root.Bucket(U("key"))!.Value;
        Assert.False(key.IsInline);
        Assert.Equal(BboltFormat.BranchPageFlag, file.Header(key.RootPgid).Flags);
        var rows = Elements(key);
        Assert.Equal(1516, rows.Count);
        Assert.Equal(rows.Select(r => r.Key).OrderBy(k => k, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))), rows.Select(r => r.Key));
        Assert.Contains(rows, r => r.Value.Length > 20_000); // the big value, on a run of overflow pages
        Assert.Equal(2, file.Root.Bucket(U("lease"))!.Value.Count());
    }

    [Fact]
    public void A_file_shorter_than_a_page_or_without_the_magic_is_an_invalid_database()
    {
        var path = _files.Copy(SmallEtcdSnapshot, _ => { });
        File.WriteAllBytes(path, new byte[100]);
        Assert.Equal("invalid database", Assert.Throws<BboltFormatException>(() => BboltFile.Open(path)).Message);
        File.WriteAllBytes(path, new byte[8192]);
        Assert.Equal("invalid database", Assert.Throws<BboltFormatException>(() => BboltFile.Open(path)).Message);
    }

    [Fact]
    public void Both_meta_pages_bad_report_the_error_of_meta_page_0()
    {
        var source = _files.Write(w => w.Root.CreateBucket(U("b")).Put(U("k"), U("v")));
        var version = _files.Copy(source, bytes =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16 + 4), 3);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4096 + 16 + 4), 3);
            Resign(bytes);
        });
        Assert.Equal("version mismatch", Assert.Throws<BboltFormatException>(() => BboltFile.Open(version)).Message);
        var checksum = _files.Copy(source, bytes =>
        {
            bytes[16 + 56] ^= 1;
            bytes[4096 + 16 + 56] ^= 1;
        });
        Assert.Equal("checksum error", Assert.Throws<BboltFormatException>(() => BboltFile.Open(checksum)).Message);
    }

    [Fact]
    public void A_torn_meta_page_falls_back_to_the_other()
    {
        var source = _files.Write(w => w.Root.CreateBucket(U("b")).Put(U("k"), U("v")), txid: 8);
        var torn = _files.Copy(source, bytes => bytes[16 + 20] ^= 0xFF); // meta 0 (txid 8) no longer matches its checksum

        var file = _files.Open(torn);
        Assert.Equal(7ul, file.TxId);
        Assert.Equal(U("v"), file.Root.Bucket(U("b"))!.Value.Get(U("k")));
    }

    [Fact]
    public void Check_finds_an_unreachable_page_a_reachable_freed_page_and_a_double_free()
    {
        var source = _files.Write(w =>
        {
            var b = w.Root.CreateBucket(U("b"));
            for (var i = 0; i < 500; i++) b.Put(Key(i), new byte[64]);
        });
        var file = _files.Open(source);
        var freelist = (int)file.FreelistPgid;
        var highWater = (int)file.HighWaterPgid;
        Assert.Empty(file.Check());

        // One more page below a raised high-water mark that nothing reaches and the freelist does not list.
        var unreachable = _files.Copy(source, _ => { });
        var bytes = File.ReadAllBytes(unreachable).Concat(new byte[4096]).ToArray();
        foreach (var meta in new[] { 16, 4096 + 16 }) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(meta + 40), (ulong)highWater + 1);
        Resign(bytes);
        File.WriteAllBytes(unreachable, bytes);
        Assert.Equal([$"page {highWater}: unreachable unfreed"], _files.Open(unreachable).Check());

        // The freelist lists page 2 (a leaf of bucket b) twice.
        var freed = _files.Copy(source, data =>
        {
            var page = data.AsSpan(freelist * 4096);
            BinaryPrimitives.WriteUInt16LittleEndian(page[10..], 2);
            BinaryPrimitives.WriteUInt64LittleEndian(page[16..], 2);
            BinaryPrimitives.WriteUInt64LittleEndian(page[24..], 2);
        });
        Assert.Equal(["page 2: already freed", "page 2: reachable freed"], _files.Open(freed).Check());
    }

    [Fact]
    public void A_branch_pointing_past_the_file_is_an_error_not_a_crash()
    {
        var source = _files.Write(w =>
        {
            var b = w.Root.CreateBucket(U("b"));
            for (var i = 0; i < 500; i++) b.Put(Key(i), new byte[64]);
        });
        var root = _files.Open(source).Root.Bucket(U("b"))!.Value.RootPgid;
        var broken = _files.Copy(source, data => BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan((int)root * 4096 + 16 + 8), 1_000_000));

        var file = _files.Open(broken);
        Assert.Throws<BboltFormatException>(() => Elements(file.Root.Bucket(U("b"))!.Value));
        Assert.Throws<BboltFormatException>(() => file.Check());
    }
}
