using System.Collections.Immutable;
using Akka.Actor;
using Akka.Etcd.Storage.Wal;
using Akka.Persistence;
using Raftpb;

namespace Akka.Etcd.Actors.Journal;

/// <summary>
/// The RaftActor's handle on its Akka.Persistence journal plugin (the WAL journal or Akka.Persistence.Sql): the
/// persistence id of the member's Raft log, the next sequence number, and the sequence number of each entry's latest
/// write. It builds the journal protocol's messages, as a PersistentActor does for its persist calls: one
/// <see cref="WriteMessages"/> holding one AtomicWrite per Raft round (the round's HardState and entries, one event
/// each, all or nothing), answered with <see cref="WriteMessagesSuccessful"/> once durable, and a
/// <see cref="DeleteMessagesTo"/> once a snapshot made the log's older events obsolete.
/// </summary>
/// <remarks>
/// Why the RaftActor asks the journal itself instead of being a PersistentActor: its log is read before any actor
/// starts (a corrupt WAL must fail start-up, and the Raft core is built over what was read), and it already waits for
/// several answers between rounds (journal, store, backend install) with its own stash; the journal protocol gives the
/// same durability with one answer per round. Not thread-safe: owned by the RaftActor.
/// </remarks>
public sealed class RaftLogJournal
{
    private readonly string _writerGuid = Guid.NewGuid().ToString("N");
    private long _nextSequenceNr;

    /// <summary>Creates the handle after a replay that ended at <paramref name="highestSequenceNr"/>.</summary>
    /// <param name="journal">The journal plugin actor (<c>Persistence.JournalFor</c>).</param>
    /// <param name="pluginId">The journal plugin's HOCON path.</param>
    /// <param name="persistenceId">The member's Raft log persistence id (<see cref="PersistenceIdOf"/>).</param>
    /// <param name="highestSequenceNr">The highest sequence number the replay reported.</param>
    /// <param name="entries">The sequence numbers of the entries replayed.</param>
    public RaftLogJournal(IActorRef journal, string pluginId, string persistenceId, long highestSequenceNr, EntrySequenceNrs entries)
    {
        Journal = journal;
        PluginId = pluginId;
        PersistenceId = persistenceId;
        _nextSequenceNr = highestSequenceNr + 1;
        Entries = entries;
    }

    /// <summary>The journal plugin actor.</summary>
    public IActorRef Journal { get; }

    /// <summary>The journal plugin's HOCON path (e.g. <c>akka.persistence.journal.etcd-wal</c>).</summary>
    public string PluginId { get; }

    /// <summary>The persistence id of the member's Raft log.</summary>
    public string PersistenceId { get; }

    /// <summary>True for the WAL journal, which keeps the log's files open until told to close them (<see cref="WalJournal.Close"/>)
    /// and takes the writes as <see cref="WalJournal.AppendLog"/> (one answer each, after its fsync).</summary>
    public bool KeepsLogOpen { get; init; }

    /// <summary>The sequence number the next event gets.</summary>
    public long NextSequenceNr => _nextSequenceNr;

    /// <summary>The sequence number of each entry's latest write.</summary>
    public EntrySequenceNrs Entries { get; }

    /// <summary>The persistence id of a member's Raft log: unique per cluster and member, so that logs of several
    /// members may share one database.</summary>
    public static string PersistenceIdOf(ulong clusterId, ulong memberId) => $"raft-log-{clusterId:x16}-{memberId:x16}";

    /// <summary>
    /// Sends one AtomicWrite of <paramref name="entries"/> (consecutive indexes) followed by <paramref name="hardState"/>
    /// (when not null) to the journal, answers to <paramref name="replyTo"/>. The entries go first, as etcd's
    /// <c>wal.Save</c> writes them: a crash that keeps only a prefix of the write (a torn WAL tail) may lose the
    /// HardState but never keeps a HardState whose commit index points past the entries that survived (the member
    /// would refuse to restart: "state.commit is out of range").
    /// </summary>
    public void Write(HardState? hardState, IReadOnlyList<Entry> entries, IActorRef replyTo)
    {
        var events = ImmutableList.CreateBuilder<IPersistentRepresentation>();
        if (entries.Count > 0)
        {
            Entries.Record(entries[0].Index, _nextSequenceNr, entries.Count);
            foreach (var entry in entries)
            {
                events.Add(Event(entry));
            }
        }
        if (hardState is not null)
        {
            events.Add(Event(hardState));
        }
        Send(events.ToImmutable(), replyTo);
    }

    /// <summary>
    /// Appends <paramref name="hardState"/> without waiting for its fsync and without a success answer (a failure is
    /// answered to <paramref name="replyTo"/>): for a HardState whose commit index alone moved, which etcd writes without
    /// syncing (<c>raft.MustSync</c>; a commit index lost in a crash is learnt again from the leader, and entries at or
    /// below the backend's consistent index are skipped on replay). The next synced write makes it durable.
    /// </summary>
    /// <exception cref="InvalidOperationException">The journal is not the WAL journal (<see cref="KeepsLogOpen"/> is
    /// false): Akka.Persistence's WriteMessages always answers, so such journals take every write with
    /// <see cref="Write"/>.</exception>
    public void WriteUnsynced(HardState hardState, IActorRef replyTo)
    {
        if (!KeepsLogOpen)
        {
            throw new InvalidOperationException("only the WAL journal takes writes without an answer");
        }
        Journal.Tell(new WalJournal.AppendLog(new AtomicWrite(ImmutableList.Create(Event(hardState))), replyTo, Sync: false), replyTo);
    }

