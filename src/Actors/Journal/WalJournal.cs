using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Storage.Wal;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Raftpb;

namespace Akka.Etcd.Actors.Journal;

/// <summary>
/// The Akka.Persistence journal plugin over etcd's WAL files (<see cref="WriteAheadLog"/>): the Raft log of a member
/// (HardState, Entry and <see cref="SnapshotMarker"/> events of one persistence id) in segment files
/// <c>%016x-%016x.wal</c> with a CRC-32C per record, preallocated segments, torn-tail repair and refusal of corrupt
/// files, exactly as before it was a plugin: a WAL written by earlier versions opens unchanged.
/// </summary>
/// <remarks>
/// <para><b>Mapping.</b> Each event is one WAL record; its sequence number is its position in the log (counted, with
/// the count anchored in every segment header, see <see cref="WalRecordType.EventSequence"/>). An AtomicWrite is one
/// write call. A later entry for a Raft index overrides the earlier one from that index on; replay yields the log as
/// Raft needs it: the latest snapshot marker, the latest HardState, and the entries after the marker that no later
/// write replaced, each with its own sequence number, in sequence order. DeleteMessagesTo records the deletion and
/// releases whole segments below it (keeping <c>--max-wals</c>); the latest HardState and snapshot marker are state,
/// not history, and are replayed even when a deletion covered their records.</para>
/// <para><b>Group commit.</b> A WriteMessages is appended at once (no fsync) and the first one of a burst sends the
/// journal a flush; when the flush reaches the head of the mailbox every write queued behind the first was appended
/// too, and ONE fdatasync per log makes them all durable before any is answered. Akka.Persistence batches a writer's
/// persist calls into one WriteMessages while the previous one is in flight, so many proposals share one fsync.</para>
/// <para><b>Registration.</b> The plugin is created from HOCON; a persistence id's directory and IDs are registered in
/// <see cref="WalJournalTargets"/> first. Replaying a log (re)opens it: a WAL that belongs to another member or
/// cluster fails the replay. <see cref="Close"/> closes a log (the member's last stop step). Runs on its own thread
/// (<c>akka.etcd.journal-dispatcher</c>): an fsync blocks it. A write or fsync error fails every write waiting on it
/// and leaves the log unusable (etcd treats WAL errors as fatal); if the journal itself stops or restarts with a log
/// open, that log's writes fail until its writer replays it again.</para>
/// </remarks>
public sealed class WalJournal : AsyncWriteJournal
{
    private readonly WalJournalTargets _targets;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, WriteAheadLog> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WalReadResult> _recovered = new(StringComparer.Ordinal);
    private readonly List<PendingWrite> _pending = new();
    private bool _flushQueued;

    /// <summary>Asks the journal to sync and close <paramref name="PersistenceId"/>'s log (it reopens on the next
    /// replay or write); answered with <see cref="Closed"/>, also when it was not open.</summary>
    public sealed record Close(string PersistenceId);

    /// <summary>The answer to <see cref="Close"/>.</summary>
    public sealed record Closed(string PersistenceId);

