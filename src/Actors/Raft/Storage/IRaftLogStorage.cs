using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// The stable (persisted) part of the Raft log, read by the Raft core; follows etcd raft's <c>Storage</c> interface
/// (raft/storage.go). Index 0 / the entry at <c>FirstIndex - 1</c> is a dummy that only carries the term of the last
/// compacted entry (or of the snapshot). Implementations are written by the application; the core only reads.
/// </summary>
public interface IRaftLogStorage
{
    /// <summary>
    /// The persisted <see cref="HardState"/> (term, vote, commit) and <see cref="ConfState"/> (voters, learners)
    /// the core starts from.
    /// </summary>
    (HardState HardState, ConfState ConfState) InitialState();

    /// <summary>
    /// The entries in [<paramref name="lo"/>, <paramref name="hi"/>), limited so that their total protobuf size stays
    /// within <paramref name="maxSize"/> bytes, but always at least one entry when the range is not empty.
    /// </summary>
    /// <exception cref="RaftLogCompactedException"><paramref name="lo"/> is at or below the compacted index.</exception>
    /// <exception cref="RaftLogUnavailableException">The range reaches past the last index.</exception>
    IReadOnlyList<Entry> Entries(ulong lo, ulong hi, ulong maxSize);

    /// <summary>
    /// The term of the entry at <paramref name="index"/>, which must be in [FirstIndex - 1, LastIndex]; the term of
    /// <c>FirstIndex - 1</c> is kept for matching even though the entry itself was compacted.
    /// </summary>
    /// <exception cref="RaftLogCompactedException"><paramref name="index"/> is below FirstIndex - 1.</exception>
    /// <exception cref="RaftLogUnavailableException"><paramref name="index"/> is above LastIndex.</exception>
    ulong Term(ulong index);

    /// <summary>The index of the first entry still available (the entry at FirstIndex - 1 was compacted).</summary>
    ulong FirstIndex();

    /// <summary>The index of the last entry in the log (FirstIndex - 1 when the log holds no entry).</summary>
    ulong LastIndex();

    /// <summary>The most recent snapshot (an empty one, index 0, when none was made yet).</summary>
    /// <exception cref="SnapshotTemporarilyUnavailableException">A snapshot is being made; ask again later.</exception>
    Snapshot Snapshot();
}
