using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

public static partial class EtcdMetrics
{
    /// <summary>
    /// <c>etcd_disk_wal_fsync_duration_seconds</c> (histogram, 1 ms × 2^i, 14 buckets): one observation per WAL fsync (one
    /// group commit), in seconds. Fed by the WAL journal right after its fsync.
    /// </summary>
    public static readonly Histogram WalFsyncDuration = Factory.CreateHistogram("etcd_disk_wal_fsync_duration_seconds",
        "The latency distributions of fsync called by WAL.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.001, 2, 14) });

    /// <summary><c>etcd_disk_wal_write_bytes_total</c> (gauge, as in etcd): bytes of entries and HardStates appended to the WAL.</summary>
    public static readonly Gauge WalWriteBytes = Factory.CreateGauge("etcd_disk_wal_write_bytes_total",
        "Total number of bytes written in WAL.");

    /// <summary>
    /// <c>etcd_disk_backend_commit_duration_seconds</c> (histogram, 1 ms × 2^i, 14 buckets): one observation per backend
    /// batch commit (every 100 ms while writes come, and the forced commits), in seconds. Fed by the MVCC store actor.
    /// </summary>
    public static readonly Histogram BackendCommitDuration = Factory.CreateHistogram("etcd_disk_backend_commit_duration_seconds",
        "The latency distributions of commit called by backend.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.001, 2, 14) });

    /// <summary><c>etcd_disk_backend_defrag_duration_seconds</c> (histogram, 100 ms × 2^i, 13 buckets): one observation per defragmentation.</summary>
    public static readonly Histogram BackendDefragDuration = Factory.CreateHistogram("etcd_disk_backend_defrag_duration_seconds",
        "The latency distribution of backend defragmentation.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.1, 2, 13) });

    /// <summary><c>etcd_disk_backend_snapshot_duration_seconds</c> (histogram, 10 ms × 2^i, 17 buckets): one observation per client snapshot sent.</summary>
    public static readonly Histogram BackendSnapshotDuration = Factory.CreateHistogram("etcd_disk_backend_snapshot_duration_seconds",
        "The latency distribution of backend snapshots.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.01, 2, 17) });

    /// <summary><c>etcd_disk_defrag_inflight</c> (gauge): 1 while a defragmentation runs.</summary>
    public static readonly Gauge DefragInflight = Factory.CreateGauge("etcd_disk_defrag_inflight",
        "Whether or not defrag is active on the member. 1 means active, 0 means not.");

    /// <summary><c>etcd_snap_fsync_duration_seconds</c> (histogram, 1 ms × 2^i, 14 buckets): fsyncs of Raft snapshot files.</summary>
    public static readonly Histogram SnapFsyncDuration = Factory.CreateHistogram("etcd_snap_fsync_duration_seconds",
        "The latency distributions of fsync called by snap.",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.001, 2, 14) });

    /// <summary><c>etcd_snap_db_save_total_duration_seconds</c> (histogram, 100 ms × 2^i, 10 buckets): saving a received backend snapshot.</summary>
    public static readonly Histogram SnapDbSaveDuration = Factory.CreateHistogram("etcd_snap_db_save_total_duration_seconds",
        "The total latency distributions of v3 snapshot save",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.1, 2, 10) });

    /// <summary><c>etcd_snap_db_fsync_duration_seconds</c> (histogram, 1 ms × 2^i, 14 buckets): fsync of a received backend snapshot.</summary>
    public static readonly Histogram SnapDbFsyncDuration = Factory.CreateHistogram("etcd_snap_db_fsync_duration_seconds",
        "The latency distributions of fsyncing .snap.db file",
        new HistogramConfiguration { Buckets = MetricsRegistry.Exponential(0.001, 2, 14) });
}
