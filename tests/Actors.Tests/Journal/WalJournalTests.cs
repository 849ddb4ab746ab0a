using System.Collections.Concurrent;
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
/// The WAL journal on the simulated disk: group commit (writes queued while an fsync runs share the next one, and are
/// answered in order only once durable), and recovery after the disk lost, tore or refused writes: a lost unsynced tail,
/// a torn record, EIO in the middle of a segment, ENOSPC when a segment is preallocated, corruption in the middle. Every
/// acknowledged write is replayed after the "crash"; nothing unacknowledged is answered. "While an fsync runs" is
/// arranged with held fsyncs, never hoped for; the journal runs on its own pinned dispatcher, as in a member.
/// </summary>
public sealed class WalJournalTests : Akka.TestKit.Xunit2.TestKit
{
    private const ulong MemberId = 0x8e9e05c52164694d;
    private const ulong ClusterId = 0xcdf818194e3a8c32;
    private const string Dir = "/data/member/wal";
    private static readonly string Pid = RaftLogJournal.PersistenceIdOf(ClusterId, MemberId);

    private readonly SimulatedDisk _disk = new();
    private readonly ConcurrentQueue<string> _answered = new();
    private long _nextSequenceNr = 1;

    public WalJournalTests()
        : base(LocalMember.ActorsConfig.WithFallback(ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.log-dead-letters = off
            akka.test.single-expect-default = 10s
            """)))
    {
    }

    private IActorRef Journal => Persistence.Persistence.Instance.Apply(Sys).JournalFor(RaftLogPlugins.WalPluginId);

    private void Register(long segmentSize = 64 * 1024) =>
        WalJournalTargets.For(Sys).Register(Pid, new WalJournalTarget(Dir, MemberId, ClusterId,
            new WalOptions { FileSystem = _disk, SegmentSizeBytes = segmentSize, MaxSegmentsToKeep = 2 }));

    private static Entry EntryAt(ulong index, int dataBytes = 32) =>
        new() { Index = index, Term = 1, Type = EntryType.EntryNormal, Data = ByteString.CopyFrom(Enumerable.Repeat((byte)index, dataBytes).ToArray()) };

    /// <summary>One WriteMessages of one AtomicWrite (HardState when <paramref name="commit"/> &gt; 0, then the entries), as a Raft round.</summary>
    private WriteMessages Round(IActorRef replyTo, ulong firstIndex, ulong lastIndex, ulong commit = 0, int dataBytes = 32)
    {
        var events = new List<IPersistentRepresentation>();
        if (commit > 0)
        {
            events.Add(new Persistent(new HardState { Term = 1, Commit = commit }, _nextSequenceNr++, Pid, "", false, ActorRefs.NoSender, "w"));
        }
        for (var i = firstIndex; i <= lastIndex; i++)
        {
            events.Add(new Persistent(EntryAt(i, dataBytes), _nextSequenceNr++, Pid, "", false, ActorRefs.NoSender, "w"));
        }
        return new WriteMessages(new IPersistentEnvelope[] { new AtomicWrite(events.ToImmutableListOf()) }, replyTo, 1);
    }

    /// <summary>A writer whose WriteMessagesSuccessful answers are recorded in <see cref="_answered"/> in the order they came.</summary>
    private TestProbe Writer(string name)
    {
        var probe = CreateTestProbe(name);
        probe.SetAutoPilot(new DelegateAutoPilot((_, message) =>
        {
            if (message is WriteMessagesSuccessful)
            {
                _answered.Enqueue(name);
            }
            return AutoPilot.KeepRunning;
        }));
        return probe;
    }

    private RaftLogReplay ReplayFolded()
    {
        var replay = RaftLogReplay.ReplayAsync(Sys, Journal, Pid, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        _nextSequenceNr = replay.HighestSequenceNr + 1;
        return replay;
    }

    private void Close()
    {
        var probe = CreateTestProbe();
        Journal.Tell(new WalJournal.Close(Pid), probe.Ref);
        probe.ExpectMsg<WalJournal.Closed>();
    }

    private static List<ulong> Indexes(RaftLogReplay replay) => replay.Entries.Select(e => e.Index).ToList();

    [Fact]
    public async Task Writes_queued_while_an_fsync_runs_are_answered_together_after_one_more_fsync_in_order()
    {
        Register();
        Assert.True(ReplayFolded().IsEmpty);
        var (a, b, c, d) = (Writer("a"), Writer("b"), Writer("c"), Writer("d"));
        var syncsBefore = _disk.SyncCount;

        using (_disk.HoldSyncs())
        {
            Journal.Tell(Round(a.Ref, 1, 1, commit: 0));
            await _disk.SyncStartedAsync(); // the journal is inside the fsync of the first burst
            Journal.Tell(Round(b.Ref, 2, 2));
            Journal.Tell(Round(c.Ref, 3, 3, commit: 2));
            Journal.Tell(Round(d.Ref, 4, 4));
            Assert.False(a.HasMessages, "answered before its fsync returned");
        }

        foreach (var writer in new[] { a, b, c, d })
        {
            writer.ExpectMsg<WriteMessagesSuccessful>();
        }
        Assert.Equal(2, _disk.SyncCount - syncsBefore); // one for the first write, ONE for the three queued behind it
        Assert.Equal(new[] { "a", "b", "c", "d" }, _answered);
        Assert.Equal(0, _disk.UnsyncedBytes); // answered means durable

        Close();
        var replay = ReplayFolded();
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, Indexes(replay));
        Assert.Equal(2UL, replay.HardState.Commit);
    }

    [Fact]
    public void A_write_alone_is_answered_after_its_own_fsync()
    {
        Register();
        ReplayFolded();
        var writer = CreateTestProbe();
        for (ulong index = 1; index <= 3; index++)
        {
            var before = _disk.SyncCount;
            Journal.Tell(Round(writer.Ref, index, index));
            writer.ExpectMsg<WriteMessagesSuccessful>();
            Assert.Equal(1, _disk.SyncCount - before);
            Assert.Equal(0, _disk.UnsyncedBytes);
            writer.ExpectMsg<WriteMessageSuccess>();
        }
    }

    [Fact]
    public async Task A_crash_loses_the_unsynced_tail_and_the_replay_has_every_acknowledged_write()
    {
        Register();
        ReplayFolded();
        var writer = CreateTestProbe();
        Journal.Tell(Round(writer.Ref, 1, 10, commit: 1));
        writer.ExpectMsg<WriteMessagesSuccessful>();

        var late = CreateTestProbe();
        using (_disk.HoldSyncs())
        {
            Journal.Tell(Round(late.Ref, 11, 20, commit: 10));
            await _disk.SyncStartedAsync();
            Assert.True(_disk.UnsyncedBytes > 0);
            _disk.Crash(); // power lost during the fsync: the write was never acknowledged
        }
        Assert.False(late.HasMessages && late.ReceiveOne(TimeSpan.Zero) is WriteMessagesSuccessful, "a write lost in the crash was acknowledged");

        var replay = ReplayFolded(); // the journal reopens the log on the next replay
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (ulong)i), Indexes(replay));
        Assert.Equal(1UL, replay.HardState.Commit);
        var again = CreateTestProbe();
        Journal.Tell(Round(again.Ref, 11, 12, commit: 10));
        again.ExpectMsg<WriteMessagesSuccessful>();
    }

    [Fact]
    public void An_unsynced_commit_index_is_not_answered_rides_on_the_next_fsync_and_a_crash_before_it_keeps_the_earlier_one()
    {
        Register();
        ReplayFolded();
        var writer = CreateTestProbe();
        Journal.Tell(Round(writer.Ref, 1, 5, commit: 1));
        writer.ExpectMsg<WriteMessagesSuccessful>();
        writer.ExpectMsg<WriteMessageSuccess>(); // WriteMessages answers once more per event
        writer.ReceiveN(5);
        WalJournal.AppendLog Commit(ulong commit) => new(new AtomicWrite(new Persistent(new HardState { Term = 1, Commit = commit },
            _nextSequenceNr++, Pid, "", false, ActorRefs.NoSender, "w")), writer.Ref, Sync: false);

        // Appended without an fsync and without an answer; the next synced write makes it durable with its own records.
        var syncs = _disk.SyncCount;
        Journal.Tell(Commit(3));
        var synced = CreateTestProbe();
        Journal.Tell(new WalJournal.AppendLog(new AtomicWrite(new Persistent(EntryAt(6), _nextSequenceNr++, Pid, "", false, ActorRefs.NoSender, "w")), synced.Ref));
        synced.ExpectMsg<WriteMessagesSuccessful>();
        Assert.Equal(1, _disk.SyncCount - syncs);
        Assert.Equal(0, _disk.UnsyncedBytes);
        writer.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // nothing, ever, for the unsynced record

        // One more commit index, never synced, lost in a crash: the replay has the earlier, durable one.
        Journal.Tell(Commit(6));
        AwaitCondition(() => _disk.UnsyncedBytes > 0);
        _disk.Crash();
        var replay = ReplayFolded();
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (ulong)i), Indexes(replay));
        Assert.Equal(3UL, replay.HardState.Commit);
    }

    [Fact]
    public void A_torn_last_record_is_repaired_and_every_whole_record_before_it_is_replayed()
    {
        Register();
        ReplayFolded();
        var writer = CreateTestProbe();
        Journal.Tell(Round(writer.Ref, 1, 5, commit: 1));
        writer.ExpectMsg<WriteMessagesSuccessful>();
        Close();

        // Three more rounds written but never fsynced; the power goes while the last one is half on the platter.
        var wal = WriteAheadLog.Open(Dir, new WalOptions { FileSystem = _disk, SegmentSizeBytes = 64 * 1024 }, out var state);
        wal.AppendEvents(state.Sequence.Highest + 1, [EntryAt(6)]);
        wal.AppendEvents(state.Sequence.Highest + 2, [EntryAt(7)]);
        wal.AppendEvents(state.Sequence.Highest + 3, [EntryAt(8, dataBytes: 200)]);
        _disk.CrashTearingLastWrite(keepBytesOfLastWrite: 100); // the process is gone with its open WAL

        var replay = ReplayFolded();
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5, 6, 7 }, Indexes(replay));
        Journal.Tell(Round(writer.Ref, 8, 8));
        writer.FishForMessage(m => m is WriteMessagesSuccessful);
        Close();
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5, 6, 7, 8 }, Indexes(ReplayFolded()));
    }

    [Fact]
    public void EIO_on_fsync_in_the_middle_of_a_segment_fails_the_write_and_only_acknowledged_writes_come_back()
    {
        Register();
        ReplayFolded();
        var writer = CreateTestProbe();
        Journal.Tell(Round(writer.Ref, 1, 3, commit: 1));
        writer.ExpectMsg<WriteMessagesSuccessful>();

        _disk.SyncFault = _ => SimulatedDisk.Eio();
        Journal.Tell(Round(writer.Ref, 4, 6, commit: 3));
        var failed = (WriteMessagesFailed)writer.FishForMessage(m => m is WriteMessagesFailed);
        Assert.Equal("Input/output error", failed.Cause.Message);
        // The log is unusable after the failed fsync: nothing more is acknowledged.
        _disk.SyncFault = null;
        Journal.Tell(Round(writer.Ref, 7, 7));
        writer.FishForMessage(m => m is WriteMessagesFailed);

        _disk.Crash();
        var replay = ReplayFolded();
        Assert.Equal(new ulong[] { 1, 2, 3 }, Indexes(replay));
        Assert.Equal(1UL, replay.HardState.Commit);
    }

    [Fact]
    public void ENOSPC_when_a_new_segment_is_preallocated_fails_the_write_and_the_log_reopens_consistent()
    {
        Register(segmentSize: 4096);
        ReplayFolded();
        var writer = CreateTestProbe();
        ulong index = 1;
        // Fill the first segment with acknowledged rounds until the next one needs a new segment.
        while (_disk.ListFiles(Dir).Count(n => n.EndsWith(".wal", StringComparison.Ordinal)) == 1 && index < 60)
        {
            _disk.PreallocateFault = _ => SimulatedDisk.DiskFull();
            Journal.Tell(Round(writer.Ref, index, index, commit: index, dataBytes: 200));
            if (writer.FishForMessage(m => m is WriteMessagesSuccessful or WriteMessagesFailed) is WriteMessagesFailed failed)
            {
                Assert.Equal("No space left on device", failed.Cause.Message);
                break;
            }
            index++;
        }
        Assert.True(index > 1 && index < 60, $"no segment cut was refused (index {index})");
        var acknowledged = index - 1;

        _disk.PreallocateFault = null; // space freed; the member restarts
        _disk.Crash();
        var replay = ReplayFolded();
        Assert.Equal(Enumerable.Range(1, (int)acknowledged).Select(i => (ulong)i), Indexes(replay));
        Journal.Tell(Round(writer.Ref, acknowledged + 1, acknowledged + 1, dataBytes: 200));
        writer.FishForMessage(m => m is WriteMessagesSuccessful);
        Close();
        Assert.Equal(acknowledged + 1, Indexes(ReplayFolded()).Last());
    }

    [Fact]
    public void A_bad_record_in_the_middle_refuses_the_replay()
    {
        Register();
        ReplayFolded();
        var writer = CreateTestProbe();
        Journal.Tell(Round(writer.Ref, 1, 5, commit: 1));
        writer.ExpectMsg<WriteMessagesSuccessful>();
        Close();
        var segment = Dir + "/" + _disk.ListFiles(Dir).First(n => n.EndsWith(".wal", StringComparison.Ordinal));
        var bytes = _disk.ReadAllBytes(segment);
        // Flip a byte inside the payload of the third entry: a CRC mismatch followed by valid records.
        var offset = FindEntry(bytes, 3);
        _disk.Poke(segment, offset + 20, [(byte)(bytes[offset + 20] ^ 0xFF)]);

        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, Pid, probe.Ref));
        var failure = probe.ExpectMsg<ReplayMessagesFailure>();
        Assert.IsType<WalCorruptException>(failure.Cause);
    }

    /// <summary>Byte offset of the WAL record holding entry <paramref name="index"/> (its data bytes are all the index).</summary>
    private static int FindEntry(byte[] segment, ulong index)
    {
        var pattern = Enumerable.Repeat((byte)index, 32).ToArray();
        var at = segment.AsSpan().IndexOf(pattern);
        Assert.True(at > 0);
        return at - 20; // into the record header and entry fields before the data
    }
}

internal static class ImmutableListExtensions
{
    public static System.Collections.Immutable.IImmutableList<T> ToImmutableListOf<T>(this IEnumerable<T> items) =>
        System.Collections.Immutable.ImmutableList.CreateRange(items);
}
