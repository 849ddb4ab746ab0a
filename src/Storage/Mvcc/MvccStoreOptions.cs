using Akka.Etcd.Storage.Backend;

namespace Akka.Etcd.Storage.Mvcc;

/// <summary>Settings of an <see cref="MvccStore"/>.</summary>
public sealed class MvccStoreOptions
{
    /// <summary>Backend write ops per batch transaction before it is committed (etcd: 10,000). Must be &gt; 0.</summary>
    public int BatchLimit { get; init; } = SqliteBackend.DefaultBatchLimit;

    /// <summary>Rows examined per step of a compaction's physical deletion (etcd's compaction batch limit: 1,000).</summary>
    public int CompactionBatchLimit { get; init; } = 1_000;

    /// <summary>
    /// Tells whether a lease ID exists. Put (or a txn put) with a non-zero lease fails with
    /// <c>EtcdErrors.LeaseNotFound</c> unless this returns true; null means no lease exists.
    /// Called on the store's thread.
    /// </summary>
    public Func<long, bool>? LeaseExists { get; init; }
}
