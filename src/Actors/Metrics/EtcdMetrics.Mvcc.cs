using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

public static partial class EtcdMetrics
{
    /// <summary><c>etcd_mvcc_db_total_size_in_bytes</c> (gauge): the backend file's size in bytes (what the quota is checked against).</summary>
    public static readonly Gauge DbTotalSize = Factory.CreateGauge("etcd_mvcc_db_total_size_in_bytes",
        "Total size of the underlying database physically allocated in bytes.");

    /// <summary><c>etcd_debugging_mvcc_db_total_size_in_bytes</c> (gauge): the same figure under the name etcd 3.4's sample dashboard queries.</summary>
    public static readonly Gauge DebuggingDbTotalSize = Factory.CreateGauge("etcd_debugging_mvcc_db_total_size_in_bytes",
        "Total size of the underlying database physically allocated in bytes.");

    /// <summary><c>etcd_mvcc_db_total_size_in_use_in_bytes</c> (gauge): bytes of the backend file in use (the rest is free pages).</summary>
    public static readonly Gauge DbTotalSizeInUse = Factory.CreateGauge("etcd_mvcc_db_total_size_in_use_in_bytes",
        "Total size of the underlying database logically in use in bytes.");

    /// <summary><c>etcd_mvcc_db_open_read_transactions</c> (gauge): open long read views (client snapshots in progress).</summary>
    public static readonly Gauge DbOpenReadTransactions = Factory.CreateGauge("etcd_mvcc_db_open_read_transactions",
        "The number of currently open read transactions");

    /// <summary><c>etcd_mvcc_range_total</c> (counter): ranges served, in Range calls and inside txns.</summary>
    public static readonly Counter Ranges = Factory.CreateCounter("etcd_mvcc_range_total", "Total number of ranges seen by this member.");

    /// <summary><c>etcd_mvcc_put_total</c> (counter): puts applied, in Put calls and inside txns.</summary>
    public static readonly Counter Puts = Factory.CreateCounter("etcd_mvcc_put_total", "Total number of puts seen by this member.");

    /// <summary><c>etcd_mvcc_delete_total</c> (counter): delete-ranges applied, in DeleteRange calls and inside txns.</summary>
    public static readonly Counter Deletes = Factory.CreateCounter("etcd_mvcc_delete_total", "Total number of deletes seen by this member.");

    /// <summary><c>etcd_mvcc_txn_total</c> (counter): txns applied or served.</summary>
    public static readonly Counter Txns = Factory.CreateCounter("etcd_mvcc_txn_total", "Total number of txns seen by this member.");

    /// <summary><c>etcd_debugging_mvcc_keys_total</c> (gauge): keys in the key index (live and with history).</summary>
    public static readonly Gauge Keys = Factory.CreateGauge("etcd_debugging_mvcc_keys_total", "Total number of keys.");

    /// <summary><c>etcd_debugging_mvcc_current_revision</c> (gauge): the store's revision.</summary>
    public static readonly Gauge CurrentRevision = Factory.CreateGauge("etcd_debugging_mvcc_current_revision",
        "The current revision of store.");

    /// <summary><c>etcd_debugging_mvcc_compact_revision</c> (gauge): the last compacted revision.</summary>
    public static readonly Gauge CompactRevision = Factory.CreateGauge("etcd_debugging_mvcc_compact_revision",
        "The revision of the last compaction in store.");

    /// <summary><c>etcd_debugging_mvcc_watch_stream_total</c> (gauge): open client Watch streams.</summary>
    public static readonly Gauge WatchStreams = Factory.CreateGauge("etcd_debugging_mvcc_watch_stream_total",
        "Total number of watch streams.");

    /// <summary><c>etcd_debugging_mvcc_watcher_total</c> (gauge): watchers over all streams.</summary>
    public static readonly Gauge Watchers = Factory.CreateGauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.");

    /// <summary><c>etcd_debugging_mvcc_slow_watcher_total</c> (gauge): watchers catching up from history (unsynced).</summary>
    public static readonly Gauge SlowWatchers = Factory.CreateGauge("etcd_debugging_mvcc_slow_watcher_total",
        "Total number of unsynced slow watchers.");

    /// <summary><c>etcd_debugging_mvcc_events_total</c> (counter): events sent to watchers.</summary>
    public static readonly Counter WatchEvents = Factory.CreateCounter("etcd_debugging_mvcc_events_total",
        "Total number of events sent by this member.");

    /// <summary><c>etcd_debugging_mvcc_db_compaction_keys_total</c> (counter): revisions removed by compactions.</summary>
    public static readonly Counter CompactedKeys = Factory.CreateCounter("etcd_debugging_mvcc_db_compaction_keys_total",
        "Total number of db keys compacted.");

    /// <summary><c>etcd_mvcc_hash_duration_seconds</c> (histogram, 10 ms × 2^i, 15 buckets): Hash calls.</summary>
    public static readonly Histogram HashDuration = Factory.CreateHistogram("etcd_mvcc_hash_duration_seconds",
        "The latency distribution of storage hash operation.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.01, 2, 15) });

    /// <summary><c>etcd_mvcc_hash_rev_duration_seconds</c> (histogram, 10 ms × 2^i, 15 buckets): HashKV calls.</summary>
    public static readonly Histogram HashRevisionDuration = Factory.CreateHistogram("etcd_mvcc_hash_rev_duration_seconds",
        "The latency distribution of storage hash by revision operation.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.01, 2, 15) });

    /// <summary><c>etcd_debugging_lease_granted_total</c> (counter): leases granted (applied).</summary>
    public static readonly Counter LeasesGranted = Factory.CreateCounter("etcd_debugging_lease_granted_total",
        "The total number of granted leases.");

    /// <summary><c>etcd_debugging_lease_revoked_total</c> (counter): leases revoked (applied; expiries included).</summary>
    public static readonly Counter LeasesRevoked = Factory.CreateCounter("etcd_debugging_lease_revoked_total",
        "The total number of revoked leases.");

    /// <summary><c>etcd_debugging_lease_renewed_total</c> (counter): keep-alives answered by the leader's lessor.</summary>
    public static readonly Counter LeasesRenewed = Factory.CreateCounter("etcd_debugging_lease_renewed_total",
        "The number of renewed leases seen by the leader.");

    /// <summary><c>etcd_debugging_lease_ttl_total</c> (histogram, 1 s × 2^i, 24 buckets): granted TTLs in seconds.</summary>
    public static readonly Histogram LeaseTtls = Factory.CreateHistogram("etcd_debugging_lease_ttl_total",
        "Bucketed histogram of lease TTLs.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(1, 2, 24) });

    /// <summary><c>akka_etcd_leases</c> (gauge, not an etcd metric): live leases in this member's applied state.</summary>
    public static readonly Gauge Leases = Factory.CreateGauge("akka_etcd_leases", "The number of live leases in the applied state.");
}
