using System.Buffers.Binary;
using Akka.Etcd.Storage.Mvcc.Index;
using BenchmarkDotNet.Attributes;

namespace Akka.Etcd.MicroBenchmarks.Index;

/// <summary>
/// The in-memory key index (src/Storage/Mvcc/Index/KeyIndex.cs: a sorted list of leaves of 128 entries, binary searched)
/// with 1,000,000 keys of 8 bytes (big-endian even numbers 0, 2, 4, ...), inserted in a random order, one revision
/// each. Operations pick keys in a scattered order too, so they miss the CPU caches as a real workload does: each is
/// bounded by two binary searches (leaf array, then leaf) over memory that is not in L1/L2, plus the entry update.
/// The setup prints the index's heap size per key (<see cref="GC.GetTotalMemory(bool)"/> before and after building it).
/// The index is internal to Akka.Etcd.Storage, which makes this assembly a friend (InternalsVisibleTo).
/// </summary>
[MemoryDiagnoser]
public class KeyIndexBenchmarks
{
    /// <summary>Keys in the index before the benchmark starts.</summary>
    public const int KeyCount = 1_000_000;

    private const int RangeWidth = 100;
    private const long KeyStride = 387_420_489; // coprime with KeyCount: visits every key in a scattered order

    private readonly byte[] _key = new byte[8];
    private readonly byte[] _rangeEnd = new byte[8];
    private readonly byte[] _newKey = new byte[12];
    private KeyIndex _index = null!;
    private long _revision;
    private long _cursor;
    private uint _inserted;

    /// <summary>Builds the 1,000,000-key index, prints its bytes per key, and checks that get and range see the keys.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        _index = KeyIndexLoad.Build(KeyCount, _key, ref _revision);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"// KeyIndex memory: {(after - before) / (double)KeyCount:F1} bytes/key " +
            $"({KeyCount:N0} keys of 8 bytes, one revision each; {(after - before) / (1024.0 * 1024):F1} MiB)");
        KeyIndexLoad.WriteKey(_key, 2 * 12_345);
        KeyIndexLoad.WriteKey(_rangeEnd, 2 * (12_345 + RangeWidth));
        if (!KeyIndexLoad.Get(_index, _key, _revision) || KeyIndexLoad.CountVisible(_index, _key, _rangeEnd, _revision) != RangeWidth)
            throw new InvalidOperationException("the key index does not hold the expected keys");
    }

    /// <summary>Prints how far the index grew during the run (new-key puts add keys, existing-key puts revisions).</summary>
    [GlobalCleanup]
    public void Cleanup() =>
        Console.WriteLine($"// KeyIndexBenchmarks: {_index.Count:N0} keys, revision {_revision:N0} at cleanup");

    /// <summary>A put of an existing key: lookup, then a new revision appended to its entry (its older-revision array
    /// grows by doubling, so over a run each key gathers a few revisions, as in an uncompacted store).</summary>
    [Benchmark]
    public long PutExistingKey()
    {
        KeyIndexLoad.WriteKey(_key, 2 * NextKey());
        KeyIndexLoad.Put(_index, _key, ++_revision);
        return _revision;
    }

    /// <summary>A put of a new key (12 bytes: an odd number between two existing keys, plus a unique suffix): lookup,
    /// a new entry and key copy, and the shift of up to 128 slots in its leaf (or a leaf split). The index keeps
    /// growing over the run (printed at cleanup).</summary>
    [Benchmark]
    public long PutNewKey()
    {
        BinaryPrimitives.WriteInt64BigEndian(_newKey, 2 * NextKey() + 1);
        BinaryPrimitives.WriteUInt32BigEndian(_newKey.AsSpan(8), _inserted++);
        KeyIndexLoad.Put(_index, _newKey, ++_revision);
        return _revision;
    }

    /// <summary>Whether an existing key is visible at the current revision: lookup plus the visible-revision check.</summary>
    [Benchmark]
    public bool GetAtCurrentRevision()
    {
        KeyIndexLoad.WriteKey(_key, 2 * NextKey());
        return KeyIndexLoad.Get(_index, _key, _revision);
    }

    /// <summary>Walk over [key, key + 100 keys) counting the keys visible at the current revision.</summary>
    [Benchmark]
    public int RangeHundredKeys()
    {
        var first = NextKey() % (KeyCount - RangeWidth);
        KeyIndexLoad.WriteKey(_key, 2 * first);
        KeyIndexLoad.WriteKey(_rangeEnd, 2 * (first + RangeWidth));
        return KeyIndexLoad.CountVisible(_index, _key, _rangeEnd, _revision);
    }

    private long NextKey() => _cursor = (_cursor + KeyStride) % KeyCount;
}

