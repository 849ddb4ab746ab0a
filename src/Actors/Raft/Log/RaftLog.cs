using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// The Raft log as the core sees it: the stable <see cref="IRaftLogStorage"/> followed by the
/// <see cref="UnstableLog"/>, plus the committed and applied indexes (etcd raft's <c>raftLog</c>, raft/log.go).
/// Inconsistencies that mean a corrupt log throw <see cref="InvalidOperationException"/> (etcd panics).
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftLogStorage _storage;
    private readonly ulong _maxNextEntriesSize;

    public RaftLog(IRaftLogStorage storage, ulong maxNextEntriesSize)
    {
        _storage = storage;
        _maxNextEntriesSize = maxNextEntriesSize;
        var firstIndex = storage.FirstIndex();
        var lastIndex = storage.LastIndex();
        Unstable = new UnstableLog(lastIndex + 1);
        Committed = firstIndex - 1;
        Applied = firstIndex - 1;
    }

    /// <summary>Entries and snapshot not yet persisted.</summary>
    public UnstableLog Unstable { get; }

    /// <summary>The highest index known to be committed (stored on a quorum).</summary>
    public ulong Committed { get; set; }

    /// <summary>The highest index the application reported as applied.</summary>
    public ulong Applied { get; private set; }

    /// <summary>
    /// Appends the leader's <paramref name="entries"/> when the entry at <paramref name="index"/> has
    /// <paramref name="logTerm"/> (the log matching check), truncating a conflicting suffix, and moves the commit
    /// index up to min(<paramref name="committed"/>, last new index).
    /// </summary>
    /// <returns>The last index of the appended entries, or null when the log does not match.</returns>
    public ulong? MaybeAppend(ulong index, ulong logTerm, ulong committed, IReadOnlyList<Entry> entries)
    {
        if (!MatchTerm(index, logTerm))
        {
            return null;
        }

        var lastNewIndex = index + (ulong)entries.Count;
        var conflict = FindConflict(entries);
        if (conflict != 0)
        {
            if (conflict <= Committed)
            {
                throw new InvalidOperationException($"entry {conflict} conflicts with committed entry [committed({Committed})]");
            }

            var start = (int)(conflict - (index + 1));
            Append(entries.Skip(start).ToList());
        }

        CommitTo(Math.Min(committed, lastNewIndex));
        return lastNewIndex;
    }

    /// <summary>Appends <paramref name="entries"/> to the unstable log; returns the new last index.</summary>
    public ulong Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return LastIndex();
        }

        var after = entries[0].Index - 1;
        if (after < Committed)
        {
            throw new InvalidOperationException($"after({after}) is out of range [committed({Committed})]");
        }

        Unstable.TruncateAndAppend(entries);
        return LastIndex();
    }

    /// <summary>
    /// The index of the first entry of <paramref name="entries"/> whose term differs from the log's (or that is new),
    /// or 0 when every entry is already in the log.
    /// </summary>
    public ulong FindConflict(IReadOnlyList<Entry> entries)
    {
        foreach (var entry in entries)
        {
            if (!MatchTerm(entry.Index, entry.Term))
            {
                return entry.Index;
            }
        }

        return 0;
    }

    /// <summary>The entries not yet persisted (a copy).</summary>
    public Entry[] UnstableEntries() => [.. Unstable.Entries];

    /// <summary>Committed entries not yet applied, up to the configured batch size.</summary>
    public IReadOnlyList<Entry> NextEntries()
    {
        var offset = Math.Max(Applied + 1, FirstIndex());
        if (Committed + 1 > offset)
        {
            return Slice(offset, Committed + 1, _maxNextEntriesSize);
        }

        return [];
    }

    /// <summary>Whether there are committed entries not yet applied.</summary>
    public bool HasNextEntries() => Committed + 1 > Math.Max(Applied + 1, FirstIndex());

    /// <summary>The pending unstable snapshot, else the storage's.</summary>
    public Snapshot Snapshot() => Unstable.Snapshot ?? _storage.Snapshot();

    /// <summary>The first index held (unstable snapshot index + 1, else the storage's).</summary>
    public ulong FirstIndex() => Unstable.TryFirstIndex(out var i) ? i : _storage.FirstIndex();

    /// <summary>The last index held (unstable, else the storage's).</summary>
    public ulong LastIndex() => Unstable.TryLastIndex(out var i) ? i : _storage.LastIndex();

    /// <summary>Moves the commit index up to <paramref name="toCommit"/> (never down).</summary>
    public void CommitTo(ulong toCommit)
    {
        if (Committed < toCommit)
        {
            if (LastIndex() < toCommit)
            {
                throw new InvalidOperationException(
                    $"tocommit({toCommit}) is out of range [lastIndex({LastIndex()})]. Was the raft log corrupted, truncated, or lost?");
            }

            Committed = toCommit;
        }
    }

    /// <summary>Records that the application applied every entry up to <paramref name="index"/>.</summary>
    public void AppliedTo(ulong index)
    {
        if (index == 0)
        {
            return;
        }

        if (Committed < index || index < Applied)
        {
            throw new InvalidOperationException($"applied({index}) is out of range [prevApplied({Applied}), committed({Committed})]");
        }

        Applied = index;
    }

    /// <summary>Entries up to (<paramref name="index"/>, <paramref name="term"/>) were persisted.</summary>
    public void StableTo(ulong index, ulong term) => Unstable.StableTo(index, term);

    /// <summary>The snapshot at <paramref name="index"/> was persisted.</summary>
    public void StableSnapshotTo(ulong index) => Unstable.StableSnapshotTo(index);

    /// <summary>The term of the last entry.</summary>
    public ulong LastTerm() => Term(LastIndex()) ?? throw new InvalidOperationException("unexpected compaction of the last entry");

    /// <summary>
    /// The term of the entry at <paramref name="index"/>: 0 when the index is outside [FirstIndex - 1, LastIndex],
    /// null when the storage reports it compacted or unavailable.
    /// </summary>
    public ulong? Term(ulong index)
    {
        var dummyIndex = FirstIndex() - 1;
        if (index < dummyIndex || index > LastIndex())
        {
            return 0;
        }

        if (Unstable.TryTerm(index, out var term))
        {
            return term;
        }

        try
        {
            return _storage.Term(index);
        }
        catch (RaftLogCompactedException)
        {
            return null;
        }
        catch (RaftLogUnavailableException)
        {
            return null;
        }
    }

    /// <summary>The term at <paramref name="index"/>, 0 when it is unknown (compacted).</summary>
    public ulong TermOrZero(ulong index) => Term(index) ?? 0;

    /// <summary>Entries from <paramref name="index"/> to the end, up to <paramref name="maxSize"/> bytes.</summary>
    /// <exception cref="RaftLogCompactedException"><paramref name="index"/> was compacted away.</exception>
    public IReadOnlyList<Entry> EntriesFrom(ulong index, ulong maxSize)
    {
        if (index > LastIndex())
        {
            return [];
        }

        return Slice(index, LastIndex() + 1, maxSize);
    }

    /// <summary>Every entry held from FirstIndex on.</summary>
    public IReadOnlyList<Entry> AllEntries() => EntriesFrom(FirstIndex(), EntrySizes.NoLimit);

    /// <summary>
    /// Whether a log ending at (<paramref name="lastIndex"/>, <paramref name="term"/>) is at least as up-to-date as
    /// this one (Raft §5.4.1: a later last term wins, equal terms compare length).
    /// </summary>
    public bool IsUpToDate(ulong lastIndex, ulong term)
    {
        var lastTerm = LastTerm();
        return term > lastTerm || (term == lastTerm && lastIndex >= LastIndex());
    }

    /// <summary>Whether the entry at <paramref name="index"/> has <paramref name="term"/>.</summary>
    public bool MatchTerm(ulong index, ulong term) => Term(index) is { } t && t == term;

    /// <summary>
    /// Commits <paramref name="maxIndex"/> when it is above the commit index and its entry has <paramref name="term"/>
    /// (the leader's current term: Raft §5.4.2 never commits older terms by counting replicas).
    /// </summary>
    public bool MaybeCommit(ulong maxIndex, ulong term)
    {
        if (maxIndex > Committed && TermOrZero(maxIndex) == term)
        {
            CommitTo(maxIndex);
            return true;
        }

        return false;
    }

    /// <summary>Replaces the log by <paramref name="snapshot"/> (held unstable until persisted).</summary>
    public void Restore(Snapshot snapshot)
    {
        Committed = snapshot.Metadata.Index;
        Unstable.Restore(snapshot);
    }

    /// <summary>The entries in [<paramref name="lo"/>, <paramref name="hi"/>), up to <paramref name="maxSize"/> bytes.</summary>
    /// <exception cref="RaftLogCompactedException"><paramref name="lo"/> was compacted away.</exception>
    public IReadOnlyList<Entry> Slice(ulong lo, ulong hi, ulong maxSize)
    {
        CheckOutOfBounds(lo, hi);
        if (lo == hi)
        {
            return [];
        }

        var result = new List<Entry>();
        var offset = Unstable.Offset;
        if (lo < offset)
        {
            var storedHi = Math.Min(hi, offset);
            var stored = _storage.Entries(lo, storedHi, maxSize);
            if ((ulong)stored.Count < storedHi - lo)
            {
                // The size limit cut the stable part already.
                return stored;
            }

            result.AddRange(stored);
        }

        if (hi > offset)
        {
            result.AddRange(Unstable.Slice(Math.Max(lo, offset), hi));
        }

        return EntrySizes.Limit(result, maxSize);
    }

    private void CheckOutOfBounds(ulong lo, ulong hi)
    {
        if (lo > hi)
        {
            throw new InvalidOperationException($"invalid slice {lo} > {hi}");
        }

        var firstIndex = FirstIndex();
        if (lo < firstIndex)
        {
            throw new RaftLogCompactedException(lo, firstIndex);
        }

        var lastIndex = LastIndex();
        if (hi > lastIndex + 1)
        {
            throw new InvalidOperationException($"slice[{lo},{hi}) out of bound [{firstIndex},{lastIndex}]");
        }
    }
}
