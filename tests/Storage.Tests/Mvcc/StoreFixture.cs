using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Mvcc;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Storage.Tests.Mvcc;

/// <summary>A store in a fresh temp data dir, with helpers that apply requests at increasing raft indexes.</summary>
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

    public PutResponse Put(string key, string value, long lease = 0, bool prevKv = false) =>
        Store.Put(new PutRequest { Key = B(key), Value = B(value), Lease = lease, PrevKv = prevKv }, NextIndex());

    public DeleteRangeResponse Delete(string key, string? rangeEnd = null, bool prevKv = false) =>
        Store.DeleteRange(new DeleteRangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? ByteString.Empty : B(rangeEnd), PrevKv = prevKv }, NextIndex());

    public RangeResponse Get(string key, string? rangeEnd = null, long revision = 0) =>
        Store.Range(new RangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? ByteString.Empty : B(rangeEnd), Revision = revision });

    public KeyValue? Single(string key, long revision = 0)
    {
        var response = Get(key, revision: revision);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    public TxnResponse Txn(TxnRequest request) => Store.Txn(request, NextIndex());

    public CompactionResponse Compact(long revision) => Store.Compact(new CompactionRequest { Revision = revision }, NextIndex());

    /// <summary>Closes (committing, or dropping the batch like a crash) and opens the store again.</summary>
    public void Reopen(bool commit = true)
    {
        if (commit) Store.Dispose();
        else Store.DisposeWithoutCommit();
        Store = MvccStore.Open(DbPath, _options);
        Index = Store.ConsistentIndex;
    }

    public static string[] Keys(RangeResponse response) => response.Kvs.Select(kv => kv.Key.ToStringUtf8()).ToArray();

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
