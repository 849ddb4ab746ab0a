using Akka.Etcd.Storage.FileSystem;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Storage.Wal;

/// <summary>Settings of a <see cref="WriteAheadLog"/> (etcd 3.4 defaults).</summary>
public sealed record WalOptions
{
    /// <summary>Size in bytes each segment file is preallocated to; a segment is cut (rolled over) before a write
    /// that would grow it past this. etcd: 64 MiB (wal.SegmentSizeBytes). Must be at least 4096.</summary>
    public long SegmentSizeBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Segments kept by <see cref="WriteAheadLog.ReleaseTo"/>: released segments are deleted, oldest first,
    /// only while more than this many segments exist. 0 = keep all (etcd <c>--max-wals</c>, default 5).</summary>
    public int MaxSegmentsToKeep { get; init; } = 5;

    /// <summary>The file seam; <see cref="PhysicalFileSystem.Instance"/> unless a test swaps it.</summary>
    public IStorageFileSystem FileSystem { get; init; } = PhysicalFileSystem.Instance;

    /// <summary>Receives warnings about repaired torn tails.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;
}
