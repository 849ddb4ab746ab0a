namespace Akka.Etcd.Actors.Server;

/// <summary>
/// The member's Raft and apply progress, published by the actors that own it and read lock-free by
/// anyone (API handlers, /health, Status). Each field is written by one actor only: Raft fields by the
/// RaftActor, <see cref="AppliedIndex"/> by the MvccStoreActor.
/// </summary>
public sealed class ServerStatus
{
    private long _term;
    private long _leader;
    private long _commitIndex;
    private long _lastIndex;
    private long _appliedIndex;
    private long _leaderChanges;
    private long _revision;
    private long _dbSizeBytes;

    /// <summary>This member's ID.</summary>
    public required ulong MemberId { get; init; }

    /// <summary>The cluster's ID.</summary>
    public required ulong ClusterId { get; init; }

    /// <summary>Current Raft term.</summary>
    public ulong Term { get => (ulong)Volatile.Read(ref _term); set => Volatile.Write(ref _term, (long)value); }

    /// <summary>Current leader's member ID; 0 when there is none.</summary>
    public ulong Leader
    {
        get => (ulong)Volatile.Read(ref _leader);
        set
        {
            var old = (ulong)Interlocked.Exchange(ref _leader, (long)value);
            if (old != value && value != 0)
            {
                Interlocked.Increment(ref _leaderChanges);
            }
        }
    }

    /// <summary>Times a (new) leader was seen (etcd_server_leader_changes_seen_total).</summary>
    public long LeaderChangesSeen => Volatile.Read(ref _leaderChanges);

    /// <summary>True when a leader is known.</summary>
    public bool HasLeader => Leader != 0;

    /// <summary>True when this member is the leader.</summary>
    public bool IsLeader => Leader == MemberId;

    /// <summary>Highest Raft index known committed.</summary>
    public ulong CommitIndex { get => (ulong)Volatile.Read(ref _commitIndex); set => Volatile.Write(ref _commitIndex, (long)value); }

    /// <summary>Last index in this member's Raft log.</summary>
    public ulong LastIndex { get => (ulong)Volatile.Read(ref _lastIndex); set => Volatile.Write(ref _lastIndex, (long)value); }

    /// <summary>The MVCC store's current revision, published by the MvccStoreActor after each apply.</summary>
    public long Revision { get => Volatile.Read(ref _revision); set => Volatile.Write(ref _revision, value); }

    /// <summary>Backend file size in bytes, published by the MvccStoreActor at every batch commit (100 ms) and install.</summary>
    public long DbSizeBytes { get => Volatile.Read(ref _dbSizeBytes); set => Volatile.Write(ref _dbSizeBytes, value); }

    /// <summary>Highest Raft index applied to the MVCC store.</summary>
    public ulong AppliedIndex { get => (ulong)Volatile.Read(ref _appliedIndex); set => Volatile.Write(ref _appliedIndex, (long)value); }
}