    /// <summary>
    /// Sends a snapshot marker, followed by <paramref name="hardState"/> when not null, as one AtomicWrite; returns the
    /// marker's sequence number.
    /// </summary>
    public long WriteSnapshot(SnapshotMarker marker, HardState? hardState, IActorRef replyTo)
    {
        var events = ImmutableList.CreateBuilder<IPersistentRepresentation>();
        var markerSequenceNr = _nextSequenceNr;
        events.Add(Event(marker));
        if (hardState is not null)
        {
            events.Add(Event(hardState));
        }
        Send(events.ToImmutable(), replyTo);
        return markerSequenceNr;
    }

    /// <summary>
    /// After a snapshot at <paramref name="snapshotIndex"/> whose marker is event <paramref name="markerSequenceNr"/>
    /// (written with the HardState after it): the events a restart no longer needs are those before the marker and
    /// before the latest write of the first entry after the snapshot. Sends the journal a DeleteMessagesTo for them
    /// (answered to <paramref name="replyTo"/>) and forgets the entries below <paramref name="keepFrom"/>.
    /// </summary>
    public long Release(ulong snapshotIndex, long markerSequenceNr, ulong keepFrom, IActorRef replyTo)
    {
        var to = markerSequenceNr - 1;
        if (Entries.Of(snapshotIndex + 1) is { } firstKept)
        {
            to = Math.Min(to, firstKept - 1);
        }
        Entries.ForgetBelow(keepFrom);
        if (to > 0)
        {
            Journal.Tell(new DeleteMessagesTo(PersistenceId, to, replyTo), replyTo);
        }
        return to;
    }

    /// <summary>
    /// <see cref="Write"/> from outside an actor (a new member's first entries, before its actors start): completes
    /// once the journal said the write is durable; throws the journal's failure or rejection, or
    /// <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public Task WriteAsync(ActorSystem system, HardState? hardState, IReadOnlyList<Entry> entries, TimeSpan timeout, CancellationToken cancel = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = system.ActorOf(Props.Create(() => new OneWrite(this, hardState, entries, timeout, done)));
        cancel.Register(() =>
        {
            if (done.TrySetCanceled(cancel))
            {
                writer.Tell(PoisonPill.Instance);
            }
        });
        return done.Task;
    }

    /// <summary>Sends one write and completes with its answer; stops itself once the journal said everything about it
    /// (the write's answer, and for journals other than the WAL one per event).</summary>
    private sealed class OneWrite : ReceiveActor
    {
        public OneWrite(RaftLogJournal journal, HardState? hardState, IReadOnlyList<Entry> entries, TimeSpan timeout, TaskCompletionSource done)
        {
            Context.SetReceiveTimeout(timeout);
            var answersDue = (hardState is null ? 0 : 1) + entries.Count;
            Receive<WriteMessagesSuccessful>(_ =>
            {
                done.TrySetResult();
                if (journal.KeepsLogOpen)
                {
                    Context.Stop(Self); // the WAL journal's AppendLog is answered once, not once more per event
                }
            });
            Receive<WriteMessageSuccess>(_ =>
            {
                if (--answersDue == 0)
                {
                    Context.Stop(Self);
                }
            });
            Receive<WriteMessagesFailed>(failed => Finish(() => done.TrySetException(failed.Cause)));
            Receive<WriteMessageRejected>(rejected => Finish(() => done.TrySetException(rejected.Cause)));
            Receive<ReceiveTimeout>(_ => Finish(() => done.TrySetException(new TimeoutException("the journal did not answer a write"))));
            ReceiveAny(_ => { });
            journal.Write(hardState, entries, Self);
        }

        private void Finish(Func<bool> complete)
        {
            complete();
            Context.Stop(Self);
        }
    }

    private IPersistentRepresentation Event(object payload) =>
        new Persistent(payload, _nextSequenceNr++, PersistenceId, manifest: "", isDeleted: false, sender: ActorRefs.NoSender, writerGuid: _writerGuid);

    /// <summary>The WAL journal takes the write as one <see cref="WalJournal.AppendLog"/> (one answer after its fsync);
    /// any other journal through Akka.Persistence's WriteMessages (one answer for the write, then one per event).</summary>
    private void Send(ImmutableList<IPersistentRepresentation> events, IActorRef replyTo)
    {
        if (KeepsLogOpen)
        {
            Journal.Tell(new WalJournal.AppendLog(new AtomicWrite(events), replyTo), replyTo);
        }
        else
        {
            Journal.Tell(new WriteMessages(new IPersistentEnvelope[] { new AtomicWrite(events) }, replyTo, actorInstanceId: 1), replyTo);
        }
    }
}
