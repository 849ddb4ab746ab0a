using Akka.Event;
using Akka.Actor;
using Akka.Etcd.Storage.Wal;
using Akka.Etcd.Actors.Store;
using Raftpb;

namespace Akka.Etcd.Actors.Consensus;

/// <summary>Raft snapshots: taken every SnapshotCount applied entries, and received from the leader.</summary>
public sealed partial class RaftActor
{
    private readonly Dictionary<ulong, string> _receivedSnapshots = new();
    private ulong _persistedForSnapshot;

    /// <summary>
    /// Every <see cref="Server.ServerOptions.SnapshotCount"/> applied entries (etcd's triggerSnapshot): the store
    /// commits its backend durably (the backend is the state), a snapshot file records index, term and ConfState, the
    /// WAL gets a snapshot marker, the in-memory log is compacted (keeping SnapshotCatchUpEntries for slow
    /// followers) and WAL segments wholly below the snapshot are released. Runs between rounds only; the actor steps
    /// nothing while the store commits and the marker is fsynced.
    /// </summary>
    private void MaybeSnapshot()
    {
        if (_awaiting != Awaited.None || _appliedIndex <= _snapshotIndex || _appliedIndex - _snapshotIndex < _options.SnapshotCount)
        {
            return;
        }
        _store.Tell(StoreProtocol.PersistForSnapshot.Instance);
        Await(Awaited.StoreCommit, TakeSnapshot);
    }

    private void TakeSnapshot()
    {
        var index = _persistedForSnapshot;
        if (index <= _snapshotIndex || index > _storage.LastIndex())
        {
            return;
        }
        var snapshot = _storage.CreateSnapshot(index, _confState, ReadOnlyMemory<byte>.Empty);
        _snapshots.Save(snapshot);
        _snapshots.Purge(_options.MaxSnapshots);
        // The HardState goes with the marker, so a release of everything before the marker keeps a HardState.
        var markerSequenceNr = _journal.WriteSnapshot(new SnapshotMarker(index, snapshot.Metadata.Term), _storage.InitialState().HardState, Self);
        Await(Awaited.Journal, () =>
        {
            _snapshotIndex = index;
            var compactTo = index > _options.SnapshotCatchUpEntries ? index - _options.SnapshotCatchUpEntries : 0;
            if (compactTo > _storage.FirstIndex())
            {
                _storage.Compact(compactTo);
            }
            // Akka.Persistence's DeleteMessagesTo: the WAL journal drops the segments wholly before it (keeping
            // --max-wals), the SQL journal its rows.
            var releasedTo = _journal.Release(index, markerSequenceNr, _storage.FirstIndex(), Self);
            _log.Info("saved snapshot at index {0}, compacted raft log at {1}, released journal events up to {2}", index, compactTo, releasedTo);
        });
    }

    /// <summary>Keeps the backend db that came with a MsgSnap until Raft accepts (or supersedes) the snapshot.</summary>
    private void KeepReceivedSnapshot(Message message, string dbPath)
    {
        var index = message.Snapshot?.Metadata?.Index ?? 0;
        if (_receivedSnapshots.TryGetValue(index, out var replaced) && replaced != dbPath)
        {
            DeleteQuietly(replaced);
        }
        _receivedSnapshots[index] = dbPath;
        _log.Info("received snapshot from {0:x16} at raft index {1}", message.From, index);
    }

    /// <summary>The db kept for the snapshot Raft accepted at <paramref name="index"/>; older ones are deleted.</summary>
    private string? TakeReceivedSnapshot(ulong index)
    {
        _receivedSnapshots.Remove(index, out var dbPath);
        foreach (var stale in _receivedSnapshots.Where(s => s.Key < index).ToList())
        {
            _receivedSnapshots.Remove(stale.Key);
            DeleteQuietly(stale.Value);
        }
        return dbPath;
    }

    private void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException ex)
        {
            _log.Warning("could not delete superseded snapshot db {0}: {1}", path, ex.Message);
        }
    }
}
