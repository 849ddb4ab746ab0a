namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// Thrown by an <see cref="IRaftLogStorage"/> when the requested index is older than its first index because the
/// log was compacted (etcd raft's <c>ErrCompacted</c>).
/// </summary>
public sealed class RaftLogCompactedException : Exception
{
    /// <summary>Creates the exception for a requested index below the storage's first index.</summary>
    /// <param name="index">The index that was asked for.</param>
    /// <param name="firstIndex">The first index still held by the storage.</param>
    public RaftLogCompactedException(ulong index, ulong firstIndex)
        : base($"requested index {index} is unavailable due to compaction (first index {firstIndex})")
    {
        Index = index;
        FirstIndex = firstIndex;
    }

    /// <summary>The log index that was asked for.</summary>
    public ulong Index { get; }

    /// <summary>The first log index still held by the storage.</summary>
    public ulong FirstIndex { get; }
}

/// <summary>
/// Thrown by an <see cref="IRaftLogStorage"/> when the requested index is beyond its last index
/// (etcd raft's <c>ErrUnavailable</c>).
/// </summary>
public sealed class RaftLogUnavailableException : Exception
{
    /// <summary>Creates the exception for a requested index above the storage's last index.</summary>
    /// <param name="index">The index that was asked for.</param>
    /// <param name="lastIndex">The last index held by the storage.</param>
    public RaftLogUnavailableException(ulong index, ulong lastIndex)
        : base($"requested entry at index {index} is unavailable (last index {lastIndex})")
    {
        Index = index;
        LastIndex = lastIndex;
    }

    /// <summary>The log index that was asked for.</summary>
    public ulong Index { get; }

    /// <summary>The last log index held by the storage.</summary>
    public ulong LastIndex { get; }
}

/// <summary>
/// Thrown when a snapshot older than (or as old as) the one already held is applied or created
/// (etcd raft's <c>ErrSnapOutOfDate</c>).
/// </summary>
public sealed class SnapshotOutOfDateException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="requestedIndex">The index of the snapshot that was applied or asked for.</param>
    /// <param name="currentIndex">The index of the snapshot already held.</param>
    public SnapshotOutOfDateException(ulong requestedIndex, ulong currentIndex)
        : base($"requested index {requestedIndex} is older than the existing snapshot at index {currentIndex}")
    {
        RequestedIndex = requestedIndex;
        CurrentIndex = currentIndex;
    }

    /// <summary>The index of the snapshot that was applied or asked for.</summary>
    public ulong RequestedIndex { get; }

    /// <summary>The index of the snapshot already held.</summary>
    public ulong CurrentIndex { get; }
}

/// <summary>
/// Thrown by <see cref="IRaftLogStorage.Snapshot"/> when a snapshot is being built and cannot be handed out yet
/// (etcd raft's <c>ErrSnapshotTemporarilyUnavailable</c>). The leader retries on a later append.
/// </summary>
public sealed class SnapshotTemporarilyUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SnapshotTemporarilyUnavailableException()
        : base("snapshot is temporarily unavailable")
    {
    }
}
