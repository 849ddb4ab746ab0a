namespace Akka.Etcd.Storage.Mvcc;

/// <summary>
/// How <see cref="MvccTxn.Range"/> reads (etcd mvcc.RangeOptions).
/// </summary>
/// <param name="Limit">Most KeyValues returned, in key order; 0 or less = all. <see cref="RangeResult.Count"/> is not
/// limited by it.</param>
/// <param name="Revision">The revision to read at; 0 or less = the transaction's revision.</param>
/// <param name="CountOnly">Count the keys only: <see cref="RangeResult.KeyValues"/> stays empty.</param>
public readonly record struct RangeOptions(long Limit = 0, long Revision = 0, bool CountOnly = false);
