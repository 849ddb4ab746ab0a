using Akka.Actor;
using Akka.Etcd.Storage.Wal;
using Akka.Persistence;
using Raftpb;

namespace Akka.Etcd.Actors.Journal;

/// <summary>
/// What a replay of a member's Raft log through its journal folds to: the latest HardState, the latest snapshot
/// marker, and the entries after it with later writes of an index replacing the suffix from there (Raft overwriting
/// an uncommitted suffix), with the sequence number of each entry's write. The same fold the WAL's reader does, so it
/// works on the WAL journal's replay (already folded) and on a journal that replays every event (Akka.Persistence.Sql).
/// </summary>
public sealed class RaftLogReplay
{
    private readonly List<Entry> _entries = new();

    /// <summary>The latest HardState (an empty one when none was replayed).</summary>
    public HardState HardState { get; private set; } = new();

    /// <summary>The latest snapshot marker, or null.</summary>
    public SnapshotMarker? Snapshot { get; private set; }

    /// <summary>The entries after <see cref="Snapshot"/>, consecutive, in index order.</summary>
    public IReadOnlyList<Entry> Entries => _entries;

    /// <summary>The sequence number of each entry's write.</summary>
    public EntrySequenceNrs EntrySequenceNrs { get; } = new();

    /// <summary>The highest sequence number the journal reported (0 for an empty log).</summary>
    public long HighestSequenceNr { get; private set; }

    /// <summary>Number of events replayed.</summary>
    public long EventCount { get; private set; }

    /// <summary>True when the log holds nothing: a member that never wrote (or whose log was lost).</summary>
    public bool IsEmpty => HighestSequenceNr == 0 && EventCount == 0;

    /// <summary>Folds one replayed event in.</summary>
    /// <exception cref="InvalidDataException">An event of another type, or an entry that leaves a gap after the last one.</exception>
    public void Apply(long sequenceNr, object payload)
    {
        EventCount++;
        HighestSequenceNr = Math.Max(HighestSequenceNr, sequenceNr);
        switch (payload)
        {
            case HardState hardState:
                HardState = hardState;
                break;
            case SnapshotMarker marker:
                if (Snapshot is null || marker.Index >= Snapshot.Index)
                {
                    Snapshot = marker;
                    var covered = _entries.FindLastIndex(e => e.Index <= marker.Index);
                    _entries.RemoveRange(0, covered + 1);
                }
                break;
            case Entry entry:
                ApplyEntry(sequenceNr, entry);
                break;
            default:
                throw new InvalidDataException($"event {sequenceNr} of the Raft log is a {payload?.GetType().FullName ?? "null"}, not a Raft log event");
        }
    }

    /// <summary>Marks the end of the replay: the journal's highest sequence number.</summary>
    public void Complete(long highestSequenceNr) => HighestSequenceNr = Math.Max(HighestSequenceNr, highestSequenceNr);

    private void ApplyEntry(long sequenceNr, Entry entry)
    {
        if (Snapshot is { } snapshot && entry.Index <= snapshot.Index)
        {
            return;
        }
        if (_entries.Count > 0)
        {
            var first = _entries[0].Index;
            var last = _entries[^1].Index;
            if (entry.Index > last + 1)
            {
                throw new InvalidDataException($"Raft log event {sequenceNr}: entry index {entry.Index} leaves a gap after index {last}");
            }
            if (entry.Index < first)
            {
                _entries.Clear();
            }
            else if (entry.Index <= last)
            {
                _entries.RemoveRange((int)(entry.Index - first), (int)(last - entry.Index + 1));
            }
        }
        _entries.Add(entry);
        EntrySequenceNrs.Record(entry.Index, sequenceNr, 1);
    }

    /// <summary>
    /// Replays <paramref name="persistenceId"/>'s whole log from <paramref name="journal"/> (Akka.Persistence's
    /// ReplayMessages, as a PersistentActor's recovery does) and folds it. Throws what the journal failed with (e.g. a
    /// <see cref="WalCorruptException"/>), or <see cref="TimeoutException"/> when the journal says nothing for
    /// <paramref name="idleTimeout"/>.
    /// </summary>
    public static Task<RaftLogReplay> ReplayAsync(ActorSystem system, IActorRef journal, string persistenceId, TimeSpan idleTimeout,
        CancellationToken cancel = default)
    {
        var done = new TaskCompletionSource<RaftLogReplay>(TaskCreationOptions.RunContinuationsAsynchronously);
        var replayer = system.ActorOf(Props.Create(() => new Replayer(journal, persistenceId, idleTimeout, done)));
        cancel.Register(() =>
        {
            if (done.TrySetCanceled(cancel))
            {
                replayer.Tell(PoisonPill.Instance);
            }
        });
        return done.Task;
    }

    /// <summary>Sends the ReplayMessages and folds the answers; stops itself at the end.</summary>
    private sealed class Replayer : ReceiveActor
    {
        public Replayer(IActorRef journal, string persistenceId, TimeSpan idleTimeout, TaskCompletionSource<RaftLogReplay> done)
        {
            var replay = new RaftLogReplay();
            Context.SetReceiveTimeout(idleTimeout);
            Receive<ReplayedMessage>(replayed =>
            {
                try
                {
                    replay.Apply(replayed.Persistent.SequenceNr, replayed.Persistent.Payload);
                }
                catch (InvalidDataException ex)
                {
                    done.TrySetException(ex);
                    Context.Stop(Self);
                }
            });
            Receive<RecoverySuccess>(success =>
            {
                replay.Complete(success.HighestSequenceNr);
                done.TrySetResult(replay);
                Context.Stop(Self);
            });
            Receive<ReplayMessagesFailure>(failure =>
            {
                done.TrySetException(failure.Cause);
                Context.Stop(Self);
            });
            Receive<ReceiveTimeout>(_ =>
            {
                done.TrySetException(new TimeoutException($"the journal said nothing about the replay of {persistenceId} for {idleTimeout.TotalSeconds} s"));
                Context.Stop(Self);
            });
            journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, persistenceId, Self));
        }
    }
}
