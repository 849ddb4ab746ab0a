namespace Akka.Etcd.Storage.Mvcc.Index;

/// <summary>
/// In-memory ordered index of every key to its revisions (etcd's treeIndex, mvcc/index.go), ordered by unsigned
/// lexicographic key bytes. Storage is a two-level sorted list: an array of leaves, each a sorted array of up to
/// <see cref="LeafCapacity"/> entries. Lookups are two binary searches (O(log n)); a range scan costs O(log n + k);
/// an insert shifts at most one leaf plus, on a leaf split, the leaf array (n / 64 references), which stays cheap up
/// to tens of millions of keys. Per key: one <see cref="KeyEntry"/>, its key array and one leaf slot (8 bytes).
/// NOT thread-safe.
/// </summary>
internal sealed class KeyIndex
{
    /// <summary>Maximum entries per leaf.</summary>
    public const int LeafCapacity = 128;

    sealed class Leaf
    {
        public readonly KeyEntry[] Items = new KeyEntry[LeafCapacity];
        public int Count;
        public byte[] FirstKey => Items[0].Key;
    }

    Leaf[] _leaves = new Leaf[4];
    int _leafCount;

    /// <summary>Number of keys held (live or with only history left).</summary>
    public int Count { get; private set; }

    /// <summary>Number of leaves (how full they are: <see cref="Count"/> / (LeafCount × <see cref="LeafCapacity"/>)).</summary>
    internal int LeafCount => _leafCount;

