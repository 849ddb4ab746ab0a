namespace Akka.Etcd.Actors.Journal;

/// <summary>
/// The journal sequence number of the latest write of each Raft index in the log, kept as runs: a run starts at a
/// Raft index and a sequence number, and the indexes after it (up to the next run or <see cref="LastIndex"/>) have the
/// following sequence numbers. A write of consecutive entries is one run (a HardState written before them starts the
/// next one), so the whole log costs a few bytes per Ready. Used to tell which events a snapshot made obsolete. Not
/// thread-safe: one owner (OpenedMember while it replays, then the RaftActor).
/// </summary>
public sealed class EntrySequenceNrs
{
    private readonly List<(ulong FirstIndex, long FirstSequenceNr)> _runs = new();

    /// <summary>Raft index of the last entry recorded (0 when none).</summary>
    public ulong LastIndex { get; private set; }

    /// <summary>Number of runs kept (for tests).</summary>
    public int RunCount => _runs.Count;

    /// <summary>
    /// Records that entries <paramref name="firstIndex"/> .. <c>firstIndex + count - 1</c> were written as sequence
    /// numbers <paramref name="firstSequenceNr"/> on; a write at or below <see cref="LastIndex"/> replaces the
    /// suffix from <paramref name="firstIndex"/> (Raft overwriting uncommitted entries).
    /// </summary>
    public void Record(ulong firstIndex, long firstSequenceNr, int count)
    {
        if (count <= 0)
        {
            return;
        }
        while (_runs.Count > 0 && _runs[^1].FirstIndex >= firstIndex)
        {
            _runs.RemoveAt(_runs.Count - 1);
        }
        if (_runs.Count == 0 || LastIndex < firstIndex - 1
            || _runs[^1].FirstSequenceNr + (long)(firstIndex - _runs[^1].FirstIndex) != firstSequenceNr)
        {
            _runs.Add((firstIndex, firstSequenceNr));
        }
        LastIndex = firstIndex + (ulong)count - 1;
    }

    /// <summary>The sequence number of the latest write of Raft <paramref name="index"/>, or null when it is not in the log.</summary>
    public long? Of(ulong index)
    {
        if (_runs.Count == 0 || index > LastIndex || index < _runs[0].FirstIndex)
        {
            return null;
        }
        int lo = 0, hi = _runs.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_runs[mid].FirstIndex <= index)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        var run = _runs[lo];
        return run.FirstSequenceNr + (long)(index - run.FirstIndex);
    }

    /// <summary>Forgets the indexes below <paramref name="index"/> (whole runs only; the run holding it stays).</summary>
    public void ForgetBelow(ulong index)
    {
        var drop = 0;
        while (drop + 1 < _runs.Count && _runs[drop + 1].FirstIndex <= index)
        {
            drop++;
        }
        if (drop > 0)
        {
            _runs.RemoveRange(0, drop);
        }
    }
}
