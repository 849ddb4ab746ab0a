using System.Buffers.Binary;
using Akka.Etcd.Storage.Bbolt;
using static Akka.Etcd.Storage.Tests.Bbolt.BboltTestFiles;

namespace Akka.Etcd.Storage.Tests.Bbolt;

public sealed class BboltWriterTests : IDisposable
{
    readonly BboltTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    static (ulong Id, ushort Flags, ushort Count, uint Overflow) PageHeader(byte[] file, int pgid)
    {
        var page = file.AsSpan(pgid * 4096);
        return (BinaryPrimitives.ReadUInt64LittleEndian(page), BinaryPrimitives.ReadUInt16LittleEndian(page[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(page[10..]), BinaryPrimitives.ReadUInt32LittleEndian(page[12..]));
    }

    [Fact]
    public void An_empty_file_is_two_meta_pages_an_empty_root_leaf_and_an_empty_freelist()
    {
        var path = _files.Write(_ => { }, txid: 2);
        var bytes = File.ReadAllBytes(path);

        Assert.Equal(4 * 4096, bytes.Length);
        for (var page = 0; page < 2; page++)
        {
            Assert.Equal(((ulong)page, BboltFormat.MetaPageFlag, (ushort)0, 0u), PageHeader(bytes, page));
            var meta = bytes.AsSpan(page * 4096 + 16, 64);
            Assert.Equal(BboltFormat.Magic, BinaryPrimitives.ReadUInt32LittleEndian(meta));
            Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(meta[4..]));
            Assert.Equal(4096u, BinaryPrimitives.ReadUInt32LittleEndian(meta[8..]));
            Assert.Equal(2ul, BinaryPrimitives.ReadUInt64LittleEndian(meta[16..])); // root bucket's page
            Assert.Equal(3ul, BinaryPrimitives.ReadUInt64LittleEndian(meta[32..])); // freelist page
            Assert.Equal(4ul, BinaryPrimitives.ReadUInt64LittleEndian(meta[40..])); // high-water pgid
            Assert.Equal(2ul - (ulong)page, BinaryPrimitives.ReadUInt64LittleEndian(meta[48..])); // txid, then txid - 1
            Assert.Equal(BboltFormat.Fnv1a64(meta[..56]), BinaryPrimitives.ReadUInt64LittleEndian(meta[56..]));
        }
        Assert.Equal((2ul, BboltFormat.LeafPageFlag, (ushort)0, 0u), PageHeader(bytes, 2));
        Assert.Equal((3ul, BboltFormat.FreelistPageFlag, (ushort)0, 0u), PageHeader(bytes, 3));

        var file = _files.Open(path);
        Assert.Equal(2ul, file.TxId);
        Assert.Equal(16384, file.Size);
        Assert.Empty(file.Check());
        Assert.Empty(Elements(file.Root));
    }

    [Fact]
    public void A_small_bucket_is_written_inline_in_its_parents_leaf()
    {
        var path = _files.Write(w =>
        {
            var bucket = w.Root.CreateBucket(U("small"));
            bucket.Sequence = 7;
            bucket.Put(U("a"), U("1"));
            bucket.Put(U("b"), U(""));
        });
        var bytes = File.ReadAllBytes(path);

        // Pages: 0, 1 meta; 2 the root leaf with one element; 3 the freelist. No page for the bucket itself.
        Assert.Equal(4 * 4096, bytes.Length);
        Assert.Equal((2ul, BboltFormat.LeafPageFlag, (ushort)1, 0u), PageHeader(bytes, 2));
        var element = bytes.AsSpan(2 * 4096 + 16, 16);
        Assert.Equal(BboltFormat.BucketLeafFlag, BinaryPrimitives.ReadUInt32LittleEndian(element));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(element[4..])); // key right after the only element
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(element[8..]));
        var valueSize = BinaryPrimitives.ReadUInt32LittleEndian(element[12..]);
        Assert.Equal(16u + 16 + 2 * 16 + 3, valueSize); // bucket header + page header + 2 elements + "a1b"
        var value = bytes.AsSpan(2 * 4096 + 32 + 5, (int)valueSize);
        Assert.Equal(0ul, BinaryPrimitives.ReadUInt64LittleEndian(value)); // root 0 = inline
        Assert.Equal(7ul, BinaryPrimitives.ReadUInt64LittleEndian(value[8..]));
        Assert.Equal(BboltFormat.LeafPageFlag, BinaryPrimitives.ReadUInt16LittleEndian(value[(16 + 8)..]));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(value[(16 + 10)..]));

        var file = _files.Open(path);
        Assert.Empty(file.Check());
        var small = file.Root.Bucket(U("small"))!.Value;
        Assert.True(small.IsInline);
        Assert.Equal([("a", "1", false), ("b", "", false)],
            Elements(small).Select(e => (System.Text.Encoding.UTF8.GetString(e.Key), System.Text.Encoding.UTF8.GetString(e.Value), e.IsBucket)));
        Assert.Equal(U("1"), small.Get(U("a")));
        Assert.Null(small.Get(U("c")));
    }

    [Theory]
    [InlineData(1024, true)] // bbolt inlines a leaf of at most a quarter page
    [InlineData(1025, false)]
    public void A_bucket_is_inline_up_to_a_quarter_page(int nodeSize, bool inline)
    {
        // node size = page header 16 + element 16 + key 1 + value
        var value = new byte[nodeSize - 16 - 16 - 1];
        var path = _files.Write(w => w.Root.CreateBucket(U("b")).Put(U("k"), value));
        var file = _files.Open(path);

        var bucket = file.Root.Bucket(U("b"))!.Value;
        Assert.Equal(inline, bucket.IsInline);
        Assert.Equal(value, bucket.Get(U("k")));
        Assert.Empty(file.Check());
    }

    [Fact]
    public void A_value_bigger_than_a_page_gets_a_node_with_overflow_pages()
    {
        var big = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        var path = _files.Write(w =>
        {
            var bucket = w.Root.CreateBucket(U("b"));
            bucket.Put(Key(1), U("small"));
            bucket.Put(Key(2), big);
            bucket.Put(Key(3), U("after"));
        });
        var bytes = File.ReadAllBytes(path);

        // Page 2: leaf with key 1; pages 3-5: the big element (16 + 16 + 4 + 10,000 bytes = 3 pages, overflow 2);
        // page 6: leaf with key 3; page 7: the bucket's branch; page 8: root leaf; page 9: freelist.
        Assert.Equal((2ul, BboltFormat.LeafPageFlag, (ushort)1, 0u), PageHeader(bytes, 2));
        Assert.Equal((3ul, BboltFormat.LeafPageFlag, (ushort)1, 2u), PageHeader(bytes, 3));
        Assert.Equal((6ul, BboltFormat.LeafPageFlag, (ushort)1, 0u), PageHeader(bytes, 6));
        Assert.Equal((7ul, BboltFormat.BranchPageFlag, (ushort)3, 0u), PageHeader(bytes, 7));
        Assert.Equal(10 * 4096, bytes.Length);

        var file = _files.Open(path);
        Assert.Empty(file.Check());
        Assert.Equal(big, file.Root.Bucket(U("b"))!.Value.Get(Key(2)));
        Assert.Equal(3, Elements(file.Root.Bucket(U("b"))!.Value).Count);
    }

    [Fact]
    public void Many_keys_make_branch_pages_over_branch_pages()
    {
        const int keys = 10_000;
        var value = new byte[100];
        var path = _files.Write(w =>
        {
            var bucket = w.Root.CreateBucket(U("many"));
            for (var i = 0; i < keys; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(value, i);
                bucket.Put(Key(i), value);
            }
        });
        var file = _files.Open(path);
        Assert.Empty(file.Check());

        var bucket = file.Root.Bucket(U("many"))!.Value;
        var root = file.Header(bucket.RootPgid);
        Assert.Equal(BboltFormat.BranchPageFlag, root.Flags);
        // 120-byte elements: 34 per leaf, 295 leaves; 20-byte branch elements: 204 per branch page, so two branch
        // pages under a root branch of two.
        Assert.Equal(2, root.Count);
        var elements = Elements(bucket);
        Assert.Equal(keys, elements.Count);
        for (var i = 0; i < keys; i++)
        {
            Assert.Equal(Key(i), elements[i].Key);
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(elements[i].Value));
        }
        foreach (var i in new[] { 0, 1, 32, 33, 4_321, 9_999 })
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(bucket.Get(Key(i))));
        Assert.Null(bucket.Get(Key(keys)));
        Assert.Null(bucket.Get([0]));
    }

    [Fact]
    public void Nested_buckets_inline_and_not_are_read_back_with_their_sequences()
    {
        var path = _files.Write(w =>
        {
            var outer = w.Root.CreateBucket(U("outer"));
            outer.Sequence = 42;
            outer.CreateBucket(U("a")).Put(U("x"), U("1"));
            var b = outer.CreateBucket(U("b"));
            for (var i = 0; i < 1_000; i++) b.Put(Key(i), new byte[50]);
            outer.Put(U("c"), U("plain"));
            var d = outer.CreateBucket(U("d"));
            d.CreateBucket(U("e")).Put(U("deep"), U("est"));
            d.CreateBucket(U("empty"));
            w.Root.CreateBucket(U("z"));
        });
        var file = _files.Open(path);
        Assert.Empty(file.Check());

        var outer = file.Root.Bucket(U("outer"))!.Value;
        Assert.False(outer.IsInline); // a bucket with sub-buckets is never inline
        Assert.Equal([("a", true), ("b", true), ("c", false), ("d", true)],
            Elements(outer).Select(e => (System.Text.Encoding.UTF8.GetString(e.Key), e.IsBucket)));
        Assert.True(outer.Bucket(U("a"))!.Value.IsInline);
        Assert.Equal(U("1"), outer.Bucket(U("a"))!.Value.Get(U("x")));
        Assert.False(outer.Bucket(U("b"))!.Value.IsInline);
        Assert.Equal(1_000, outer.Bucket(U("b"))!.Value.Count());
        Assert.Null(outer.Bucket(U("c")));
        Assert.Equal(U("plain"), outer.Get(U("c")));
        Assert.Null(outer.Get(U("a"))); // a bucket is not a value
        var d = outer.Bucket(U("d"))!.Value;
        Assert.Equal(U("est"), d.Bucket(U("e"))!.Value.Get(U("deep")));
        Assert.Equal(0, d.Bucket(U("empty"))!.Value.Count());
        Assert.Equal(0, file.Root.Bucket(U("z"))!.Value.Count());

        var outerValue = FindRaw(File.ReadAllBytes(path), file, "outer");
        Assert.Equal(42ul, BinaryPrimitives.ReadUInt64LittleEndian(outerValue.AsSpan(8)));
    }

    static byte[] FindRaw(byte[] bytes, BboltFile file, string name)
    {
        // The root leaf's element for `name`: the bucket value with its header.
        var root = (int)file.RootPgid * 4096;
        var count = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(root + 10));
        for (var i = 0; i < count; i++)
        {
            var at = root + 16 + 16 * i;
            var pos = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 4));
            var keySize = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8));
            var valueSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12));
            if (System.Text.Encoding.UTF8.GetString(bytes, at + pos, keySize) == name)
                return bytes.AsSpan(at + pos + keySize, valueSize).ToArray();
        }
        throw new KeyNotFoundException(name);
    }

    [Fact]
    public void Keys_out_of_order_empty_keys_and_puts_on_the_root_are_refused()
    {
        using var stream = new MemoryStream();
        var writer = BboltWriter.Create(stream);
        var bucket = writer.Root.CreateBucket(U("b"));
        bucket.Put(U("b"), U("1"));
        Assert.Throws<ArgumentException>(() => bucket.Put(U("a"), U("2")));
        Assert.Throws<ArgumentException>(() => bucket.Put(U("b"), U("2")));
        Assert.Throws<ArgumentException>(() => bucket.Put([], U("2")));
        Assert.Throws<ArgumentException>(() => bucket.Put(new byte[BboltFormat.MaxKeySize + 1], U("2")));
        Assert.Throws<InvalidOperationException>(() => writer.Root.Put(U("c"), U("3")));
        Assert.Throws<ArgumentException>(() => writer.Root.CreateBucket(U("a")));
        writer.Complete();
        Assert.Throws<InvalidOperationException>(() => bucket.Put(U("z"), U("1")));
        Assert.Throws<InvalidOperationException>(() => writer.Complete());
    }

    [Fact]
    public void The_same_input_gives_the_same_bytes()
    {
        void Fill(BboltWriter w)
        {
            var b = w.Root.CreateBucket(U("b"));
            for (var i = 0; i < 2_000; i++) b.Put(Key(i), U($"value {i}"));
        }
        Assert.Equal(File.ReadAllBytes(_files.Write(Fill)), File.ReadAllBytes(_files.Write(Fill)));
    }

    [Fact]
    public void A_page_size_must_be_a_power_of_two_from_4_KiB_and_the_stream_seekable()
    {
        Assert.Throws<ArgumentException>(() => BboltWriter.Create(new MemoryStream(), 1000));
        Assert.Throws<ArgumentException>(() => BboltWriter.Create(new MemoryStream(), 2048));
        var path = _files.Write(_ => { });
        using var readOnly = File.OpenRead(path);
        Assert.Throws<ArgumentException>(() => BboltWriter.Create(readOnly));

        using var stream = new MemoryStream();
        var writer = BboltWriter.Create(stream, 16384);
        writer.Root.CreateBucket(U("b")).Put(U("k"), new byte[20_000]);
        Assert.Equal(6 * 16384, writer.Complete());
    }
}
