using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Mvcc;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Storage.Tests.Mvcc;

/// <summary>A store in a fresh temp data dir, with helpers that run MVCC writes at increasing raft indexes.</summary>
public sealed class StoreFixture : IDisposable
{
    readonly MvccStoreOptions _options;

    public StoreFixture(MvccStoreOptions? options = null)
    {
        DataDir = Path.Combine(Path.GetTempPath(), "mvcc-tests", Guid.NewGuid().ToString("N"));
        DbPath = SqliteBackend.DefaultPath(DataDir);
        _options = options ?? new MvccStoreOptions();
        Store = MvccStore.Open(DbPath, _options);
        Index = Store.ConsistentIndex;
    }

    public string DataDir { get; }
    public string DbPath { get; }
    public MvccStore Store { get; private set; }
    public ulong Index { get; private set; }

    public ulong NextIndex() => ++Index;

    public static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    static ByteString End(string? rangeEnd) => rangeEnd is null ? ByteString.Empty : B(rangeEnd);

    /// <summary>One write transaction with one put; returns its revision.</summary>
    public long Put(string key, string value, long lease = 0) => Put(B(key), B(value), lease);

    /// <summary>One write transaction with one put; returns its revision.</summary>
    public long Put(ByteString key, ByteString value, long lease = 0) =>
        Store.Write(NextIndex(), (key, value, lease), static (txn, s) => txn.Put(s.key, s.value, s.lease));

    /// <summary>One write transaction deleting a key or range; returns how many keys were deleted.</summary>
    public long Delete(string key, string? rangeEnd = null) => Delete(B(key), End(rangeEnd));

    /// <summary>One write transaction deleting a key or range; returns how many keys were deleted.</summary>
    public long Delete(ByteString key, ByteString rangeEnd) =>
        Store.Write(NextIndex(), (key, rangeEnd), static (txn, s) => txn.DeleteRange(s.key, s.rangeEnd));

    /// <summary>One write transaction running <paramref name="writes"/>.</summary>
    public void Write(Action<MvccTxn> writes) => Store.Write(NextIndex(), writes, static (txn, w) =>
    {
        w(txn);
        return 0;
    });

    /// <summary>A range read at the current revision or at <paramref name="revision"/>.</summary>
    public RangeResult Get(string key, string? rangeEnd = null, long revision = 0) =>
        Store.Read().Range(B(key), End(rangeEnd), new RangeOptions(Revision: revision));

    public KeyValue? Single(string key, long revision = 0)
    {
        var result = Get(key, revision: revision);
        return result.KeyValues.Count == 0 ? null : result.KeyValues[0];
    }

    public void Compact(long revision) => Store.Compact(revision, NextIndex());

    /// <summary>Closes (committing, or dropping the batch like a crash) and opens the store again.</summary>
    public void Reopen(bool commit = true)
    {
        if (commit) Store.Dispose();
        else Store.DisposeWithoutCommit();
        Store = MvccStore.Open(DbPath, _options);
        Index = Store.ConsistentIndex;
    }

    public static string[] Keys(RangeResult result) => result.KeyValues.Select(kv => kv.Key.ToStringUtf8()).ToArray();

    public void Dispose()
    {
        Store.Dispose();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // temp dir cleanup is best effort
        }
    }
}
