using Raftpb;

namespace Akka.Etcd.Storage.Wal;

/// <summary>What <see cref="WriteAheadLog.Open"/> read back: the raft state to restart from.</summary>
public sealed class WalReadResult
{
    /// <summary>Creates the result.</summary>
    public WalReadResult(ulong memberId, ulong clusterId, HardState hardState, ulong snapshotIndex, ulong snapshotTerm,
        IReadOnlyList<Entry> entries)
        : this(memberId, clusterId, hardState, snapshotIndex, snapshotTerm, entries, new JournalSequence())
    {
    }

    /// <summary>Creates the result with the journal sequence numbers of what it holds.</summary>
    public WalReadResult(ulong memberId, ulong clusterId, HardState hardState, ulong snapshotIndex, ulong snapshotTerm,
        IReadOnlyList<Entry> entries, JournalSequence sequence)
    {
        Sequence = sequence;
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

    /// <summary>The journal sequence numbers (Akka.Persistence) of the events above.</summary>
    public JournalSequence Sequence { get; }

    /// <summary>
    /// The journal sequence numbers of a WAL read: each HardState, Entry and SnapshotMarker record is one event of the
    /// member's persistence id. Zero means "none" (or "not known" for a WAL without such events).
    /// </summary>
    public sealed record JournalSequence
    {
        /// <summary>Highest sequence number used (never lowered by a deletion).</summary>
        public long Highest { get; init; }

        /// <summary>Events up to this number were deleted (DeleteMessagesTo); replay skips the entries it covers.</summary>
        public long DeletedTo { get; init; }

        /// <summary>Sequence number of the record <see cref="HardState"/> came from.</summary>
        public long HardState { get; init; }

        /// <summary>Sequence number of the snapshot marker record (0 when there is no snapshot).</summary>
        public long Snapshot { get; init; }

        /// <summary>Sequence number of each of <see cref="Entries"/>, ascending.</summary>
        public IReadOnlyList<long> Entries { get; init; } = Array.Empty<long>();
    }
}
