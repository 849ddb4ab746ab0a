using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc.Index;
using Etcdserverpb;
using Mvccpb;
using CompareResult = Etcdserverpb.Compare.Types.CompareResult;
using CompareTarget = Etcdserverpb.Compare.Types.CompareTarget;

namespace Akka.Etcd.Storage.Mvcc;

public sealed partial class MvccStore
{
    /// <summary>
    /// Applies a put at raft index <paramref name="index"/> (etcd's applierV3backend.Put): new revision, version +1 (1 for a
    /// new generation), create_revision kept within a generation; ignore_value / ignore_lease reuse the previous value /
    /// lease; prev_kv returns the previous KeyValue. header.revision = the new revision.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.LeaseNotFound</c> for a non-zero lease the lease hook does not know;
    /// <c>EtcdErrors.KeyNotFound</c> for ignore_value / ignore_lease on a missing key. The store is then unchanged.</exception>
    public PutResponse Put(PutRequest request, ulong index)
    {
        return ApplyWrite(index, request, static (store, r) =>
        {
            if (r.Lease != 0 && !store.LeaseExists(r.Lease)) throw EtcdErrors.LeaseNotFound;
            return store.PutInWrite(r);
        });
    }

    /// <summary>
    /// Applies a delete of the single key / [key, range_end) / "\0" from-key at raft index <paramref name="index"/>:
    /// one tombstone per existing key, all in one revision; deleting nothing creates no revision.
    /// header.revision = the new revision, or the current one when nothing was deleted.
    /// </summary>
    public DeleteRangeResponse DeleteRange(DeleteRangeRequest request, ulong index)
    {
        return ApplyWrite(index, request, static (store, r) => store.DeleteInWrite(r));
    }

    /// <summary>
    /// Applies a txn at raft index <paramref name="index"/> (etcd's applierV3backend.Txn): evaluates the compares on the
    /// state before the txn (a VALUE compare on a missing key is false; other targets compare a missing key as zero), checks
    /// the chosen branches (nested txns included) before changing anything, then runs the ops in order, all in ONE revision
    /// (sub revisions 0, 1, ...). Reads inside see earlier writes of the txn. A txn that changes nothing makes no revision.
    /// header.revision = the txn's revision (current when nothing changed); nested txn headers stay empty, as in etcd.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.KeyNotFound</c>, <c>EtcdErrors.LeaseNotFound</c> for puts;
    /// <c>EtcdErrors.FutureRev</c> / <c>EtcdErrors.Compacted</c> for ranges with a bad revision. The store is then unchanged.</exception>
    public TxnResponse Txn(TxnRequest request, ulong index)
    {
        return ApplyWrite(index, request, static (store, r) => store.TxnInWrite(r));
    }

    /// <summary>
    /// Runs a read-only txn (only range ops, as etcd's isTxnReadonly) outside the raft log, e.g. a serializable txn.
    /// </summary>
    /// <exception cref="InvalidOperationException">The txn contains a put, delete or nested txn.</exception>
    /// <exception cref="EtcdException">As <see cref="Txn(TxnRequest, ulong)"/> for ranges.</exception>
    public TxnResponse Txn(TxnRequest request)
    {
        if (!IsReadOnly(request)) throw new InvalidOperationException("a txn with writes must be applied through the raft log");
        ThrowIfFaulted();
        BeginWrite();
        return TxnInWrite(request);
    }

