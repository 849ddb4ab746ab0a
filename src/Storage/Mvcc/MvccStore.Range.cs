using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc.Index;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Storage.Mvcc;

public sealed partial class MvccStore
{
    /// <summary>
    /// The KeyValue of <paramref name="key"/> visible at <paramref name="atRevision"/> (&lt;= 0 = current), or null when the
    /// key does not exist then (used for prev_kv).
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.FutureRev</c> when atRevision &gt; current; <c>EtcdErrors.Compacted</c>
    /// when it is below the compact revision.</exception>
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
            var keyBytes = UnsafeByteOperations.UnsafeWrap(row.Key);
            events.Add(row.Tombstone
                ? new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = keyBytes, ModRevision = row.Main } }
                : new Event
                {
                    Type = Event.Types.EventType.Put,
                    Kv = new KeyValue
                    {
                        Key = keyBytes,
                        Value = UnsafeByteOperations.UnsafeWrap(row.Value),
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

    /// <summary><see cref="MvccTxn.Range"/> (etcd's storeTxnRead.rangeKeys): the visible keys, counted, up to the limit.</summary>
    internal RangeResult RangeKeys(ByteString key, ByteString rangeEnd, RangeOptions options)
    {
        var revision = ResolveReadRevision(options.Revision, WriteReadRevision);
        var range = KeyRange.From(key, rangeEnd);
        var limit = options.Limit;

        // collect the visible revisions (count all, keep up to limit for reading)
        long count = 0;
        List<KeyValue> kvs;
        if (range.IsSingleKey)
        {
            kvs = new List<KeyValue>(1);
            var entry = _index.Find(range.Key);
            if (entry is not null && entry.TryGetVisible(revision, out var r))
            {
                count = 1;
                if (!options.CountOnly) kvs.Add(ReadKeyValue(entry, r));
            }
            return new RangeResult(kvs, count, revision);
        }

        var wanted = new List<(KeyEntry Entry, IndexedRevision Revision)>();
        foreach (var entry in _index.Range(range.Key, range.End))
        {
            if (!entry.TryGetVisible(revision, out var r)) continue;
            count++;
            if (!options.CountOnly && (limit <= 0 || wanted.Count < limit)) wanted.Add((entry, r));
        }
        kvs = new List<KeyValue>(wanted.Count);
        foreach (var (entry, r) in wanted) kvs.Add(ReadKeyValue(entry, r));
        return new RangeResult(kvs, count, revision);
    }
}
