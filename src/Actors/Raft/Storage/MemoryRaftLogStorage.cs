using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// An in-memory <see cref="IRaftLogStorage"/> like etcd raft's <c>MemoryStorage</c> (raft/storage.go): the member
/// fills it from the WAL on start, appends <see cref="Ready.Entries"/>, sets <see cref="Ready.HardState"/> and applies
/// <see cref="Ready.Snapshot"/> on every Ready. Not thread-safe, on purpose: like the rest of the core it is owned by
/// one caller (the RaftActor), which also compacts it and makes snapshots from it.
/// </summary>
public sealed class MemoryRaftLogStorage : IRaftLogStorage
{
    private HardState _hardState = new();
    private Snapshot _snapshot = EmptySnapshot();

    // _entries[0] is a dummy entry carrying the index and term of the last compacted entry (or the snapshot).
    private List<Entry> _entries = [new Entry()];

    /// <inheritdoc />
    public (HardState HardState, ConfState ConfState) InitialState()
    {
        return (_hardState.Clone(), (_snapshot.Metadata.ConfState ?? new ConfState()).Clone());
    }

    /// <summary>Saves the current <see cref="HardState"/> (term, vote, commit index).</summary>
    /// <param name="hardState">The state to keep; copied.</param>
    public void SetHardState(HardState hardState)
    {
        ArgumentNullException.ThrowIfNull(hardState);
        _hardState = hardState.Clone();
    }

    /// <inheritdoc />
    public IReadOnlyList<Entry> Entries(ulong lo, ulong hi, ulong maxSize)
    {
        var offset = _entries[0].Index;
        if (lo <= offset)
        {
            throw new RaftLogCompactedException(lo, offset + 1);
        }

        if (hi > LastIndexLocked() + 1)
        {
            throw new RaftLogUnavailableException(hi - 1, LastIndexLocked());
        }

        if (lo > hi)
        {
            throw new ArgumentOutOfRangeException(nameof(lo), $"invalid range [{lo}, {hi})");
        }

        var slice = _entries.GetRange((int)(lo - offset), (int)(hi - lo));
        return EntrySizes.Limit(slice, maxSize);
    }

    /// <inheritdoc />
    public ulong Term(ulong index)
    {
        var offset = _entries[0].Index;
        if (index < offset)
        {
            throw new RaftLogCompactedException(index, offset + 1);
        }

        if (index - offset >= (ulong)_entries.Count)
        {
            throw new RaftLogUnavailableException(index, LastIndexLocked());
        }

        return _entries[(int)(index - offset)].Term;
    }

    /// <inheritdoc />
    public ulong FirstIndex()
    {
        return _entries[0].Index + 1;
    }

    /// <inheritdoc />
    public ulong LastIndex()
    {
        return LastIndexLocked();
    }

    /// <inheritdoc />
    public Snapshot Snapshot()
    {
        return _snapshot.Clone();
    }

    /// <summary>
    /// Replaces the whole log by <paramref name="snapshot"/>: every entry is dropped and the snapshot's index and term
    /// become the dummy entry (etcd's <c>MemoryStorage.ApplySnapshot</c>).
    /// </summary>
    /// <exception cref="SnapshotOutOfDateException">The held snapshot is as new or newer.</exception>
    public void ApplySnapshot(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var metadata = snapshot.Metadata ?? new SnapshotMetadata();
        if (_snapshot.Metadata.Index >= metadata.Index)
        {
            throw new SnapshotOutOfDateException(metadata.Index, _snapshot.Metadata.Index);
        }

        _snapshot = snapshot.Clone();
        _snapshot.Metadata ??= new SnapshotMetadata();
        _snapshot.Metadata.ConfState ??= new ConfState();
        _entries = [new Entry { Index = metadata.Index, Term = metadata.Term }];
    }

    /// <summary>
    /// Makes a snapshot at <paramref name="index"/> holding <paramref name="data"/> (the applied state machine) and
    /// the configuration <paramref name="confState"/> (kept from the previous snapshot when null). The log is not
    /// compacted; call <see cref="Compact"/> for that.
    /// </summary>
    /// <returns>A copy of the new snapshot.</returns>
    /// <exception cref="SnapshotOutOfDateException"><paramref name="index"/> is at or below the held snapshot.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is past the last index.</exception>
    public Snapshot CreateSnapshot(ulong index, ConfState? confState, ReadOnlyMemory<byte> data)
    {
        if (index <= _snapshot.Metadata.Index)
        {
            throw new SnapshotOutOfDateException(index, _snapshot.Metadata.Index);
        }

        if (index > LastIndexLocked())
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"snapshot {index} is out of bound last index {LastIndexLocked()}");
        }

        var offset = _entries[0].Index;
        var metadata = new SnapshotMetadata
        {
            Index = index,
            Term = _entries[(int)(index - offset)].Term,
            ConfState = confState?.Clone() ?? _snapshot.Metadata.ConfState.Clone(),
        };
        _snapshot = new Snapshot { Metadata = metadata, Data = Google.Protobuf.ByteString.CopyFrom(data.Span) };
        return _snapshot.Clone();
    }

    /// <summary>
    /// Drops every entry before <paramref name="compactIndex"/>; the entry at <paramref name="compactIndex"/> becomes
    /// the dummy, so FirstIndex becomes <paramref name="compactIndex"/> + 1. The application must only compact entries
    /// it has applied (etcd's <c>MemoryStorage.Compact</c>).
    /// </summary>
    /// <exception cref="RaftLogCompactedException">Already compacted to this index.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="compactIndex"/> is past the last index.</exception>
    public void Compact(ulong compactIndex)
    {
        var offset = _entries[0].Index;
        if (compactIndex <= offset)
        {
            throw new RaftLogCompactedException(compactIndex, offset + 1);
        }

        if (compactIndex > LastIndexLocked())
        {
            throw new ArgumentOutOfRangeException(nameof(compactIndex), $"compact {compactIndex} is out of bound last index {LastIndexLocked()}");
        }

        var i = (int)(compactIndex - offset);
        var kept = new List<Entry>(_entries.Count - i) { new Entry { Index = _entries[i].Index, Term = _entries[i].Term } };
        kept.AddRange(_entries.Skip(i + 1));
        _entries = kept;
    }

    /// <summary>
    /// Appends <paramref name="entries"/> (consecutive indexes), replacing any held entries from the first new index
    /// on (a conflicting suffix is truncated). Entries at or below the compacted index are skipped.
    /// </summary>
    /// <exception cref="ArgumentException">The first new index leaves a gap after the last index.</exception>
    public void Append(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        var first = _entries[0].Index + 1;
        var last = entries[0].Index + (ulong)entries.Count - 1;
        if (last < first)
        {
            return;
        }

        var skip = first > entries[0].Index ? (int)(first - entries[0].Index) : 0;
        var startIndex = entries[skip].Index;
        var offset = startIndex - _entries[0].Index;
        if ((ulong)_entries.Count < offset)
        {
            throw new ArgumentException($"missing log entry [last: {LastIndexLocked()}, append at: {startIndex}]", nameof(entries));
        }

        if ((ulong)_entries.Count > offset)
        {
            _entries.RemoveRange((int)offset, _entries.Count - (int)offset);
        }

        for (var i = skip; i < entries.Count; i++)
        {
            _entries.Add(entries[i]);
        }
    }

    private ulong LastIndexLocked() => _entries[0].Index + (ulong)_entries.Count - 1;

    private static Snapshot EmptySnapshot() =>
        new() { Metadata = new SnapshotMetadata { ConfState = new ConfState() } };
}
