using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc;
using Etcdserverpb;
using CompareResult = Etcdserverpb.Compare.Types.CompareResult;
using CompareTarget = Etcdserverpb.Compare.Types.CompareTarget;

namespace Akka.Etcd.Actors.Store.Apply;

public static partial class KvApplier
{
    /// <summary>
    /// KV.Txn at raft index <paramref name="index"/> (applierV3backend.Txn): evaluates the compares on the state before
    /// the txn (a VALUE compare on a missing key is false; other targets compare a missing key as zero), checks the chosen
    /// branches (nested txns included) before changing anything, then runs the ops in order in ONE write transaction, so
    /// all writes share one revision (sub revisions 0, 1, ...) and reads inside see earlier writes of the txn. A txn that
    /// changes nothing makes no revision. header.revision = the txn's revision (current when nothing changed); nested txn
    /// headers carry no revision, as in etcd.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.KeyNotFound</c>, <c>EtcdErrors.LeaseNotFound</c> for puts;
    /// <c>EtcdErrors.FutureRev</c> / <c>EtcdErrors.Compacted</c> for ranges with a bad revision. The store is then
    /// unchanged.</exception>
    public static TxnResponse Txn(MvccStore store, TxnRequest request, ulong index) =>
        store.Write(index, (Store: store, Request: request), static (txn, s) => Txn(s.Store, txn, s.Request));

    /// <summary>
    /// A read-only KV.Txn (only range ops, <see cref="IsReadOnly"/>) outside the raft log, e.g. a serializable txn or one
    /// served after a ReadIndex: as <see cref="Txn(MvccStore, TxnRequest, ulong)"/> on a read transaction at the current
    /// revision.
    /// </summary>
    /// <exception cref="InvalidOperationException">The txn contains a put, delete or nested txn.</exception>
    /// <exception cref="EtcdException">As <see cref="Txn(MvccStore, TxnRequest, ulong)"/> for ranges.</exception>
    public static TxnResponse Txn(MvccStore store, TxnRequest request)
    {
        if (!IsReadOnly(request)) throw new InvalidOperationException("a txn with writes must be applied through the raft log");
        return Txn(store, store.Read(), request);
    }