    /// <summary>True when every op of both branches is a range (etcd's isTxnReadonly).</summary>
    public static bool IsReadOnly(TxnRequest request)
    {
        foreach (var op in request.Success)
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestRange) return false;
        foreach (var op in request.Failure)
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestRange) return false;
        return true;
    }

    PutResponse PutInWrite(PutRequest request)
    {
        KeyValue? previous = null;
        if (request.IgnoreValue || request.IgnoreLease || request.PrevKv)
            previous = ReadVisible(request.Key.Span, WriteReadRevision);
        if ((request.IgnoreValue || request.IgnoreLease) && previous is null) throw EtcdErrors.KeyNotFound;
        var value = request.IgnoreValue ? previous!.Value : request.Value;
        var lease = request.IgnoreLease ? previous!.Lease : request.Lease;
        var response = new PutResponse();
        if (request.PrevKv && previous is not null) response.PrevKv = previous;
        PutCore(request.Key.Span, value, lease);
        response.Header = new ResponseHeader { Revision = _beginRevision + 1 };
        return response;
    }

    DeleteRangeResponse DeleteInWrite(DeleteRangeRequest request)
    {
        var range = KeyRange.From(request.Key, request.RangeEnd);
        var readRevision = WriteReadRevision;
        var doomed = new List<KeyEntry>();
        if (range.IsSingleKey)
        {
            var entry = _index.Find(range.Key);
            if (entry is not null && entry.TryGetVisible(readRevision, out _)) doomed.Add(entry);
        }
        else
        {
            foreach (var entry in _index.Range(range.Key, range.End))
                if (entry.TryGetVisible(readRevision, out _)) doomed.Add(entry);
        }

        var response = new DeleteRangeResponse { Deleted = doomed.Count };
        foreach (var entry in doomed)
        {
            if (request.PrevKv) response.PrevKvs.Add(ReadKeyValue(entry, entry.Newest));
            TombstoneCore(entry);
        }
        response.Header = new ResponseHeader { Revision = _changes > 0 ? _beginRevision + 1 : _beginRevision };
        return response;
    }

    TxnResponse TxnInWrite(TxnRequest request)
    {
        var path = new List<bool>();
        CompareToPath(request, path);
        var cursor = 0;
        if (!IsReadOnly(request)) CheckRequests(request, path, ref cursor, checkPuts: true);
        cursor = 0;
        CheckRequests(request, path, ref cursor, checkPuts: false);
        cursor = 0;
        var response = ApplyTxn(request, path, ref cursor);
        response.Header.Revision = _changes > 0 ? _beginRevision + 1 : _beginRevision;
        return response;
    }

    void CompareToPath(TxnRequest request, List<bool> path)
    {
        var succeeded = ApplyCompares(request);
        path.Add(succeeded);
        foreach (var op in succeeded ? request.Success : request.Failure)
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestTxn && op.RequestTxn is not null)
                CompareToPath(op.RequestTxn, path);
    }

    bool ApplyCompares(TxnRequest request)
    {
        foreach (var compare in request.Compare)
            if (!ApplyCompare(compare)) return false;
        return true;
    }

    /// <summary>etcd's applyCompare: every key in the compare's range must satisfy it, at the revision before the txn.</summary>
    bool ApplyCompare(Compare compare)
    {
        var range = KeyRange.From(compare.Key, compare.RangeEnd);
        var any = false;
        if (range.IsSingleKey)
        {
            var entry = _index.Find(range.Key);
            if (entry is not null && entry.IsLive)
            {
                any = true;
                if (!CompareEntry(compare, entry)) return false;
            }
        }
        else
        {
            foreach (var entry in _index.Range(range.Key, range.End))
            {
                if (!entry.IsLive) continue;
                any = true;
                if (!CompareEntry(compare, entry)) return false;
            }
        }
        if (any) return true;
        // no key: a value compare always fails; other targets compare against a zero KeyValue
        return compare.Target != CompareTarget.Value && CompareResultOf(compare, CompareTargetAgainst(compare, 0, 0, 0, 0));
    }

    /// <summary>Compares one live key; VERSION/CREATE/MOD come from the index, VALUE/LEASE need the stored row.</summary>
    bool CompareEntry(Compare compare, KeyEntry entry)
    {
        int result;
        switch (compare.Target)
        {
            case CompareTarget.Value:
            {
                var kv = ReadKeyValue(entry, entry.Newest);
                var expected = compare.TargetUnionCase == Compare.TargetUnionOneofCase.Value ? compare.Value.Span : [];
                result = Math.Sign(KeyIndex.CompareKeys(kv.Value.Span, expected));
                break;
            }
            case CompareTarget.Lease:
                result = CompareTargetAgainst(compare, 0, 0, 0, ReadKeyValue(entry, entry.Newest).Lease);
                break;
            default:
                result = CompareTargetAgainst(compare, entry.Version, entry.CreatedMain, entry.Newest.Main, 0);
                break;
        }
        return CompareResultOf(compare, result);
    }

    /// <summary>Sign of (key's field - compare's operand) for the integer targets; an operand of another union case is 0.</summary>
    static int CompareTargetAgainst(Compare compare, long version, long create, long mod, long lease)
    {
        switch (compare.Target)
        {
            case CompareTarget.Version:
                return version.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.Version ? compare.Version : 0);
            case CompareTarget.Create:
                return create.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.CreateRevision ? compare.CreateRevision : 0);
            case CompareTarget.Mod:
                return mod.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.ModRevision ? compare.ModRevision : 0);
            case CompareTarget.Lease:
                return lease.CompareTo(compare.TargetUnionCase == Compare.TargetUnionOneofCase.Lease ? compare.Lease : 0);
            default:
                return 0;
        }
    }

    static bool CompareResultOf(Compare compare, int result) => compare.Result switch
    {
        CompareResult.Equal => result == 0,
        CompareResult.NotEqual => result != 0,
        CompareResult.Greater => result > 0,
        CompareResult.Less => result < 0,
        _ => true,
    };

    /// <summary>etcd's checkRequests over the chosen branches: put checks (ignore_* needs the key, lease must exist) or
    /// range revision checks, at the revision before the txn.</summary>
    void CheckRequests(TxnRequest request, List<bool> path, ref int cursor, bool checkPuts)
    {
        var succeeded = path[cursor];
        foreach (var op in succeeded ? request.Success : request.Failure)
        {
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestTxn && op.RequestTxn is not null)
            {
                cursor++;
                CheckRequests(op.RequestTxn, path, ref cursor, checkPuts);
                continue;
            }
            if (checkPuts && op.RequestCase == RequestOp.RequestOneofCase.RequestPut)
            {
                var put = op.RequestPut;
                if ((put.IgnoreValue || put.IgnoreLease) && !IsLiveKey(put.Key.Span))
                    throw EtcdErrors.KeyNotFound;
                if (put.Lease != 0 && !LeaseExists(put.Lease)) throw EtcdErrors.LeaseNotFound;
            }
            else if (!checkPuts && op.RequestCase == RequestOp.RequestOneofCase.RequestRange)
            {
                var revision = op.RequestRange.Revision;
                if (revision == 0) continue;
                if (revision > _beginRevision) throw EtcdErrors.FutureRev;
                if (revision < _compactRevision) throw EtcdErrors.Compacted;
            }
        }
    }

    bool IsLiveKey(ReadOnlySpan<byte> key) => _index.Find(key) is { IsLive: true };

    TxnResponse ApplyTxn(TxnRequest request, List<bool> path, ref int cursor)
    {
        var succeeded = path[cursor];
        var response = new TxnResponse { Succeeded = succeeded, Header = new ResponseHeader() };
        foreach (var op in succeeded ? request.Success : request.Failure)
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    response.Responses.Add(new ResponseOp { ResponseRange = RangeCore(op.RequestRange, WriteReadRevision) });
                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    response.Responses.Add(new ResponseOp { ResponsePut = PutInWrite(op.RequestPut) });
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    response.Responses.Add(new ResponseOp { ResponseDeleteRange = DeleteInWrite(op.RequestDeleteRange) });
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    cursor++;
                    response.Responses.Add(new ResponseOp { ResponseTxn = ApplyTxn(op.RequestTxn, path, ref cursor) });
                    break;
                default:
                    response.Responses.Add(new ResponseOp());
                    break;
            }
        }
        return response;
    }
}