    /// <summary>Unsigned lexicographic comparison of key bytes (etcd's bytes.Compare).</summary>
    public static int CompareKeys(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceCompareTo(b);

    /// <summary>The entry of <paramref name="key"/>, or null.</summary>
    public KeyEntry? Find(ReadOnlySpan<byte> key)
    {
        if (_leafCount == 0) return null;
        var leaf = _leaves[FindLeaf(key)];
        var pos = LowerBound(leaf, key);
        return pos < leaf.Count && CompareKeys(leaf.Items[pos].Key, key) == 0 ? leaf.Items[pos] : null;
    }

    /// <summary>The entry of <paramref name="key"/>, created (with a copy of the key) when missing.</summary>
    public KeyEntry GetOrAdd(ReadOnlySpan<byte> key)
    {
        if (_leafCount == 0)
        {
            var first = new Leaf();
            _leaves[0] = first;
            _leafCount = 1;
        }
        var leafIndex = FindLeaf(key);
        var leaf = _leaves[leafIndex];
        var pos = LowerBound(leaf, key);
        if (pos < leaf.Count && CompareKeys(leaf.Items[pos].Key, key) == 0) return leaf.Items[pos];

        var entry = new KeyEntry(key.ToArray());
        if (leaf.Count == LeafCapacity && pos == LeafCapacity && leafIndex == _leafCount - 1)
        {
            // Appending past the last key (sequential keys, the restore of an ordered load): start a new leaf instead of
            // splitting, so appended leaves stay full (8 bytes of leaf slot per key instead of 16).
            leaf = InsertLeafAfter(leafIndex);
            pos = 0;
        }
        else if (leaf.Count == LeafCapacity)
        {
            var right = SplitLeaf(leafIndex);
            if (pos > leaf.Count)
            {
                pos -= leaf.Count;
                leaf = right;
            }
        }
        Array.Copy(leaf.Items, pos, leaf.Items, pos + 1, leaf.Count - pos);
        leaf.Items[pos] = entry;
        leaf.Count++;
        Count++;
        return entry;
    }

    /// <summary>
    /// The entries with keys in [<paramref name="key"/>, <paramref name="end"/>) in key order; <paramref name="end"/> null
    /// means no upper bound (etcd's "\0" range end). An empty or inverted interval yields nothing.
    /// </summary>
    public RangeEnumerable Range(byte[] key, byte[]? end) => new(this, key, end);

    /// <summary>Visits every entry in key order.</summary>
    public RangeEnumerable All() => new(this, [], null);

    /// <summary>
    /// Compacts every key at <paramref name="atRevision"/> (<see cref="KeyEntry.Compact"/>) and removes keys left without
    /// revisions. O(n).
    /// </summary>
    public void Compact(long atRevision)
    {
        var write = 0;
        for (var li = 0; li < _leafCount; li++)
        {
            var leaf = _leaves[li];
            var kept = 0;
            for (var i = 0; i < leaf.Count; i++)
            {
                var entry = leaf.Items[i];
                if (entry.Compact(atRevision))
                {
                    Count--;
                    continue;
                }
                leaf.Items[kept++] = entry;
            }
            Array.Clear(leaf.Items, kept, leaf.Count - kept);
            leaf.Count = kept;
            if (kept > 0) _leaves[write++] = leaf;
        }
        Array.Clear(_leaves, write, _leafCount - write);
        _leafCount = write;
    }

    Leaf SplitLeaf(int leafIndex)
    {
        var leaf = _leaves[leafIndex];
        var half = leaf.Count / 2;
        var moved = leaf.Count - half;
        var right = InsertLeafAfter(leafIndex);
        Array.Copy(leaf.Items, half, right.Items, 0, moved);
        Array.Clear(leaf.Items, half, moved);
        leaf.Count = half;
        right.Count = moved;
        return right;
    }

    /// <summary>Inserts an empty leaf after <paramref name="leafIndex"/>; the caller fills it before any lookup.</summary>
    Leaf InsertLeafAfter(int leafIndex)
    {
        var right = new Leaf();
        if (_leafCount == _leaves.Length) Array.Resize(ref _leaves, _leaves.Length * 2);
        Array.Copy(_leaves, leafIndex + 1, _leaves, leafIndex + 2, _leafCount - leafIndex - 1);
        _leaves[leafIndex + 1] = right;
        _leafCount++;
        return right;
    }

    /// <summary>Index of the last leaf whose first key is &lt;= key (0 when key is below all).</summary>
    int FindLeaf(ReadOnlySpan<byte> key)
    {
        int lo = 1, hi = _leafCount - 1, found = 0;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (CompareKeys(_leaves[mid].FirstKey, key) <= 0)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    /// <summary>First position in the leaf whose key is &gt;= key.</summary>
    static int LowerBound(Leaf leaf, ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = leaf.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (CompareKeys(leaf.Items[mid].Key, key) < 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>A key range of the index, enumerable with foreach without allocation.</summary>
    internal readonly struct RangeEnumerable(KeyIndex index, byte[] key, byte[]? end)
    {
        /// <summary>Starts the enumeration.</summary>
        public Enumerator GetEnumerator() => new(index, key, end);
    }

    /// <summary>Enumerator over a key range; the index must not change during enumeration.</summary>
    internal struct Enumerator
    {
        readonly KeyIndex _index;
        readonly byte[]? _end;
        int _leaf;
        int _pos;
        KeyEntry? _current;

        internal Enumerator(KeyIndex index, byte[] key, byte[]? end)
        {
            _index = index;
            _end = end;
            _current = null;
            if (index._leafCount == 0 || (end is not null && CompareKeys(end, key) <= 0))
            {
                _leaf = index._leafCount;
                _pos = 0;
                return;
            }
            _leaf = index.FindLeaf(key);
            _pos = LowerBound(index._leaves[_leaf], key) - 1;
        }

        /// <summary>The current entry.</summary>
        public readonly KeyEntry Current => _current!;

        /// <summary>Advances to the next entry inside the range.</summary>
        public bool MoveNext()
        {
            if (_leaf >= _index._leafCount) return false;
            _pos++;
            var leaf = _index._leaves[_leaf];
            if (_pos >= leaf.Count)
            {
                _leaf++;
                _pos = 0;
                if (_leaf >= _index._leafCount) return false;
                leaf = _index._leaves[_leaf];
            }
            var entry = leaf.Items[_pos];
            if (_end is not null && CompareKeys(entry.Key, _end) >= 0)
            {
                _leaf = _index._leafCount;
                return false;
            }
            _current = entry;
            return true;
        }
    }
}
