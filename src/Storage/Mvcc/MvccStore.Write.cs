using Akka.Etcd.Storage.Mvcc.Index;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Storage.Mvcc;

public sealed partial class MvccStore
{
    /// <summary><see cref="MvccTxn.Put"/>: one put at the transaction's revision; returns that revision.</summary>
    internal long PutKey(ReadOnlySpan<byte> key, ByteString value, long lease)
    {
        PutCore(key, value, lease);
        return _beginRevision + 1;
    }

    /// <summary><see cref="MvccTxn.DeleteRange"/>: tombstones every key of the range visible at the transaction's revision.</summary>
    internal long DeleteKeys(ByteString key, ByteString rangeEnd)
    {
        var range = KeyRange.From(key, rangeEnd);
        var readRevision = WriteReadRevision;
        if (range.IsSingleKey)
        {
            var entry = _index.Find(range.Key);
            if (entry is null || !entry.TryGetVisible(readRevision, out _)) return 0;
            TombstoneCore(entry);
            return 1;
        }
        var doomed = new List<KeyEntry>();
        foreach (var entry in _index.Range(range.Key, range.End))
            if (entry.TryGetVisible(readRevision, out _)) doomed.Add(entry);
        foreach (var entry in doomed) TombstoneCore(entry);
        return doomed.Count;
    }

    /// <summary><see cref="MvccTxn.Get"/>: the key's KeyValue at the transaction's revision, or null.</summary>
    internal KeyValue? GetVisible(ByteString key) => ReadVisible(key.Span, WriteReadRevision);

    /// <summary><see cref="MvccTxn.TryGetLive"/>.</summary>
    internal bool TryGetLive(ByteString key, out LiveKey live)
    {
        if (_index.Find(key.Span) is { IsLive: true } entry)
        {
            live = new LiveKey(entry);
            return true;
        }
        live = default;
        return false;
    }

    /// <summary><see cref="MvccTxn.LiveKeys"/>.</summary>
    internal IEnumerable<LiveKey> LiveKeys(ByteString key, ByteString rangeEnd)
    {
        var range = KeyRange.From(key, rangeEnd);
        if (range.IsSingleKey)
        {
            if (_index.Find(range.Key) is { IsLive: true } single) yield return new LiveKey(single);
            yield break;
        }
        foreach (var entry in _index.Range(range.Key, range.End))
            if (entry.IsLive) yield return new LiveKey(entry);
    }

    /// <summary><see cref="MvccTxn.Read"/>.</summary>
    internal KeyValue ReadLatest(LiveKey key) => ReadKeyValue(key.Entry, key.Entry.Newest);
}
