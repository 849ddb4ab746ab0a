using Mvccpb;

namespace Akka.Etcd.Storage.Mvcc;

/// <summary>
/// What <see cref="MvccTxn.Range"/> read (etcd mvcc.RangeResult).
/// </summary>
/// <param name="KeyValues">The keys visible at <paramref name="Revision"/> in key order, at most the limit; a new list
/// per call that the caller may reorder or trim. Each KeyValue wraps the stored bytes without copying.</param>
/// <param name="Count">Number of keys in the range visible at that revision, regardless of the limit.</param>
/// <param name="Revision">The revision read at.</param>
public readonly record struct RangeResult(List<KeyValue> KeyValues, long Count, long Revision);
