using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Storage.Mvcc;

/// <summary>
/// One read or write transaction on an <see cref="MvccStore"/> (etcd's mvcc TxnRead / TxnWrite): all writes of a write
/// transaction share one new revision (sub-revisions 0, 1, ... in call order), and reads inside it see its earlier
/// writes. Obtained from <see cref="MvccStore.Write{TState, TResult}"/> (valid inside the callback) or
/// <see cref="MvccStore.Read"/> (valid until the next write). Use it on the store's thread only.
/// <para>Errors: reads throw <see cref="Protos.Errors.EtcdException"/> <c>EtcdErrors.FutureRev</c> /
/// <c>EtcdErrors.Compacted</c> for a revision after <see cref="Revision"/> / before <see cref="CompactRevision"/>; writes on
/// a read transaction throw <see cref="InvalidOperationException"/>.</para>
/// </summary>
public readonly struct MvccTxn
{
    private readonly MvccStore _store;
    private readonly bool _writable;

    internal MvccTxn(MvccStore store, bool writable)
    {
        _store = store;
        _writable = writable;
    }

    /// <summary>The store revision before this transaction (etcd's beginRev).</summary>
    public long BeginRevision => _store.TxnBeginRevision;

    /// <summary>
    /// The revision reads see and responses report: <see cref="BeginRevision"/>, or the transaction's new revision once it
    /// has written something.
    /// </summary>
    public long Revision => _store.TxnRevision;

    /// <summary>True once the transaction has written (it will create one new revision).</summary>
    public bool HasChanges => _store.TxnHasChanges;

    /// <summary>The store's compact revision (-1 when never compacted); reads below it fail.</summary>
    public long CompactRevision => _store.CompactRevision;

    /// <summary>
    /// Reads the keys of a range: <paramref name="rangeEnd"/> empty = the single key <paramref name="key"/>, "\0" = every
    /// key &gt;= <paramref name="key"/>, else [key, rangeEnd).
    /// </summary>
    /// <exception cref="Protos.Errors.EtcdException"><c>FutureRev</c> when options.Revision &gt; <see cref="Revision"/>;
    /// <c>Compacted</c> when the revision read is below <see cref="CompactRevision"/>.</exception>
    public RangeResult Range(ByteString key, ByteString rangeEnd, RangeOptions options) => _store.RangeKeys(key, rangeEnd, options);

    /// <summary>The KeyValue of <paramref name="key"/> visible at <see cref="Revision"/>, or null when it does not exist.</summary>
    public KeyValue? Get(ByteString key) => _store.GetVisible(key);

    /// <summary>Finds <paramref name="key"/> in the key index when it exists (not deleted) at the latest revision.</summary>
    public bool TryGetLive(ByteString key, out LiveKey live) => _store.TryGetLive(key, out live);

    /// <summary>The keys of a range (as <see cref="Range"/> reads it) that exist at the latest revision, in key order.</summary>
    public IEnumerable<LiveKey> LiveKeys(ByteString key, ByteString rangeEnd) => _store.LiveKeys(key, rangeEnd);

    /// <summary>The stored KeyValue (value, lease, ...) of a <see cref="LiveKey"/>'s latest revision.</summary>
    public KeyValue Read(LiveKey key) => _store.ReadLatest(key);

    /// <summary>
    /// Puts <paramref name="value"/> (kept without copying when possible) at <paramref name="key"/> with
    /// <paramref name="lease"/> (0 = none): version +1 (1 for a new generation), create revision kept within a generation.
    /// Returns the transaction's revision. The lease is not checked: callers check it (<see cref="MvccStore.LeaseExists"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">A read transaction.</exception>
    public long Put(ByteString key, ByteString value, long lease)
    {
        ThrowIfReadOnly();
        return _store.PutKey(key.Span, value, lease);
    }

    /// <summary>
    /// Deletes the keys of a range (as <see cref="Range"/> reads it) that exist at <see cref="Revision"/>: one tombstone
    /// each. Returns how many were deleted (none: no change, no revision).
    /// </summary>
    /// <exception cref="InvalidOperationException">A read transaction.</exception>
    public long DeleteRange(ByteString key, ByteString rangeEnd)
    {
        ThrowIfReadOnly();
        return _store.DeleteKeys(key, rangeEnd);
    }

    private void ThrowIfReadOnly()
    {
        if (!_writable) throw new InvalidOperationException("a read transaction cannot write; writes go through MvccStore.Write at a raft index");
    }
}
