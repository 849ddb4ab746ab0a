using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using SortOrder = Etcdserverpb.RangeRequest.Types.SortOrder;
using SortTarget = Etcdserverpb.RangeRequest.Types.SortTarget;

namespace Akka.Etcd.Actors.Store.Apply;

/// <summary>
/// Applies the KV requests of etcd's API (etcdserverpb Range, Put, DeleteRange, Txn, Compaction) to an
/// <see cref="MvccStore"/>, as etcd's applierV3backend (etcdserver/apply.go) does on its mvcc store: it turns each request
/// into MVCC reads and writes in one transaction and builds the response. Responses carry only
/// <c>header.revision</c>; the caller fills cluster_id, member_id and raft_term.
/// <para>Requests are expected to have passed the API's checks (KvRequestValidation in the gRPC services, etcd's
/// v3rpc/key.go). Errors are <see cref="EtcdException"/>s from <see cref="EtcdErrors"/>; a write request that fails with
/// one leaves the store unchanged (its raft index is still recorded). Stateless; call it on the store's thread.</para>
/// </summary>
public static partial class KvApplier
{
    /// <summary>
    /// KV.Range at the current revision or at <c>request.revision</c> (applierV3backend.Range): single key /
    /// [key, range_end) / "\0" from-key; <c>count</c> is the number of keys in the range at that revision before the
    /// min/max mod/create revision filters and before <c>limit</c>; <c>more</c> is set when more than <c>limit</c> keys
    /// passed the filters; sort_order NONE with a non-KEY sort_target sorts ASCEND (ties keep key order, DESCEND is the
    /// exact reverse); keys_only drops values; count_only returns no kvs. header.revision = the current revision.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.FutureRev</c> when revision &gt; current; <c>EtcdErrors.Compacted</c>
    /// when 0 &lt; revision &lt; compact revision.</exception>
    public static RangeResponse Range(MvccStore store, RangeRequest request) => Range(store.Read(), request);

    /// <summary>
    /// KV.Put at raft index <paramref name="index"/> (applierV3backend.Put): new revision, version +1 (1 for a new
    /// generation), create_revision kept within a generation; ignore_value / ignore_lease reuse the previous value /
    /// lease; prev_kv returns the previous KeyValue. header.revision = the new revision.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.LeaseNotFound</c> for a non-zero lease the store's lessor does not
    /// know; <c>EtcdErrors.KeyNotFound</c> for ignore_value / ignore_lease on a missing key.</exception>
    public static PutResponse Put(MvccStore store, PutRequest request, ulong index) =>
        store.Write(index, (Store: store, Request: request), static (txn, s) =>
        {
            if (s.Request.Lease != 0 && !s.Store.LeaseExists(s.Request.Lease)) throw EtcdErrors.LeaseNotFound;
            return Put(txn, s.Request);
        });

    /// <summary>
    /// KV.DeleteRange at raft index <paramref name="index"/>: deletes the single key / [key, range_end) / "\0" from-key,
    /// one tombstone per existing key, all in one revision; deleting nothing creates no revision; prev_kv returns the
    /// deleted KeyValues. header.revision = the new revision, or the current one when nothing was deleted.
    /// </summary>
    public static DeleteRangeResponse DeleteRange(MvccStore store, DeleteRangeRequest request, ulong index) =>
        store.Write(index, request, static (txn, r) => DeleteRange(txn, r));

    /// <summary>
    /// KV.Compact at raft index <paramref name="index"/> (etcd's store.Compact through the applier): drops every version
    /// superseded at or before <c>request.revision</c>; creates no revision. header.revision = the current revision.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.Compacted</c> when revision &lt;= compact revision;
    /// <c>EtcdErrors.FutureRev</c> when revision &gt; current.</exception>
    public static CompactionResponse Compaction(MvccStore store, CompactionRequest request, ulong index)
    {
        store.Compact(request.Revision, index);
        return new CompactionResponse { Header = new ResponseHeader { Revision = store.CurrentRevision } };
    }

