using Akka.Etcd.Actors.Raft;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// What one member has durably saved (its WAL and snap files): HardState, snapshot and the entries after the snapshot.
/// A crash loses everything else; <see cref="Load"/> rebuilds the member's Raft log storage from this alone.
/// </summary>
internal sealed class DurableLog
{
    private readonly List<Entry> _entries = [];

    public HardState HardState { get; private set; } = new();

    public Snapshot Snapshot { get; private set; } = new() { Metadata = new SnapshotMetadata { ConfState = new ConfState() } };

    public ulong LastIndex => _entries.Count > 0 ? _entries[^1].Index : Snapshot.Metadata.Index;

    public void SetHardState(HardState hardState) => HardState = hardState.Clone();

    /// <summary>Appends entries, replacing a conflicting suffix (a WAL record with a lower index truncates the rest).</summary>
    public void Append(IEnumerable<Entry> entries)
    {
        foreach (var entry in entries)
        {
            if (entry.Index <= Snapshot.Metadata.Index)
            {
                continue;
            }

            if (entry.Index > LastIndex + 1)
            {
                throw new SimulationInvariantException($"durable log gap: append {entry.Index} after {LastIndex}");
            }

            var keep = (int)(entry.Index - Snapshot.Metadata.Index - 1);
            _entries.RemoveRange(keep, _entries.Count - keep);
            _entries.Add(entry.Clone());
        }
    }

    /// <summary>Saves a snapshot received from the leader: it replaces the whole log.</summary>
    public void ApplySnapshot(Snapshot snapshot)
    {
        Snapshot = snapshot.Clone();
        _entries.Clear();
    }

    /// <summary>Saves a snapshot the member made of its own applied state and releases the entries it covers.</summary>
    public void SaveLocalSnapshot(Snapshot snapshot)
    {
        if (snapshot.Metadata.Index <= Snapshot.Metadata.Index)
        {
            return;
        }

        var covered = (int)Math.Min((ulong)_entries.Count, snapshot.Metadata.Index - Snapshot.Metadata.Index);
        _entries.RemoveRange(0, covered);
        Snapshot = snapshot.Clone();
    }

    /// <summary>A fresh Raft log storage holding exactly the durable state (what a restart reads from disk).</summary>
    public MemoryRaftLogStorage Load()
    {
        var storage = new MemoryRaftLogStorage();
        if (Snapshot.Metadata.Index > 0)
        {
            storage.ApplySnapshot(Snapshot);
        }

        storage.SetHardState(HardState);
        storage.Append(_entries.Select(e => e.Clone()).ToList());
        return storage;
    }
}
