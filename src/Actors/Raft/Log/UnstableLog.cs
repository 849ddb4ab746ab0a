using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// Entries (and possibly an incoming snapshot) not yet persisted to <see cref="IRaftLogStorage"/>, like etcd raft's
/// <c>unstable</c> (raft/log_unstable.go). Entry i of <see cref="Entries"/> has log index <see cref="Offset"/> + i.
/// </summary>
internal sealed class UnstableLog
{
    /// <summary>A snapshot received from the leader and not yet persisted, or null.</summary>
    public Snapshot? Snapshot { get; private set; }

    /// <summary>Entries not yet persisted, starting at <see cref="Offset"/>.</summary>
    public List<Entry> Entries { get; private set; } = [];

    /// <summary>The log index of <c>Entries[0]</c>.</summary>
    public ulong Offset { get; private set; }

    public UnstableLog(ulong offset) => Offset = offset;

    /// <summary>The first index, only known when a snapshot is pending: snapshot index + 1.</summary>
    public bool TryFirstIndex(out ulong index)
    {
        index = Snapshot is null ? 0 : Snapshot.Metadata.Index + 1;
        return Snapshot is not null;
    }

    /// <summary>The last index when there are unstable entries or a pending snapshot.</summary>
    public bool TryLastIndex(out ulong index)
    {
        if (Entries.Count != 0)
        {
            index = Offset + (ulong)Entries.Count - 1;
            return true;
        }

        if (Snapshot is not null)
        {
            index = Snapshot.Metadata.Index;
            return true;
        }

        index = 0;
        return false;
    }

    /// <summary>The term of the entry at <paramref name="index"/> when this log knows it.</summary>
    public bool TryTerm(ulong index, out ulong term)
    {
        term = 0;
        if (index < Offset)
        {
            if (Snapshot is not null && Snapshot.Metadata.Index == index)
            {
                term = Snapshot.Metadata.Term;
                return true;
            }

            return false;
        }

        if (!TryLastIndex(out var last) || index > last)
        {
            return false;
        }

        term = Entries[(int)(index - Offset)].Term;
        return true;
    }

    /// <summary>Entries up to (<paramref name="index"/>, <paramref name="term"/>) were persisted: drop them.</summary>
    public void StableTo(ulong index, ulong term)
    {
        if (!TryTerm(index, out var t))
        {
            return;
        }

        // Only drop when the entry is still the one persisted (it may have been replaced by a newer leader's).
        if (t == term && index >= Offset)
        {
            Entries.RemoveRange(0, (int)(index + 1 - Offset));
            Offset = index + 1;
        }
    }

    /// <summary>The snapshot at <paramref name="index"/> was persisted: forget it.</summary>
    public void StableSnapshotTo(ulong index)
    {
        if (Snapshot is not null && Snapshot.Metadata.Index == index)
        {
            Snapshot = null;
        }
    }

    /// <summary>Replaces everything by <paramref name="snapshot"/>.</summary>
    public void Restore(Snapshot snapshot)
    {
        Offset = snapshot.Metadata.Index + 1;
        Entries = [];
        Snapshot = snapshot;
    }

    /// <summary>Appends <paramref name="entries"/>, truncating any unstable suffix they overwrite.</summary>
    public void TruncateAndAppend(IReadOnlyList<Entry> entries)
    {
        var after = entries[0].Index;
        if (after == Offset + (ulong)Entries.Count)
        {
            Entries.AddRange(entries);
        }
        else if (after <= Offset)
        {
            // Replace everything unstable: the stable log will be truncated when these are persisted.
            Offset = after;
            Entries = [.. entries];
        }
        else
        {
            Entries.RemoveRange((int)(after - Offset), Entries.Count - (int)(after - Offset));
            Entries.AddRange(entries);
        }
    }

    /// <summary>The unstable entries in [<paramref name="lo"/>, <paramref name="hi"/>).</summary>
    public List<Entry> Slice(ulong lo, ulong hi)
    {
        var upper = Offset + (ulong)Entries.Count;
        if (lo > hi || lo < Offset || hi > upper)
        {
            throw new InvalidOperationException($"unstable.slice[{lo},{hi}) out of bound [{Offset},{upper}]");
        }

        return Entries.GetRange((int)(lo - Offset), (int)(hi - lo));
    }
}
