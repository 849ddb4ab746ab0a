using Raftpb;

namespace Akka.Etcd.Storage.Wal;

/// <summary>What <see cref="WriteAheadLog.Open"/> read back: the raft state to restart from.</summary>
public sealed class WalReadResult
{
    /// <summary>Creates the result.</summary>
    public WalReadResult(ulong memberId, ulong clusterId, HardState hardState, ulong snapshotIndex, ulong snapshotTerm,
        IReadOnlyList<Entry> entries)
    {
        MemberId = memberId;
        ClusterId = clusterId;
        HardState = hardState;
        SnapshotIndex = snapshotIndex;
        SnapshotTerm = snapshotTerm;
        Entries = entries;
    }

    /// <summary>Member ID given to <see cref="WriteAheadLog.Create"/>.</summary>
    public ulong MemberId { get; }

    /// <summary>Cluster ID given to <see cref="WriteAheadLog.Create"/>.</summary>
    public ulong ClusterId { get; }

    /// <summary>The last HardState saved (an empty one when none was).</summary>
    public HardState HardState { get; }

    /// <summary>Raft index of the last snapshot marker (0 = none).</summary>
    public ulong SnapshotIndex { get; }

    /// <summary>Raft term of the last snapshot marker (0 = none).</summary>
    public ulong SnapshotTerm { get; }

    /// <summary>The entries after <see cref="SnapshotIndex"/> in index order, contiguous, with later writes of an index
    /// replacing the earlier suffix from that index (raft overwriting uncommitted entries).</summary>
    public IReadOnlyList<Entry> Entries { get; }
}
