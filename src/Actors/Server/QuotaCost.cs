using Etcdserverpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// What a request may add to the backend, in bytes, as etcd 3.4's backend quota estimates it (etcdserver/quota.go):
/// a put costs 256 bytes of overhead plus its key and value, a txn the larger of its two branches' top-level puts, a
/// lease grant 64 bytes; anything else 0 (never refused for space). Pure.
/// </summary>
public static class QuotaCost
{
    /// <summary>etcd's <c>kvOverhead</c>: bytes charged per put besides its key and value.</summary>
    public const int KvOverheadBytes = 256;

    /// <summary>etcd's <c>leaseOverhead</c>: bytes charged per lease grant.</summary>
    public const int LeaseOverheadBytes = 64;

    /// <summary>The cost in bytes of one put: overhead + key length + value length.</summary>
    public static long Of(PutRequest put) => KvOverheadBytes + put.Key.Length + put.Value.Length;

    /// <summary>The cost in bytes of a txn: the larger sum over the puts of the success and failure branches (nested txns are not counted, as etcd).</summary>
    public static long Of(TxnRequest txn)
    {
        static long Branch(IEnumerable<RequestOp> ops) => ops.Sum(op => op.RequestPut is { } put ? Of(put) : 0);
        return Math.Max(Branch(txn.Success), Branch(txn.Failure));
    }

    /// <summary>The cost in bytes of a whole proposal: its put, txn or lease grant; 0 for anything else.</summary>
    public static long Of(InternalRaftRequest request) =>
        request.Put is { } put ? Of(put)
        : request.Txn is { } txn ? Of(txn)
        : request.LeaseGrant is not null ? LeaseOverheadBytes
        : 0;
}