    /// <summary>Range inside a transaction, at the transaction's revision.</summary>
    private static RangeResponse Range(MvccTxn txn, RangeRequest request)
    {
        Metrics.EtcdMetrics.Ranges.Inc();
        var limit = request.Limit;
        var filtered = request.MinModRevision != 0 || request.MaxModRevision != 0 ||
                       request.MinCreateRevision != 0 || request.MaxCreateRevision != 0;
        if (request.SortOrder != SortOrder.None || filtered) limit = 0; // fetch everything; sort and truncate afterwards
        if (limit > 0) limit++; // one extra for 'more'

        var result = txn.Range(request.Key, request.RangeEnd, new RangeOptions(limit, request.Revision, request.CountOnly));
        var kvs = result.KeyValues;
        if (filtered)
        {
            var kept = 0;
            for (var i = 0; i < kvs.Count; i++)
            {
                var kv = kvs[i];
                if (request.MaxModRevision != 0 && kv.ModRevision > request.MaxModRevision) continue;
                if (request.MinModRevision != 0 && kv.ModRevision < request.MinModRevision) continue;
                if (request.MaxCreateRevision != 0 && kv.CreateRevision > request.MaxCreateRevision) continue;
                if (request.MinCreateRevision != 0 && kv.CreateRevision < request.MinCreateRevision) continue;
                kvs[kept++] = kv;
            }
            kvs.RemoveRange(kept, kvs.Count - kept);
        }

        var sortOrder = request.SortOrder;
        if (request.SortTarget != SortTarget.Key && sortOrder == SortOrder.None) sortOrder = SortOrder.Ascend;
        if (sortOrder is SortOrder.Ascend or SortOrder.Descend) Sort(kvs, request.SortTarget, sortOrder == SortOrder.Descend);

        var response = new RangeResponse { Header = new ResponseHeader { Revision = txn.Revision }, Count = result.Count };
        if (request.Limit > 0 && kvs.Count > request.Limit)
        {
            kvs.RemoveRange((int)request.Limit, kvs.Count - (int)request.Limit);
            response.More = true;
        }
        if (request.KeysOnly)
            foreach (var kv in kvs) kv.Value = ByteString.Empty;
        response.Kvs.AddRange(kvs);
        return response;
    }

    /// <summary>Put inside a write transaction; the lease was checked by the caller.</summary>
    private static PutResponse Put(MvccTxn txn, PutRequest request)
    {
        Metrics.EtcdMetrics.Puts.Inc();
        KeyValue? previous = null;
        if (request.IgnoreValue || request.IgnoreLease || request.PrevKv)
            previous = txn.Get(request.Key);
        if ((request.IgnoreValue || request.IgnoreLease) && previous is null) throw EtcdErrors.KeyNotFound;
        var value = request.IgnoreValue ? previous!.Value : request.Value;
        var lease = request.IgnoreLease ? previous!.Lease : request.Lease;
        var response = new PutResponse();
        if (request.PrevKv && previous is not null) response.PrevKv = previous;
        var revision = txn.Put(request.Key, value, lease);
        response.Header = new ResponseHeader { Revision = revision };
        return response;
    }

    /// <summary>DeleteRange inside a write transaction.</summary>
    private static DeleteRangeResponse DeleteRange(MvccTxn txn, DeleteRangeRequest request)
    {
        Metrics.EtcdMetrics.Deletes.Inc();
        var response = new DeleteRangeResponse();
        if (request.PrevKv)
            response.PrevKvs.AddRange(txn.Range(request.Key, request.RangeEnd, default).KeyValues);
        response.Deleted = txn.DeleteRange(request.Key, request.RangeEnd);
        response.Header = new ResponseHeader { Revision = txn.Revision };
        return response;
    }

    /// <summary>Sorts by the target (ties by key, the natural order); DESCEND is the exact reverse of ASCEND.</summary>
    private static void Sort(List<KeyValue> kvs, SortTarget target, bool descend)
    {
        Comparison<KeyValue> byTarget = target switch
        {
            SortTarget.Version => static (a, b) => a.Version.CompareTo(b.Version),
            SortTarget.Create => static (a, b) => a.CreateRevision.CompareTo(b.CreateRevision),
            SortTarget.Mod => static (a, b) => a.ModRevision.CompareTo(b.ModRevision),
            SortTarget.Value => static (a, b) => a.Value.Span.SequenceCompareTo(b.Value.Span),
            _ => static (_, _) => 0,
        };
        kvs.Sort((a, b) =>
        {
            var c = byTarget(a, b);
            return c != 0 ? c : a.Key.Span.SequenceCompareTo(b.Key.Span);
        });
        if (descend) kvs.Reverse();
    }
}