    /// <summary>Self-sent after the first write of a burst: the fsync runs when it reaches the head of the mailbox.</summary>
    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }

    /// <summary>
    /// The Raft log's write in one message, which <see cref="RaftLogJournal"/> sends this journal instead of
    /// Akka.Persistence's <c>WriteMessages</c>: the events are appended at once and <paramref name="ReplyTo"/> gets ONE
    /// <see cref="WriteMessagesSuccessful"/>, told from the journal's own thread right after the fsync that made them
    /// durable. <c>WriteMessages</c> answers through a task continuation and the journal's resequencer, with one more
    /// <see cref="WriteMessageSuccess"/> per event: hops and messages on the path of every follower's append answer.
    /// A write that cannot go in the log (sequence numbers not consecutive) is answered
    /// <see cref="WriteMessageRejected"/> (nothing stored); a failed write or fsync <see cref="WriteMessagesFailed"/>.
    /// </summary>
    /// <param name="Write">The events, with consecutive sequence numbers, of one persistence id.</param>
    /// <param name="ReplyTo">Who gets the answer (the RaftActor).</param>
    /// <param name="Sync">False for a record that need not be durable before anything else happens (etcd's
    /// <c>raft.MustSync</c> is false: a HardState whose commit index alone moved): it is appended in order, made durable
    /// by the next fsync, and answered only when it fails (<see cref="WriteMessagesFailed"/> or
    /// <see cref="WriteMessageRejected"/>); no success answer comes.</param>
    public sealed record AppendLog(AtomicWrite Write, IActorRef ReplyTo, bool Sync = true);

    /// <summary>A write waiting for the fsync of its logs: a WriteMessages (answered through <paramref name="Done"/>) or
    /// an <see cref="AppendLog"/> (answered to <paramref name="ReplyTo"/>).</summary>
    private sealed record PendingWrite(TaskCompletionSource<IImmutableList<Exception>?>? Done, IImmutableList<Exception>? Rejections,
        IActorRef? ReplyTo = null);

    /// <summary>Created by Akka.Persistence from the plugin's HOCON.</summary>
    public WalJournal()
    {
        _targets = WalJournalTargets.For(Context.System);
    }

    /// <inheritdoc />
    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        // Called on the journal's thread when a replay starts: the log is (re)opened and read here, in one piece, so
        // the replay that follows only walks what was read.
        try
        {
            FlushNow();
            CloseLog(persistenceId);
            var wal = OpenLog(persistenceId, out var state);
            _open[persistenceId] = wal;
            _recovered[persistenceId] = state;
            _targets.Recovered(persistenceId);
            return Task.FromResult(state.Sequence.Highest);
        }
        catch (Exception ex)
        {
            return Task.FromException<long>(ex);
        }
    }

    /// <inheritdoc />
    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr,
        long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        if (!_recovered.TryRemove(persistenceId, out var state))
        {
            return Task.FromException(new InvalidOperationException($"the log of {persistenceId} was not read before its replay"));
        }
        long replayed = 0;
        foreach (var (sequenceNr, payload) in ReplayOrder(state))
        {
            if (replayed >= max || sequenceNr > toSequenceNr)
            {
                break;
            }
            if (sequenceNr < fromSequenceNr)
            {
                continue;
            }
            recoveryCallback(new Persistent(payload, sequenceNr, persistenceId, manifest: "", isDeleted: false, sender: ActorRefs.NoSender, writerGuid: ""));
            replayed++;
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The events a replay yields, in sequence order: the latest snapshot marker and HardState (state: always, even
    /// when a deletion covered them) and the surviving entries not covered by a deletion.
    /// </summary>
    internal static IEnumerable<(long SequenceNr, object Payload)> ReplayOrder(WalReadResult state)
    {
        var sequence = state.Sequence;
        var heads = new List<(long, object)>(2);
        if (state.SnapshotIndex > 0)
        {
            heads.Add((sequence.Snapshot, new SnapshotMarker(state.SnapshotIndex, state.SnapshotTerm)));
        }
        if (sequence.HardState > 0)
        {
            heads.Add((sequence.HardState, state.HardState));
        }
        heads.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        var next = 0;
        for (var i = 0; i < state.Entries.Count; i++)
        {
            var sequenceNr = sequence.Entries[i];
            while (next < heads.Count && heads[next].Item1 < sequenceNr)
            {
                yield return heads[next++];
            }
            if (sequenceNr > sequence.DeletedTo)
            {
                yield return (sequenceNr, state.Entries[i]);
            }
        }
        while (next < heads.Count)
        {
            yield return heads[next++];
        }
    }

    /// <inheritdoc />
    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        List<Exception?>? rejections = null;
        var count = 0;
        try
        {
            foreach (var write in messages)
            {
                var rejection = Append(write);
                if (rejection is not null)
                {
                    rejections ??= Enumerable.Repeat<Exception?>(null, count).ToList();
                }
                rejections?.Add(rejection);
                count++;
            }
        }
        catch (Exception ex)
        {
            // An I/O error: the batch failed as a whole (what it appended is never answered as durable).
            _log.Error(ex, "failed to write the WAL");
            return Task.FromException<IImmutableList<Exception>>(ex);
        }
        var done = new TaskCompletionSource<IImmutableList<Exception>?>();
        _pending.Add(new PendingWrite(done, rejections?.ToImmutableList()!));
        QueueFlush();
        return done.Task!;
    }

    private void AppendNow(AppendLog append)
    {
        Exception? rejection;
        try
        {
            rejection = Append(append.Write);
        }
        catch (Exception ex)
        {
            _log.Error(ex, "failed to write the WAL");
            append.ReplyTo.Tell(new WriteMessagesFailed(ex, 1), Self);
            return;
        }
        if (rejection is not null)
        {
            var first = ((IImmutableList<IPersistentRepresentation>)append.Write.Payload)[0];
            append.ReplyTo.Tell(new WriteMessageRejected(first, rejection, 1), Self);
            return;
        }
        if (!append.Sync)
        {
            return; // durable with the next write that waits for an fsync
        }
        _pending.Add(new PendingWrite(null, null, append.ReplyTo));
        QueueFlush();
    }

    /// <summary>Appends one AtomicWrite (one write call); returns the rejection when its events cannot go in the log.</summary>
    private Exception? Append(AtomicWrite write)
    {
        var persistenceId = write.PersistenceId;
        if (_targets.IsAbandoned(persistenceId))
        {
            throw new IOException($"the journal of {persistenceId} restarted after a failure; its writer must replay the log before it writes again");
        }
        var wal = _open.TryGetValue(persistenceId, out var open) ? open : OpenForWrite(persistenceId);
        var batch = (IImmutableList<IPersistentRepresentation>)write.Payload;
        var events = new object[batch.Count];
        long bytes = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            bytes += batch[i].Payload is Google.Protobuf.IMessage record ? record.CalculateSize() : 0;
            if (batch[i].SequenceNr != write.LowestSequenceNr + i)
            {
                return new ArgumentException($"the sequence numbers of an atomic write of {persistenceId} are not consecutive");
            }
            events[i] = batch[i].Payload;
        }
        try
        {
            wal.AppendEvents(write.LowestSequenceNr, events);
            // etcd_disk_wal_write_bytes_total: the records' protobuf bytes (etcd counts its encoded records the same way).
            EtcdMetrics.WalWriteBytes.Inc(bytes);
        }
        catch (ArgumentException rejected)
        {
            return rejected; // checked before anything was written: not stored
        }
        return null;
    }

    /// <inheritdoc />
    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        try
        {
            var wal = _open.TryGetValue(persistenceId, out var open) ? open : OpenForWrite(persistenceId);
            wal.DeleteTo(toSequenceNr);
            return Task.CompletedTask;
        }
        catch (Exception ex)
        {
            _log.Error(ex, "failed to delete from the WAL of {0}", persistenceId);
            return Task.FromException(ex);
        }
    }

    /// <inheritdoc />
    protected override bool ReceivePluginInternal(object message)
    {
        switch (message)
        {
            case Flush:
                _flushQueued = false;
                FlushNow();
                return true;
            case AppendLog append:
                AppendNow(append);
                return true;
            case Close close:
                FlushNow();
                CloseLog(close.PersistenceId);
                Sender.Tell(new Closed(close.PersistenceId));
                return true;
            default:
                return false;
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        FlushNow();
        foreach (var persistenceId in _open.Keys.ToList())
        {
            _targets.Abandoned(persistenceId);
            CloseLog(persistenceId);
        }
        base.PostStop();
    }

    private void QueueFlush()
    {
        if (!_flushQueued)
        {
            _flushQueued = true;
            Self.Tell(Flush.Instance);
        }
    }

    /// <summary>fdatasyncs every log written since the last flush, then answers the writes waiting on it (or fails
    /// them all when an fsync fails).</summary>
    private void FlushNow()
    {
        if (_pending.Count == 0)
        {
            return;
        }
        var pending = _pending.ToArray();
        _pending.Clear();
        try
        {
            foreach (var wal in _open.Values)
            {
                if (wal.HasUnsyncedWrites)
                {
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    wal.Sync();
                    EtcdMetrics.WalFsyncDuration.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
            }
        }
        catch (Exception ex)
        {
            _log.Error(ex, "failed to fsync the WAL");
            foreach (var write in pending)
            {
                if (write.ReplyTo is { } replyTo)
                {
                    replyTo.Tell(new WriteMessagesFailed(ex, 1), Self);
                }
                else
                {
                    write.Done!.TrySetException(ex);
                }
            }
            return;
        }
        foreach (var write in pending)
        {
            if (write.ReplyTo is { } replyTo)
            {
                replyTo.Tell(WriteMessagesSuccessful.Instance, Self);
            }
            else
            {
                write.Done!.TrySetResult(write.Rejections);
            }
        }
    }

    private WriteAheadLog OpenForWrite(string persistenceId)
    {
        var wal = OpenLog(persistenceId, out _);
        _open[persistenceId] = wal;
        return wal;
    }

    /// <summary>Opens the registered WAL of <paramref name="persistenceId"/>, creating it when the directory has none.</summary>
    /// <exception cref="InvalidOperationException">Nothing is registered for it, or the WAL belongs to another member or cluster.</exception>
    /// <exception cref="WalCorruptException">The WAL is damaged beyond a torn tail.</exception>
    private WriteAheadLog OpenLog(string persistenceId, out WalReadResult state)
    {
        if (!_targets.TryGet(persistenceId, out var target))
        {
            throw new InvalidOperationException($"no WAL directory is registered for persistence id {persistenceId} (WalJournalTargets.Register)");
        }
        var fs = target.Options.FileSystem;
        if (!WriteAheadLog.Exists(target.Directory, fs))
        {
            var created = WriteAheadLog.Create(target.Directory, target.Options, target.MemberId, target.ClusterId);
            state = new WalReadResult(target.MemberId, target.ClusterId, new HardState(), 0, 0, Array.Empty<Entry>());
            return created;
        }
        var wal = WriteAheadLog.Open(target.Directory, target.Options, out state);
        if (state.MemberId != target.MemberId || state.ClusterId != target.ClusterId)
        {
            wal.Dispose();
            throw new InvalidOperationException(
                $"the WAL in {target.Directory} belongs to member {state.MemberId:x16} of cluster {state.ClusterId:x16}, " +
                $"not member {target.MemberId:x16} of cluster {target.ClusterId:x16}");
        }
        return wal;
    }

    private void CloseLog(string persistenceId)
    {
        if (!_open.Remove(persistenceId, out var wal))
        {
            return;
        }
        try
        {
            wal.Dispose();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // A log that already failed (or whose disk went away) closes without its last sync: nothing in it was
            // answered as durable that is not.
            _log.Warning("closing the WAL of {0}: {1}", persistenceId, ex.Message);
        }
    }
}
