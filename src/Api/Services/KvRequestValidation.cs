using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// The request checks the KV API runs before a request reaches the member (etcd's etcdserver/api/v3rpc/key.go:
/// checkRangeRequest, checkPutRequest, checkDeleteRequest, checkTxnRequest, checkIntervals), so the applier only
/// sees well-formed requests. Each method returns normally
/// or throws the <see cref="EtcdException"/> etcd sends. Stateless and thread-safe.
/// </summary>
public static class KvRequestValidation
{
    /// <summary>etcd's default <c>--max-txn-ops</c>: 128 ops per txn branch.</summary>
    public const int DefaultMaxTxnOps = 128;

    /// <summary>
    /// <c>InvalidArgument</c>: "etcdserver: invalid sort option" (etcd 3.5's ErrGRPCInvalidSortOption; etcd 3.4 would
    /// panic on an unknown sort target instead).
    /// </summary>
    public static EtcdException InvalidSortOption => new(RpcStatusCode.InvalidArgument, "etcdserver: invalid sort option");

    /// <summary>Checks a range: key must be set; sort_order and sort_target must be known enum values.</summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.EmptyKey</c>, <see cref="InvalidSortOption"/>.</exception>
    public static void ValidateRange(RangeRequest request)
    {
        if (request.Key.IsEmpty) throw EtcdErrors.EmptyKey;
        if (!Enum.IsDefined(request.SortOrder) || !Enum.IsDefined(request.SortTarget)) throw InvalidSortOption;
    }

    /// <summary>Checks a put: key must be set; ignore_value forbids a value; ignore_lease forbids a lease.</summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.EmptyKey</c>, <c>EtcdErrors.ValueProvided</c>, <c>EtcdErrors.LeaseProvided</c>.</exception>
    public static void ValidatePut(PutRequest request)
    {
        if (request.Key.IsEmpty) throw EtcdErrors.EmptyKey;
        if (request.IgnoreValue && request.Value.Length != 0) throw EtcdErrors.ValueProvided;
        if (request.IgnoreLease && request.Lease != 0) throw EtcdErrors.LeaseProvided;
    }

    /// <summary>Checks a delete: key must be set.</summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.EmptyKey</c>.</exception>
    public static void ValidateDeleteRange(DeleteRangeRequest request)
    {
        if (request.Key.IsEmpty) throw EtcdErrors.EmptyKey;
    }

    /// <summary>
    /// Checks a txn as etcd's kvServer.Txn does: at most <paramref name="maxTxnOps"/> compares / success ops / failure ops
    /// (a nested txn gets the budget minus its parent's largest list), every compare and op has a key, no empty op, then
    /// no key is put twice or put and deleted (ranges included) within a branch, nested txns included (then/else branches
    /// of one nested txn may put the same key).
    /// Deviation: a delete with range_end "\0" counts as [key, +inf) (etcd 3.4 builds an inverted interval and misses it).
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.TooManyOps</c>, <c>EtcdErrors.EmptyKey</c>,
    /// <c>EtcdErrors.KeyNotFound</c> (an op with no request), <c>EtcdErrors.ValueProvided</c>, <c>EtcdErrors.LeaseProvided</c>,
    /// <see cref="InvalidSortOption"/>, <c>EtcdErrors.DuplicateKey</c>.</exception>
    public static void ValidateTxn(TxnRequest request, int maxTxnOps = DefaultMaxTxnOps)
    {
        CheckTxn(request, maxTxnOps);
        CheckIntervals(request.Success);
        CheckIntervals(request.Failure);
    }

    static void CheckTxn(TxnRequest request, int maxTxnOps)
    {
        var opc = Math.Max(request.Compare.Count, Math.Max(request.Success.Count, request.Failure.Count));
        if (opc > maxTxnOps) throw EtcdErrors.TooManyOps;
        foreach (var compare in request.Compare)
            if (compare.Key.IsEmpty) throw EtcdErrors.EmptyKey;
        foreach (var op in request.Success) CheckOp(op, maxTxnOps - opc);
        foreach (var op in request.Failure) CheckOp(op, maxTxnOps - opc);
    }

    static void CheckOp(RequestOp op, int maxTxnOps)
    {
        switch (op.RequestCase)
        {
            case RequestOp.RequestOneofCase.RequestRange:
                ValidateRange(op.RequestRange);
                break;
            case RequestOp.RequestOneofCase.RequestPut:
                ValidatePut(op.RequestPut);
                break;
            case RequestOp.RequestOneofCase.RequestDeleteRange:
                ValidateDeleteRange(op.RequestDeleteRange);
                break;
            case RequestOp.RequestOneofCase.RequestTxn:
                CheckTxn(op.RequestTxn, maxTxnOps);
                break;
            default:
                throw EtcdErrors.KeyNotFound;
        }
    }

    /// <summary>A delete's key interval: [Begin, End), End null = unbounded.</summary>
    readonly record struct DeleteInterval(byte[] Begin, byte[]? End, bool Point)
    {
        public bool Contains(ReadOnlySpan<byte> key)
        {
            if (Point) return key.SequenceEqual(Begin);
            if (key.SequenceCompareTo(Begin) < 0) return false;
            return End is null || key.SequenceCompareTo(End) < 0;
        }
    }

    static (HashSet<ByteString> Puts, List<DeleteInterval> Deletes) CheckIntervals(RepeatedField<RequestOp> ops)
    {
        var deletes = new List<DeleteInterval>();
        foreach (var op in ops)
        {
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestDeleteRange) continue;
            var delete = op.RequestDeleteRange;
            var end = delete.RangeEnd;
            deletes.Add(end.Length == 0
                ? new DeleteInterval(delete.Key.ToByteArray(), null, Point: true)
                : new DeleteInterval(delete.Key.ToByteArray(), end.Length == 1 && end[0] == 0 ? null : end.ToByteArray(), Point: false));
        }

        var puts = new HashSet<ByteString>();
        foreach (var op in ops)
        {
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestTxn) continue;
            var (putsThen, deletesThen) = CheckIntervals(op.RequestTxn.Success);
            var (putsElse, deletesElse) = CheckIntervals(op.RequestTxn.Failure);
            foreach (var key in putsThen)
            {
                if (puts.Contains(key) || Intersects(deletes, key)) throw EtcdErrors.DuplicateKey;
                puts.Add(key);
            }
            foreach (var key in putsElse)
            {
                if (puts.Contains(key) && !putsThen.Contains(key)) throw EtcdErrors.DuplicateKey;
                if (Intersects(deletes, key)) throw EtcdErrors.DuplicateKey;
                puts.Add(key);
            }
            deletes.AddRange(deletesThen);
            deletes.AddRange(deletesElse);
        }

        foreach (var op in ops)
        {
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestPut) continue;
            var key = op.RequestPut.Key;
            if (puts.Contains(key) || Intersects(deletes, key)) throw EtcdErrors.DuplicateKey;
            puts.Add(key);
        }
        return (puts, deletes);
    }

    static bool Intersects(List<DeleteInterval> deletes, ByteString key)
    {
        foreach (var delete in deletes)
            if (delete.Contains(key.Span)) return true;
        return false;
    }
}
