using System.Buffers.Binary;
using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Storage.Mvcc;
using BenchmarkDotNet.Attributes;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.MicroBenchmarks.Mvcc;

/// <summary>
/// The KV apply and read paths (src/Actors/Store/Apply/KvApplier*.cs over src/Storage/Mvcc/MvccStore*.cs on the SQLite
/// backend, as the MvccStoreActor drives them) on a store preloaded with 100,000 keys of 8 bytes (big-endian key number) with
/// 256-byte values. Writes go to existing keys in a scattered order, one revision each; reads are at the current
/// revision. Bounded by SQLite (one row insert per put, one primary-key read per key read; the db stays in the OS
/// page cache) plus the key index and protobuf response building. Backend commits are not fsynced
/// (journal_mode=WAL, synchronous=NORMAL), so no figure here includes an fsync.
/// </summary>
[MemoryDiagnoser]
public class MvccBenchmarks
{
    private const int PreloadedKeys = 100_000;
    private const int PutsPerBatch = 100;
    private const int RangeWidth = 100;
    private const int TxnPuts = 4;
    private const int Requests = 4096;
    private const long KeyStride = 38_923; // coprime with PreloadedKeys: walks every key in a scattered order

    private string _dir = null!;
    private MvccStore _store = null!;
    private PutRequest[] _puts = null!;
    private RangeRequest[] _singleKeyRanges = null!;
    private RangeRequest[] _hundredKeyRanges = null!;
    private TxnRequest[] _txns = null!;
    private ulong _raftIndex;
    private long _cursor;
    private int _request;

    /// <summary>Opens a store in a new temp dir, loads the 100,000 keys (committed) and pre-builds the requests.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-bench-mvcc-" + Guid.NewGuid().ToString("N"));
        _store = MvccStore.Open(Path.Combine(_dir, "db"), new MvccStoreOptions());
        var value = new byte[256];
        new Random(42).NextBytes(value);
        var valueBytes = ByteString.CopyFrom(value);
        _puts = new PutRequest[PreloadedKeys];
        for (var i = 0; i < PreloadedKeys; i++)
            _puts[i] = new PutRequest { Key = Key(i), Value = valueBytes };
        foreach (var put in _puts)
            KvApplier.Put(_store, put, ++_raftIndex);
        _store.Commit();

        var random = new Random(7);
        _singleKeyRanges = new RangeRequest[Requests];
        _hundredKeyRanges = new RangeRequest[Requests];
        _txns = new TxnRequest[Requests];
        for (var r = 0; r < Requests; r++)
        {
            _singleKeyRanges[r] = new RangeRequest { Key = Key(random.Next(PreloadedKeys)), Serializable = true };
            var first = random.Next(PreloadedKeys - RangeWidth);
            _hundredKeyRanges[r] = new RangeRequest { Key = Key(first), RangeEnd = Key(first + RangeWidth), Serializable = true };
            var txn = new TxnRequest();
            for (var p = 0; p < TxnPuts; p++)
                txn.Success.Add(new RequestOp { RequestPut = _puts[random.Next(PreloadedKeys)] });
            _txns[r] = txn;
        }
        if (KvApplier.Range(_store, _hundredKeyRanges[0]).Kvs.Count != RangeWidth)
            throw new InvalidOperationException("the preloaded store does not hold the expected keys");
    }

    /// <summary>Closes the store and deletes the temp dir.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// MvccBenchmarks: revision {_store.CurrentRevision}, db {_store.DbSizeBytes / (1024 * 1024)} MiB at cleanup");
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>One Put of an existing key (new revision); the backend batch is committed every 10,000 writes, as
    /// etcd's batch limit, so the commit cost is spread over the puts.</summary>
    [Benchmark]
    public long Put() => KvApplier.Put(_store, NextPut(), ++_raftIndex).Header.Revision;

    /// <summary>100 Puts, then one backend commit (what the store actor does at its 100 ms tick under load).
    /// Reported per put (OperationsPerInvoke = 100).</summary>
    [Benchmark(OperationsPerInvoke = PutsPerBatch)]
    public long PutBatchOf100ThenCommit()
    {
        for (var i = 0; i < PutsPerBatch; i++)
            KvApplier.Put(_store, NextPut(), ++_raftIndex);
        _store.Commit();
        return _store.CurrentRevision;
    }

    /// <summary>Serializable Range of one existing key: an index lookup, one SQLite read, a one-KeyValue response.</summary>
    [Benchmark]
    public int RangeSingleKey() => KvApplier.Range(_store, _singleKeyRanges[NextRequest()]).Kvs.Count;

    /// <summary>Serializable Range over [key, key+100): 100 KeyValues read and returned.</summary>
    [Benchmark]
    public int RangeHundredKeys() => KvApplier.Range(_store, _hundredKeyRanges[NextRequest()]).Kvs.Count;

    /// <summary>A Txn without compares whose success branch puts 4 existing keys in one revision.</summary>
    [Benchmark]
    public long TxnFourPuts() => KvApplier.Txn(_store, _txns[NextRequest()], ++_raftIndex).Header.Revision;

    private PutRequest NextPut()
    {
        _cursor = (_cursor + KeyStride) % PreloadedKeys;
        return _puts[_cursor];
    }

    private int NextRequest() => _request = (_request + 1) & (Requests - 1);

    private static ByteString Key(int number)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(key, number);
        return ByteString.CopyFrom(key);
    }
}
