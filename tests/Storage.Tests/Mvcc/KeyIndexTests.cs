using Akka.Etcd.Storage.Mvcc.Index;

namespace Akka.Etcd.Storage.Tests.Mvcc;

public sealed class KeyIndexTests
{
    sealed class ByteComparer : IComparer<byte[]>
    {
        public int Compare(byte[]? x, byte[]? y) => KeyIndex.CompareKeys(x, y);
    }

    static byte[] RandomKey(Random random)
    {
        var key = new byte[random.Next(1, 6)];
        random.NextBytes(key);
        return key;
    }

    [Fact]
    public void Inserts_lookups_and_range_scans_match_a_sorted_reference_across_leaf_splits()
    {
        var random = new Random(1234);
        var index = new KeyIndex();
        var reference = new SortedSet<byte[]>(new ByteComparer());
        for (var i = 0; i < 20_000; i++)
        {
            var key = RandomKey(random);
            index.GetOrAdd(key).AddPut(i + 2, 0, i + 2, 1);
            reference.Add(key);
        }
        Assert.Equal(reference.Count, index.Count);
        var sorted = reference.ToArray();
        Assert.Equal(Hex(sorted), Hex(Collect(index.All())));

        for (var i = 0; i < 200; i++)
        {
            var from = RandomKey(random);
            var to = RandomKey(random);
            var start = LowerBound(sorted, from);
            var expected = KeyIndex.CompareKeys(from, to) < 0 ? sorted[start..Math.Max(start, LowerBound(sorted, to))] : [];
            Assert.Equal(Hex(expected), Hex(Collect(index.Range(from, to))));
            Assert.Equal(Hex(sorted[start..]), Hex(Collect(index.Range(from, null))));
            Assert.Equal(reference.Contains(from), index.Find(from) is not null);
        }
    }

    [Fact]
    public void Ascending_inserts_fill_leaves_and_later_inserts_between_them_stay_ordered()
    {
        var index = new KeyIndex();
        const int keys = 10 * KeyIndex.LeafCapacity + 5;
        for (var i = 0; i < keys; i++)
            index.GetOrAdd(BigEndian(2 * i)).AddPut(i + 2, 0, i + 2, 1);
        Assert.Equal(11, index.LeafCount);

        // odd keys land inside full leaves (splits), then one more append after the last key
        for (var i = 0; i < keys; i += 7)
            index.GetOrAdd(BigEndian(2 * i + 1)).AddPut(keys + i + 2, 0, keys + i + 2, 1);
        index.GetOrAdd(BigEndian(2 * keys)).AddPut(3 * keys, 0, 3 * keys, 1);

        var all = Collect(index.All());
        Assert.Equal(index.Count, all.Length);
        for (var i = 1; i < all.Length; i++) Assert.True(KeyIndex.CompareKeys(all[i - 1], all[i]) < 0);
        for (var i = 0; i < keys; i++) Assert.NotNull(index.Find(BigEndian(2 * i)));
        Assert.Null(index.Find(BigEndian(3)));
        Assert.NotNull(index.Find(BigEndian(2 * keys)));
    }

    static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    static string Hex(byte[][] keys) => string.Join(',', keys.Select(Convert.ToHexString));

    static int LowerBound(byte[][] sorted, byte[] key)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (KeyIndex.CompareKeys(sorted[mid], key) < 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    [Fact]
    public void Key_entry_visibility_follows_generations()
    {
        var entry = new KeyEntry("k"u8.ToArray());
        entry.AddPut(2, 0, 2, 1);
        entry.AddPut(4, 1, 2, 2);
        entry.AddTombstone(6, 0);
        entry.AddPut(8, 0, 8, 1);
        Assert.False(entry.TryGetVisible(1, out _));
        Assert.True(entry.TryGetVisible(3, out var r) && r.Is(2, 0));
        Assert.True(entry.TryGetVisible(5, out r) && r.Is(4, 1));
        Assert.False(entry.TryGetVisible(7, out _));
        Assert.True(entry.TryGetVisible(100, out r) && r.Is(8, 0));
        Assert.Equal(8, entry.CreatedMain);
        Assert.Equal(1, entry.Version);
        Assert.True(entry.Contains(4, 1));
        Assert.False(entry.Contains(4, 0));
    }

    public static TheoryData<long, string[], bool> Compactions => new()
    {
        // revisions: 2, 4, 6t, 8 ; compact at -> remaining, emptied
        { 1, ["2.0", "4.0", "6.0t", "8.0"], false },
        { 3, ["2.0", "4.0", "6.0t", "8.0"], false },
        { 4, ["4.0", "6.0t", "8.0"], false },
        { 5, ["4.0", "6.0t", "8.0"], false },
        { 6, ["8.0"], false },
        { 7, ["8.0"], false },
        { 9, ["8.0"], false },
    };

    [Theory]
    [MemberData(nameof(Compactions))]
    public void Key_entry_compaction_keeps_the_newest_live_revision(long at, string[] remaining, bool emptied)
    {
        var entry = new KeyEntry("k"u8.ToArray());
        entry.AddPut(2, 0, 2, 1);
        entry.AddPut(4, 0, 2, 2);
        entry.AddTombstone(6, 0);
        entry.AddPut(8, 0, 8, 1);
        Assert.Equal(emptied, entry.Compact(at));
        Assert.Equal(remaining, Enumerable.Range(0, entry.RevisionCount).Select(i => entry.RevisionAt(i).ToString()));
    }

    [Fact]
    public void Index_compaction_removes_keys_deleted_at_or_before_the_revision()
    {
        var index = new KeyIndex();
        for (var i = 0; i < 1_000; i++)
        {
            var entry = index.GetOrAdd(BitConverter.GetBytes(i));
            entry.AddPut(2 + i, 0, 2 + i, 1);
            if (i % 2 == 0) entry.AddTombstone(5_000 + i, 0);
        }
        index.Compact(5_500);
        // even keys deleted at 5000..5500 (251 of them) are gone, those deleted later stay
        Assert.Equal(1_000 - 251, index.Count);
        Assert.Equal(index.Count, Collect(index.All()).Length);
        Assert.Null(index.Find(BitConverter.GetBytes(0)));
        Assert.NotNull(index.Find(BitConverter.GetBytes(998)));
    }

    static byte[][] Collect(KeyIndex.RangeEnumerable range)
    {
        var keys = new List<byte[]>();
        foreach (var entry in range) keys.Add(entry.Key);
        return keys.ToArray();
    }
}
