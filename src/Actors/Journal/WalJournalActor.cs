using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Storage.Wal;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Journal;

/// <summary>Messages the <see cref="WalJournalActor"/> accepts.</summary>
public abstract record JournalMessage
{
    private JournalMessage()
    {
    }

    /// <summary>
    /// Appends a HardState (null if unchanged) and entries; <paramref name="Durable"/> completes once they are
    /// fsynced (faults with the I/O error otherwise).
    /// </summary>
    public sealed record Save(HardState? HardState, IReadOnlyList<Entry> Entries, TaskCompletionSource Durable) : JournalMessage;

    /// <summary>Records that a Raft snapshot at (index, term) was saved; completes once fsynced.</summary>
    public sealed record SaveSnapshotMarker(ulong Index, ulong Term, TaskCompletionSource Durable) : JournalMessage;

    /// <summary>Releases WAL segments wholly below <paramref name="Index"/> (after a snapshot).</summary>
    public sealed record Release(ulong Index) : JournalMessage;
}

/// <summary>
/// Owns the <see cref="WriteAheadLog"/> and makes Raft state durable with group commit: every Save queued
/// while the previous fsync ran is appended, then ONE fsync makes the whole batch durable and completes all
/// of their promises. The RaftActor does not apply or acknowledge anything before its Save completed.
/// An fsync failure fails the batch and stops the actor: a member that cannot persist must not go on.
/// </summary>
public sealed class WalJournalActor : Actor<JournalMessage>
{
    private readonly WriteAheadLog _wal;
    private readonly List<TaskCompletionSource> _pending = new();

    /// <summary>Creates the actor over an open WAL, which it owns and disposes when it stops.</summary>
    public WalJournalActor(WriteAheadLog wal, ILogger logger) : base("wal-journal", logger) => _wal = wal;

    /// <summary>Duration of the latest fsync (for etcd_disk_wal_fsync_duration_seconds).</summary>
    public TimeSpan LastSyncDuration => _wal.LastSyncDuration;

    /// <summary>Number of fsyncs done (each may cover many Saves).</summary>
    public long SyncCount { get; private set; }

    /// <inheritdoc />
    protected override ValueTask OnReceiveAsync(JournalMessage message)
    {
        switch (message)
        {
            case JournalMessage.Save save:
                try
                {
                    _wal.Append(save.HardState, save.Entries);
                    _pending.Add(save.Durable);
                }
                catch (Exception ex)
                {
                    save.Durable.TrySetException(ex);
                    FailPending(ex);
                    throw;
                }
                break;
            case JournalMessage.SaveSnapshotMarker marker:
                try
                {
                    _wal.SaveSnapshotMarker(marker.Index, marker.Term);
                    _pending.Add(marker.Durable);
                }
                catch (Exception ex)
                {
                    marker.Durable.TrySetException(ex);
                    FailPending(ex);
                    throw;
                }
                break;
            case JournalMessage.Release release:
                _wal.ReleaseTo(release.Index);
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override ValueTask OnMailboxDrainedAsync()
    {
        if (_pending.Count == 0)
        {
            return ValueTask.CompletedTask;
        }
        try
        {
            _wal.Sync();
            SyncCount++;
        }
        catch (Exception ex)
        {
            Logger.LogCritical(ex, "failed to fsync the WAL");
            FailPending(ex);
            throw;
        }
        foreach (var durable in _pending)
        {
            durable.TrySetResult();
        }
        _pending.Clear();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override void OnDeadLetter(JournalMessage message, Exception reason)
    {
        switch (message)
        {
            case JournalMessage.Save save:
                save.Durable.TrySetException(reason);
                break;
            case JournalMessage.SaveSnapshotMarker marker:
                marker.Durable.TrySetException(reason);
                break;
        }
    }

    /// <inheritdoc />
    protected override ValueTask PostStopAsync()
    {
        _wal.Dispose();
        return ValueTask.CompletedTask;
    }

    private void FailPending(Exception ex)
    {
        foreach (var durable in _pending)
        {
            durable.TrySetException(ex);
        }
        _pending.Clear();
    }
}
