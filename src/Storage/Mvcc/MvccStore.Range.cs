using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc.Index;
using Etcdserverpb;
using Mvccpb;
using SortOrder = Etcdserverpb.RangeRequest.Types.SortOrder;
using SortTarget = Etcdserverpb.RangeRequest.Types.SortTarget;

namespace Akka.Etcd.Storage.Mvcc;

public sealed partial class MvccStore
{
    /// <summary>
    /// Range read at the current revision or at <c>request.revision</c> (etcd's applierV3backend.Range):
    /// single key / [key, range_end) / "\0" from-key; <c>count</c> is the number of keys in the range at that revision
    /// before the min/max mod/create revision filters and before <c>limit</c>; <c>more</c> is set when more than
    /// <c>limit</c> keys passed the filters; sort_order NONE with a non-KEY sort_target sorts ASCEND (ties keep key order,
    /// DESCEND is the exact reverse); keys_only drops values; count_only returns no kvs. header.revision = current revision.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.FutureRev</c> when revision &gt; current;
    /// <c>EtcdErrors.Compacted</c> when 0 &lt; revision &lt; compact revision.</exception>
    public RangeResponse Range(RangeRequest request) => RangeCore(request, _currentRevision);

    /// <summary>
    /// The KeyValue of <paramref name="key"/> visible at <paramref name="atRevision"/> (&lt;= 0 = current), or null when the
    /// key does not exist then (used for prev_kv).
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.FutureRev</c> / <c>EtcdErrors.Compacted</c> as for <see cref="Range"/>.</exception>
    public KeyValue? Get(byte[] key, long atRevision)
    {
        var revision = ResolveReadRevision(atRevision, _currentRevision);
        return ReadVisible(key, revision);
    }

    /// <summary>
    /// The events of revisions <paramref name="fromRevision"/>..<paramref name="toRevisionInclusive"/> (clamped to the
    /// current revision) on keys in the range (<paramref name="rangeEnd"/> null/empty = the single key, "\0" = from key),
    /// read from the backend in revision order, for watchers catching up. PUT events carry the full KeyValue, DELETE
    /// events the key and mod_revision. The result is materialised: callers should ask for bounded revision windows.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.Compacted</c> when fromRevision &lt; compact revision (etcd's watch rule).</exception>
    public IEnumerable<Event> EventsBetween(long fromRevision, long toRevisionInclusive, byte[] key, byte[]? rangeEnd)
    {
        if (fromRevision < _compactRevision) throw EtcdErrors.Compacted;
        var from = Math.Max(fromRevision, 1);
        var to = Math.Min(toRevisionInclusive, _currentRevision);
        var events = new List<Event>();
        if (from > to) return events;
        var range = KeyRange.From(key, rangeEnd);
        _backend.ForEachRevision(from, to, withValues: true, row =>
        {
            if (!range.Contains(row.Key)) return;
            var keyBytes = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(row.Key);
            events.Add(row.Tombstone
                ? new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = keyBytes, ModRevision = row.Main } }
                : new Event
                {
                    Type = Event.Types.EventType.Put,
                    Kv = new KeyValue
                    {
                        Key = keyBytes,
                        Value = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(row.Value),
                        CreateRevision = row.CreateRevision,
                        ModRevision = row.Main,
                        Version = row.Version,
                        Lease = row.Lease,
                    },
                });
        });
        return events;
    }

    /// <summary>etcd's rangeKeys revision checks: future first, then compacted; 0 or less means current.</summary>
    long ResolveReadRevision(long requested, long current)
    {
        if (requested > current) throw EtcdErrors.FutureRev;
        var revision = requested <= 0 ? current : requested;
        if (revision < _compactRevision) throw EtcdErrors.Compacted;
        return revision;
    }

    RangeResponse RangeCore(RangeRequest request, long current)
    {
        var limit = request.Limit;
        var filtered = request.MinModRevision != 0 || request.MaxModRevision != 0 ||
                       request.MinCreateRevision != 0 || request.MaxCreateRevision != 0;
        if (request.SortOrder != SortOrder.None || filtered) limit = 0; // fetch everything; sort and truncate afterwards
        if (limit > 0) limit++; // one extra for 'more'

        var revision = ResolveReadRevision(request.Revision, current);
        var range = KeyRange.From(request.Key, request.RangeEnd);

        // collect the visible revisions (count all, keep up to limit for reading)
        long count = 0;
        var wanted = new List<(KeyEntry Entry, IndexedRevision Revision)>();
        if (range.IsSingleKey)
        {
            var entry = _index.Find(range.Key);
            if (entry is not null && entry.TryGetVisible(revision, out var r))
            {
                count = 1;
                if (!request.CountOnly) wanted.Add((entry, r));
            }
        }
        else
        {
            foreach (var entry in _index.Range(range.Key, range.End))
            {
                if (!entry.TryGetVisible(revision, out var r)) continue;
                count++;
                if (!request.CountOnly && (limit <= 0 || wanted.Count < limit)) wanted.Add((entry, r));
            }
        }

        var kvs = new List<KeyValue>(wanted.Count);
        foreach (var (entry, r) in wanted) kvs.Add(ReadKeyValue(entry, r));

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

        var response = new RangeResponse { Header = new ResponseHeader { Revision = current }, Count = count };
        if (request.Limit > 0 && kvs.Count > request.Limit)
        {
            kvs.RemoveRange((int)request.Limit, kvs.Count - (int)request.Limit);
            response.More = true;
        }
        if (request.KeysOnly)
            foreach (var kv in kvs) kv.Value = Google.Protobuf.ByteString.Empty;
        response.Kvs.AddRange(kvs);
        return response;
    }

    /// <summary>Sorts by the target (ties by key, the natural order); DESCEND is the exact reverse of ASCEND.</summary>
    static void Sort(List<KeyValue> kvs, SortTarget target, bool descend)
    {
        Comparison<KeyValue> byTarget = target switch
        {
            SortTarget.Version => static (a, b) => a.Version.CompareTo(b.Version),
            SortTarget.Create => static (a, b) => a.CreateRevision.CompareTo(b.CreateRevision),
            SortTarget.Mod => static (a, b) => a.ModRevision.CompareTo(b.ModRevision),
            SortTarget.Value => static (a, b) => KeyIndex.CompareKeys(a.Value.Span, b.Value.Span),
            _ => static (_, _) => 0,
        };
        kvs.Sort((a, b) =>
        {
            var c = byTarget(a, b);
            return c != 0 ? c : KeyIndex.CompareKeys(a.Key.Span, b.Key.Span);
        });
        if (descend) kvs.Reverse();
    }
}
