using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Mvcc;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Actors.Tests.Store.Apply;

/// <summary>A store in a fresh temp data dir, with helpers that apply KV requests through <see cref="KvApplier"/> at increasing raft indexes.</summary>
public sealed class ApplierFixture : IDisposable
{
    readonly MvccStoreOptions _options;

    public ApplierFixture(MvccStoreOptions? options = null)
    {
        DataDir = Path.Combine(Path.GetTempPath(), "mvcc-tests", Guid.NewGuid().ToString("N"));
        DbPath = SqliteBackend.DefaultPath(DataDir);
        _options = options ?? new MvccStoreOptions();
        Store = MvccStore.Open(DbPath, _options);
        Index = Store.ConsistentIndex;
    }

    public string DataDir { get; }
    public string DbPath { get; }
    public MvccStore Store { get; }
    public ulong Index { get; private set; }

    public ulong NextIndex() => ++Index;

    public static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    public PutResponse Put(string key, string value, long lease = 0, bool prevKv = false) =>
        KvApplier.Put(Store, new PutRequest { Key = B(key), Value = B(value), Lease = lease, PrevKv = prevKv }, NextIndex());

    public DeleteRangeResponse Delete(string key, string? rangeEnd = null, bool prevKv = false) =>
        KvApplier.DeleteRange(Store, new DeleteRangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? ByteString.Empty : B(rangeEnd), PrevKv = prevKv }, NextIndex());

    public RangeResponse Get(string key, string? rangeEnd = null, long revision = 0) =>
        KvApplier.Range(Store, new RangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? ByteString.Empty : B(rangeEnd), Revision = revision });

    public KeyValue? Single(string key, long revision = 0)
    {
        var response = Get(key, revision: revision);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    public TxnResponse Txn(TxnRequest request) => KvApplier.Txn(Store, request, NextIndex());

    public CompactionResponse Compact(long revision) => KvApplier.Compaction(Store, new CompactionRequest { Revision = revision }, NextIndex());

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