/// <summary>
/// Compaction of the whole key index (KeyIndex.Compact at the current revision) with 1,000,000 keys that each hold one
/// superseded revision and one current one: one operation drops 1,000,000 revisions, a linear pass over every leaf and
/// entry, bounded by memory bandwidth and cache misses. The iteration setup (not measured) gives every key its new
/// revision again, so each iteration is one compaction (InvocationCount 1).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class KeyIndexCompactBenchmarks
{
    private readonly byte[] _key = new byte[8];
    private KeyIndex _index = null!;
    private long _revision;

    /// <summary>Builds the 1,000,000-key index.</summary>
    [GlobalSetup]
    public void Setup() => _index = KeyIndexLoad.Build(KeyIndexBenchmarks.KeyCount, _key, ref _revision);

    /// <summary>Puts every key once more, leaving one superseded revision per key for the compaction to drop.</summary>
    [IterationSetup]
    public void SupersedeEveryKey()
    {
        for (var i = 0; i < KeyIndexBenchmarks.KeyCount; i++)
        {
            KeyIndexLoad.WriteKey(_key, 2L * i);
            KeyIndexLoad.Put(_index, _key, ++_revision);
        }
    }

    /// <summary>One compaction at the current revision over the 1,000,000 keys.</summary>
    [Benchmark]
    public int CompactAtCurrentRevision()
    {
        _index.Compact(_revision);
        return _index.Count;
    }
}

/// <summary>Builds the benchmark key indexes and performs the index's share of the store's operations: keys are 8-byte
/// big-endian even numbers, inserted in a random order (fixed seed), so leaves are filled as by a real workload rather
/// than by an append in key order.</summary>
internal static class KeyIndexLoad
{
    /// <summary>A new index holding the keys 0, 2, ..., 2 × (<paramref name="keyCount"/> - 1), each put once at
    /// revisions <paramref name="revision"/> + 1, + 2, ... (<paramref name="revision"/> ends at the last one).
    /// <paramref name="keyBuffer"/> (8 bytes) is scratch space.</summary>
    public static KeyIndex Build(int keyCount, byte[] keyBuffer, ref long revision)
    {
        var order = new int[keyCount];
        for (var i = 0; i < keyCount; i++)
            order[i] = i;
        new Random(42).Shuffle(order);
        var index = new KeyIndex();
        foreach (var position in order)
        {
            WriteKey(keyBuffer, 2L * position);
            Put(index, keyBuffer, ++revision);
        }
        if (index.Count != keyCount)
            throw new InvalidOperationException($"expected {keyCount} keys, the index holds {index.Count}");
        return index;
    }

    /// <summary>The index update of a put of <paramref name="key"/> at main revision <paramref name="main"/> (sub 0): a new
    /// key gets a new entry (a copy of the key), an existing one a new revision with version + 1 in its generation.</summary>
    public static void Put(KeyIndex index, ReadOnlySpan<byte> key, long main)
    {
        var entry = index.GetOrAdd(key);
        entry.AddPut(main, 0, entry.CreatedMain != 0 ? entry.CreatedMain : main, entry.Version + 1);
    }

    /// <summary>True when <paramref name="key"/> exists at <paramref name="atRevision"/>: a lookup plus the visible-revision
    /// search of a read.</summary>
    public static bool Get(KeyIndex index, ReadOnlySpan<byte> key, long atRevision) =>
        index.Find(key) is { } entry && entry.TryGetVisible(atRevision, out _);

    /// <summary>Number of keys in [<paramref name="key"/>, <paramref name="end"/>) (end null = no upper bound) visible at
    /// <paramref name="atRevision"/>: the index walk of a range read.</summary>
    public static int CountVisible(KeyIndex index, byte[] key, byte[]? end, long atRevision)
    {
        var count = 0;
        foreach (var entry in index.Range(key, end))
        {
            if (entry.TryGetVisible(atRevision, out _))
                count++;
        }
        return count;
    }

    /// <summary>Writes <paramref name="number"/> as the 8-byte big-endian key into <paramref name="key"/>.</summary>
    public static void WriteKey(byte[] key, long number) => BinaryPrimitives.WriteInt64BigEndian(key, number);
}
