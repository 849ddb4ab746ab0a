using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Storage.Wal;
using Akka.Etcd.TestDoubles;
using Akka.Persistence;
using Akka.TestKit;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Journal;

/// <summary>
/// Akka.Persistence's journal contract (the TCK's JournalSpec, which is not served here, ported to the Raft log's
/// events), run against both of the member's journals: the WAL journal on the simulated disk and Akka.Persistence.Sql on
/// a SQLite file. Events are Raft entries whose index is their sequence number, so the WAL journal's Raft rules hold.
/// Every answer is awaited with a TestProbe; nothing sleeps.
/// </summary>
public abstract class RaftLogJournalSpec : Akka.TestKit.Xunit2.TestKit
{
    protected const ulong MemberId = 0x8e9e05c52164694d;
    protected const ulong ClusterId = 0xcdf818194e3a8c32;
    protected static readonly string Pid = RaftLogJournal.PersistenceIdOf(ClusterId, MemberId);

    protected RaftLogJournalSpec(Config config)
        : base(config.WithFallback(LocalMember.ActorsConfig).WithFallback(ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.log-dead-letters = off
            akka.test.single-expect-default = 20s
            """)))
    {
    }

    /// <summary>The plugin under test (HOCON path).</summary>
    protected abstract string PluginId { get; }

    /// <summary>Tells the plugin where <paramref name="persistenceId"/>'s log lives (the WAL journal needs it).</summary>
    protected virtual void Register(string persistenceId)
    {
    }

    /// <summary>Makes the plugin read the log again from storage, as after a restart of the member.</summary>
    protected virtual void ReopenLog(string persistenceId)
    {
    }

    protected IActorRef Journal => Persistence.Persistence.Instance.Apply(Sys).JournalFor(PluginId);

    protected static Entry EntryAt(long index, ulong term = 1) =>
        new() { Index = (ulong)index, Term = term, Type = EntryType.EntryNormal, Data = ByteString.CopyFromUtf8($"entry {index} term {term}") };

    private static IPersistentRepresentation Event(string persistenceId, long sequenceNr, object payload) =>
        new Persistent(payload, sequenceNr, persistenceId, "", false, ActorRefs.NoSender, "writer-1");

    /// <summary>Writes events <paramref name="from"/>..<paramref name="to"/> (entries at those indexes), one AtomicWrite
    /// each, in one WriteMessages, and expects them all acknowledged in order.</summary>
    protected void WriteEntries(long from, long to, string? persistenceId = null, ulong term = 1)
    {
        var pid = persistenceId ?? Pid;
        var probe = CreateTestProbe();
        var writes = new List<IPersistentEnvelope>();
        for (var i = from; i <= to; i++)
        {
            writes.Add(new AtomicWrite(Event(pid, i, EntryAt(i, term))));
        }
        Journal.Tell(new WriteMessages(writes, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        for (var i = from; i <= to; i++)
        {
            var success = probe.ExpectMsg<WriteMessageSuccess>();
            Assert.Equal(i, success.Persistent.SequenceNr);
            Assert.Equal(pid, success.Persistent.PersistenceId);
        }
    }

    /// <summary>Replays and returns the events and the highest sequence number the journal reported.</summary>
    protected (List<(long SequenceNr, object Payload)> Events, long Highest) Replay(long from = 1, long to = long.MaxValue, long max = long.MaxValue,
        string? persistenceId = null)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(from, to, max, persistenceId ?? Pid, probe.Ref));
        var events = new List<(long, object)>();
        while (true)
        {
            var message = probe.ReceiveOne(TimeSpan.FromSeconds(20));
            switch (message)
            {
                case ReplayedMessage replayed:
                    events.Add((replayed.Persistent.SequenceNr, replayed.Persistent.Payload));
                    break;
                case RecoverySuccess success:
                    return (events, success.HighestSequenceNr);
                case ReplayMessagesFailure failure:
                    throw new Xunit.Sdk.XunitException("replay failed: " + failure.Cause);
                default:
                    throw new Xunit.Sdk.XunitException("unexpected answer to a replay: " + message);
            }
        }
    }

    protected static List<long> Indexes(IEnumerable<(long SequenceNr, object Payload)> events) =>
        events.Select(e => (long)((Entry)e.Payload).Index).ToList();

    private void FreshLog()
    {
        Register(Pid);
        Assert.Empty(Replay().Events);
        WriteEntries(1, 5);
    }

    [Fact]
    public void Replays_all_events_in_order_with_their_sequence_numbers()
    {
        FreshLog();
        var (events, highest) = Replay();
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, events.Select(e => e.SequenceNr));
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, Indexes(events));
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Replays_from_a_lower_bound_to_an_upper_bound_and_at_most_max_events()
    {
        FreshLog();
        Assert.Equal(new long[] { 3, 4, 5 }, Replay(from: 3).Events.Select(e => e.SequenceNr));
        Assert.Equal(new long[] { 2, 3 }, Replay(from: 2, to: 3).Events.Select(e => e.SequenceNr));
        Assert.Equal(new long[] { 1, 2 }, Replay(max: 2).Events.Select(e => e.SequenceNr));
        Assert.Empty(Replay(max: 0).Events);
    }

    [Fact]
    public void A_replay_whose_lower_bound_is_above_its_upper_bound_replays_nothing_and_reports_the_highest_sequence_number()
    {
        FreshLog();
        var (events, highest) = Replay(from: 3, to: 2);
        Assert.Empty(events);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void A_log_never_written_replays_nothing_with_highest_sequence_number_zero()
    {
        var other = RaftLogJournal.PersistenceIdOf(ClusterId, MemberId + 1);
        Register(other);
        var (events, highest) = Replay(persistenceId: other);
        Assert.Empty(events);
        Assert.Equal(0, highest);
    }

    [Fact]
    public void Deleted_events_are_not_replayed_even_after_the_log_is_read_again()
    {
        FreshLog();
        var probe = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo(Pid, 3, probe.Ref));
        Assert.Equal(3, probe.ExpectMsg<DeleteMessagesSuccess>().ToSequenceNr);
        Assert.Equal(new long[] { 4, 5 }, Replay().Events.Select(e => e.SequenceNr));
        ReopenLog(Pid);
        Assert.Equal(new long[] { 4, 5 }, Replay().Events.Select(e => e.SequenceNr));
    }

    [Fact]
    public void Deleting_every_event_keeps_the_highest_sequence_number()
    {
        FreshLog();
        var probe = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo(Pid, long.MaxValue, probe.Ref));
        probe.ExpectMsg<DeleteMessagesSuccess>();
        var (events, highest) = Replay();
        Assert.Empty(events);
        Assert.Equal(5, highest);
        ReopenLog(Pid);
        Assert.Equal(5, Replay().Highest);
        WriteEntries(6, 6);
        Assert.Equal(new long[] { 6 }, Replay().Events.Select(e => e.SequenceNr));
    }

    [Fact]
    public void An_atomic_write_of_several_events_is_acknowledged_per_event_in_order_and_replayed_whole()
    {
        FreshLog();
        var probe = CreateTestProbe();
        var events = ImmutableList.Create<IPersistentRepresentation>(
            Event(Pid, 6, new HardState { Term = 1, Commit = 5 }), Event(Pid, 7, EntryAt(6)), Event(Pid, 8, EntryAt(7)));
        Journal.Tell(new WriteMessages(new IPersistentEnvelope[] { new AtomicWrite(events) }, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        Assert.Equal(new long[] { 6, 7, 8 }, new[] { probe.ExpectMsg<WriteMessageSuccess>(), probe.ExpectMsg<WriteMessageSuccess>(), probe.ExpectMsg<WriteMessageSuccess>() }
            .Select(s => s.Persistent.SequenceNr));
        var (replayed, highest) = Replay(from: 6);
        Assert.Equal(8, highest);
        Assert.Equal(new long[] { 6, 7, 8 }, replayed.Select(e => e.SequenceNr));
        Assert.Equal(5UL, Assert.IsType<HardState>(replayed[0].Payload).Commit);
    }

    [Fact]
    public void The_log_survives_being_read_again_from_storage()
    {
        FreshLog();
        ReopenLog(Pid);
        var (events, highest) = Replay();
        Assert.Equal(5, highest);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, Indexes(events));
        WriteEntries(6, 8);
        ReopenLog(Pid);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }, Indexes(Replay().Events));
    }

    [Fact]
    public void Raft_events_keep_their_content_and_a_snapshot_marker_its_index_and_term()
    {
        Register(Pid);
        Assert.Empty(Replay().Events);
        var probe = CreateTestProbe();
        var hardState = new HardState { Term = 3, Vote = MemberId, Commit = 2 };
        var entry = new Entry { Index = 1, Term = 3, Type = EntryType.EntryConfChange, Data = ByteString.CopyFrom(1, 2, 3) };
        var events = ImmutableList.Create<IPersistentRepresentation>(Event(Pid, 1, hardState), Event(Pid, 2, entry),
            Event(Pid, 3, EntryAt(2, term: 3)), Event(Pid, 4, new SnapshotMarker(1, 3)));
        Journal.Tell(new WriteMessages(new IPersistentEnvelope[] { new AtomicWrite(events) }, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        ReopenLog(Pid);
        var replay = new RaftLogReplay();
        var (replayed, highest) = Replay();
        foreach (var (sequenceNr, payload) in replayed)
        {
            replay.Apply(sequenceNr, payload);
        }
        replay.Complete(highest);
        Assert.Equal(hardState, replay.HardState);
        Assert.Equal(new SnapshotMarker(1, 3), replay.Snapshot);
        Assert.Equal(new ulong[] { 2 }, replay.Entries.Select(e => e.Index));
        Assert.Equal(3, replay.EntrySequenceNrs.Of(2));
        Assert.Equal(4, replay.HighestSequenceNr);
    }
}

/// <summary>The journal contract on the WAL journal, on the simulated disk.</summary>
public sealed class WalJournalSpec : RaftLogJournalSpec
{
    private readonly SimulatedDisk _disk = new();

    public WalJournalSpec()
        : base(ConfigurationFactory.Empty)
    {
    }

    protected override string PluginId => RaftLogPlugins.WalPluginId;

    protected override void Register(string persistenceId) =>
        WalJournalTargets.For(Sys).Register(persistenceId, new WalJournalTarget("/data/" + persistenceId + "/member/wal",
            MemberId, ClusterId, new WalOptions { FileSystem = _disk, SegmentSizeBytes = 4096 }));

    protected override void ReopenLog(string persistenceId)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new WalJournal.Close(persistenceId), probe.Ref);
        probe.ExpectMsg<WalJournal.Closed>();
    }

    [Fact]
    public void Events_that_are_not_Raft_log_events_are_rejected_and_not_stored()
    {
        Register(Pid);
        Assert.Empty(Replay().Events);
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages(new IPersistentEnvelope[]
        {
            new AtomicWrite(new Persistent(EntryAt(1), 1, Pid, "", false, ActorRefs.NoSender, "w")),
            new AtomicWrite(new Persistent("not a raft event", 2, Pid, "", false, ActorRefs.NoSender, "w")),
            new AtomicWrite(new Persistent(EntryAt(5), 3, Pid, "", false, ActorRefs.NoSender, "w")), // a gap in the Raft log
        }, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        probe.ExpectMsg<WriteMessageSuccess>();
        Assert.Contains("HardState, Entry, SnapshotMarker", probe.ExpectMsg<WriteMessageRejected>().Cause.Message);
        Assert.Contains("gap", probe.ExpectMsg<WriteMessageRejected>().Cause.Message);
        ReopenLog(Pid);
        Assert.Equal(new long[] { 1 }, Indexes(Replay().Events));
    }

    [Fact]
    public void A_log_of_another_member_fails_the_replay()
    {
        Register(Pid);
        Assert.Empty(Replay().Events);
        WriteEntries(1, 1);
        ReopenLog(Pid);
        WalJournalTargets.For(Sys).Register(Pid, new WalJournalTarget("/data/" + Pid + "/member/wal", MemberId + 1, ClusterId,
            new WalOptions { FileSystem = _disk }));
        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, Pid, probe.Ref));
        var failure = probe.ExpectMsg<ReplayMessagesFailure>();
        Assert.Contains("belongs to member", failure.Cause.Message);
    }
}

/// <summary>The journal contract on Akka.Persistence.Sql over a SQLite file (Microsoft.Data.Sqlite, provider SQLite.MS).</summary>
public sealed class SqlJournalSpec : RaftLogJournalSpec, IDisposable
{
    private static readonly string Dir = Path.Combine(Path.GetTempPath(), "akka-etcd-sql-journal-" + Guid.NewGuid().ToString("N"));

    public SqlJournalSpec()
        : base(ConfigurationFactory.ParseString($"akka.persistence.journal.sql.connection-string = \"Data Source={Path.Combine(Dir, Guid.NewGuid().ToString("N") + ".db")}\""))
    {
        Directory.CreateDirectory(Dir);
    }

    protected override string PluginId => RaftLogPlugins.SqlPluginId;

    void IDisposable.Dispose()
    {
        Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // another spec instance still has its file open: the temp dir is cleaned by the next one
        }
    }
}