    /// <summary>True when every op of both branches is a range (etcd's isTxnReadonly): such a txn needs no raft entry.</summary>
    public static bool IsReadOnly(TxnRequest request)
    {
        foreach (var op in request.Success)
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestRange) return false;
        foreach (var op in request.Failure)
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestRange) return false;
        return true;
    }

    private static TxnResponse Txn(MvccStore store, MvccTxn txn, TxnRequest request)
    {
        Metrics.EtcdMetrics.Txns.Inc();
        var path = new List<bool>();
        CompareToPath(txn, request, path);
        var cursor = 0;
        if (!IsReadOnly(request)) CheckRequests(store, txn, request, path, ref cursor, checkPuts: true);
        cursor = 0;
        CheckRequests(store, txn, request, path, ref cursor, checkPuts: false);
        cursor = 0;
        var response = ApplyTxn(txn, request, path, ref cursor);
        response.Header.Revision = txn.Revision;
        return response;
    }

    /// <summary>etcd's compareToPath: the branch taken by the txn and, depth first, by each nested txn on that branch.</summary>
    private static void CompareToPath(MvccTxn txn, TxnRequest request, List<bool> path)
    {
        var succeeded = ApplyCompares(txn, request);
        path.Add(succeeded);
        foreach (var op in succeeded ? request.Success : request.Failure)
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestTxn && op.RequestTxn is not null)
                CompareToPath(txn, op.RequestTxn, path);
    }

    private static bool ApplyCompares(MvccTxn txn, TxnRequest request)
    {
        foreach (var compare in request.Compare)
            if (!ApplyCompare(txn, compare)) return false;
        return true;
    }

    /// <summary>etcd's applyCompare: every key in the compare's range must satisfy it, at the revision before the txn.</summary>
    private static bool ApplyCompare(MvccTxn txn, Compare compare)
    {
        var any = false;
        if (compare.RangeEnd.IsEmpty)
        {
            if (txn.TryGetLive(compare.Key, out var key))
            {
                any = true;
                if (!CompareKey(txn, compare, key)) return false;
            }
        }
        else
        {
            foreach (var key in txn.LiveKeys(compare.Key, compare.RangeEnd))
            {
                any = true;
                if (!CompareKey(txn, compare, key)) return false;
            }
        }
        if (any) return true;
        // no key: a value compare always fails; other targets compare against a zero KeyValue
        return compare.Target != CompareTarget.Value && CompareResultOf(compare, CompareTargetAgainst(compare, 0, 0, 0, 0));
    }

    /// <summary>Compares one live key; VERSION/CREATE/MOD come from the key index, VALUE/LEASE need the stored row.</summary>
    private static bool CompareKey(MvccTxn txn, Compare compare, LiveKey key)
    {
        int result;
        switch (compare.Target)
        {
            case CompareTarget.Value:
            {
                var kv = txn.Read(key);
                var expected = compare.TargetUnionCase == Compare.TargetUnionOneofCase.Value ? compare.Value.Span : [];
                result = Math.Sign(kv.Value.Span.SequenceCompareTo(expected));
                break;
            }
            case CompareTarget.Lease:
                result = CompareTargetAgainst(compare, 0, 0, 0, txn.Read(key).Lease);
                break;
            default:
                result = CompareTargetAgainst(compare, key.Version, key.CreateRevision, key.ModRevision, 0);
                break;
        }
        return CompareResultOf(compare, result);
    }

    /// <summary>Sign of (key's field - compare's operand) for the integer targets; an operand of another union case is 0.</summary>
    private static int CompareTargetAgainst(Compare compare, long version, long create, long mod, long lease) => compare.Target switch
    {
        CompareTarget.Version => version.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.Version ? compare.Version : 0),
        CompareTarget.Create => create.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.CreateRevision ? compare.CreateRevision : 0),
        CompareTarget.Mod => mod.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.ModRevision ? compare.ModRevision : 0),
        CompareTarget.Lease => lease.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.Lease ? compare.Lease : 0),
        _ => 0,
    };

    private static bool CompareResultOf(Compare compare, int result) => compare.Result switch
    {
        CompareResult.Equal => result == 0,
        CompareResult.NotEqual => result != 0,
        CompareResult.Greater => result > 0,
        CompareResult.Less => result < 0,
        _ => true,
    };

    /// <summary>etcd's checkRequests over the chosen branches: put checks (ignore_* needs the key, lease must exist) or
    /// range revision checks, at the revision before the txn.</summary>
    private static void CheckRequests(MvccStore store, MvccTxn txn, TxnRequest request, List<bool> path, ref int cursor, bool checkPuts)
    {
        var succeeded = path[cursor];
        foreach (var op in succeeded ? request.Success : request.Failure)
        {
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestTxn && op.RequestTxn is not null)
            {
                cursor++;
                CheckRequests(store, txn, op.RequestTxn, path, ref cursor, checkPuts);
                continue;
            }
            if (checkPuts && op.RequestCase == RequestOp.RequestOneofCase.RequestPut)
            {
                var put = op.RequestPut;
                if ((put.IgnoreValue || put.IgnoreLease) && !txn.TryGetLive(put.Key, out _))
                    throw EtcdErrors.KeyNotFound;
                if (put.Lease != 0 && !store.LeaseExists(put.Lease)) throw EtcdErrors.LeaseNotFound;
            }
            else if (!checkPuts && op.RequestCase == RequestOp.RequestOneofCase.RequestRange)
            {
                var revision = op.RequestRange.Revision;
                if (revision == 0) continue;
                if (revision > txn.BeginRevision) throw EtcdErrors.FutureRev;
                if (revision < txn.CompactRevision) throw EtcdErrors.Compacted;
            }
        }
    }

    /// <summary>Runs the ops of the chosen branches in order inside the one transaction.</summary>
    private static TxnResponse ApplyTxn(MvccTxn txn, TxnRequest request, List<bool> path, ref int cursor)
    {
        var succeeded = path[cursor];
        var response = new TxnResponse { Succeeded = succeeded, Header = new ResponseHeader() };
        foreach (var op in succeeded ? request.Success : request.Failure)
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    response.Responses.Add(new ResponseOp { ResponseRange = Range(txn, op.RequestRange) });
                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    response.Responses.Add(new ResponseOp { ResponsePut = Put(txn, op.RequestPut) });
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    response.Responses.Add(new ResponseOp { ResponseDeleteRange = DeleteRange(txn, op.RequestDeleteRange) });
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    cursor++;
                    response.Responses.Add(new ResponseOp { ResponseTxn = ApplyTxn(txn, op.RequestTxn, path, ref cursor) });
                    break;
                default:
                    response.Responses.Add(new ResponseOp());
                    break;
            }
        }
        return response;
    }
}
