using Akka.Etcd.TestDoubles;
using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.Storage.Wal;
using Akka.TestKit;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Journal;

/// <summary>
/// The WalJournalActor's group commit: a Save is appended at once and answered <see cref="JournalProtocol.Persisted"/>
/// after the fsync of its burst; the Saves queued while an fsync runs share the next one. The WAL lives on an in-memory
/// file system whose fsyncs are counted and can be held, so "queued while an fsync runs" is arranged, not hoped for.
/// The journal runs on its own pinned dispatcher, as in a member.
/// </summary>
public sealed class WalJournalActorTests : Akka.TestKit.Xunit2.TestKit
{
    private const string Dir = "/data/member/wal";
    private const ulong MemberId = 0x8e9e05c52164694d;
    private const ulong ClusterId = 0xcdf818194e3a8c32;

    private readonly InMemoryFileSystem _disk = new();
    private readonly SyncGateFileSystem _fs;
    private readonly ConcurrentQueue<string> _answered = new();

    public WalJournalActorTests()
        : base(EtcdServer.ActorsConfig.WithFallback(Akka.Configuration.ConfigurationFactory.ParseString(
            "akka.loglevel = WARNING\nakka.test.single-expect-default = 10s")))
    {
        _fs = new SyncGateFileSystem(_disk);
    }

    private WalOptions Options => new() { FileSystem = _fs };

    private static Entry Entry(ulong index, ulong term = 1) =>
        new() { Index = index, Term = term, Type = EntryType.EntryNormal, Data = ByteString.CopyFromUtf8($"entry {index}") };

    private static JournalProtocol.Save Save(ulong index, ulong commit = 0) =>
        new(commit == 0 ? null : new HardState { Term = 1, Commit = commit }, new[] { Entry(index) });

    /// <summary>A sender whose Persisted answers are recorded in <see cref="_answered"/> in the order the journal sent them.</summary>
    private TestProbe Saver(string name)
    {
        var probe = CreateTestProbe(name);
        // A TestProbe runs on the calling thread: the pilot records on the journal's own thread, in send order.
        probe.SetAutoPilot(new DelegateAutoPilot((_, message) =>
        {
            if (message is JournalProtocol.Persisted)
            {
                _answered.Enqueue(name);
            }
            return AutoPilot.KeepRunning;
        }));
        return probe;
    }

    [Fact]
    public async Task Saves_queued_while_an_fsync_runs_are_answered_together_after_one_more_fsync_in_order()
    {
        var wal = WriteAheadLog.Create(Dir, Options, MemberId, ClusterId);
        var journal = Sys.ActorOf(WalJournalActor.Props(wal), "journal");
        var (a, b, c, d) = (Saver("a"), Saver("b"), Saver("c"), Saver("d"));
        var syncsBefore = _fs.FileSyncs;

        using (_fs.HoldSyncs())
        {
            journal.Tell(Save(1), a.Ref);
            await _fs.SyncStartedAsync(); // the journal is inside the fsync of the first burst

            journal.Tell(Save(2), b.Ref);
            journal.Tell(Save(3, commit: 2), c.Ref);
            journal.Tell(Save(4), d.Ref);
            Assert.False(a.HasMessages, "answered before its fsync returned");
        }

        foreach (var saver in new[] { a, b, c, d })
        {
            saver.ExpectMsg<JournalProtocol.Persisted>();
            Assert.Equal(journal, saver.LastSender);
        }
        Assert.Equal(2, _fs.FileSyncs - syncsBefore); // one for the first Save, ONE for the three queued behind it
        Assert.Equal(new[] { "a", "b", "c", "d" }, _answered);
        Assert.Equal(0, _disk.UnsyncedBytes); // answered means durable
        Assert.All(new[] { a, b, c, d }, saver => Assert.False(saver.HasMessages)); // one answer each

        await StopAsync(journal);
        using var reopened = WriteAheadLog.Open(Dir, Options, out var state);
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, state.Entries.Select(e => e.Index));
        Assert.Equal(2UL, state.HardState.Commit);
    }

    [Fact]
    public async Task A_snapshot_marker_is_answered_with_the_saves_around_it_in_order()
    {
        var wal = WriteAheadLog.Create(Dir, Options, MemberId, ClusterId);
        var journal = Sys.ActorOf(WalJournalActor.Props(wal), "journal");
        var (a, b, c) = (Saver("a"), Saver("b"), Saver("c"));

        using (_fs.HoldSyncs())
        {
            journal.Tell(Save(1, commit: 1), a.Ref);
            await _fs.SyncStartedAsync();
            journal.Tell(new JournalProtocol.SaveSnapshotMarker(1, 1), b.Ref);
            journal.Tell(Save(2), c.Ref);
        }

        foreach (var saver in new[] { a, b, c })
        {
            saver.ExpectMsg<JournalProtocol.Persisted>();
        }
        Assert.Equal(new[] { "a", "b", "c" }, _answered);
        Assert.Equal(0, _disk.UnsyncedBytes);
        await StopAsync(journal);
        using var reopened = WriteAheadLog.Open(Dir, Options, out var state);
        Assert.Equal(1UL, state.SnapshotIndex);
        Assert.Equal(new ulong[] { 2 }, state.Entries.Select(e => e.Index));
    }

    [Fact]
    public void A_save_alone_is_answered_after_its_own_fsync()
    {
        var wal = WriteAheadLog.Create(Dir, Options, MemberId, ClusterId);
        var journal = Sys.ActorOf(WalJournalActor.Props(wal), "journal");
        var saver = Saver("a");
        for (ulong index = 1; index <= 3; index++)
        {
            var before = _fs.FileSyncs;
            journal.Tell(Save(index), saver.Ref);
            saver.ExpectMsg<JournalProtocol.Persisted>();
            Assert.Equal(1, _fs.FileSyncs - before);
            Assert.Equal(0, _disk.UnsyncedBytes);
        }
    }

    [Fact]
    public void A_write_error_fails_the_journal_and_nothing_is_answered()
    {
        var wal = WriteAheadLog.Create(Dir, Options, MemberId, ClusterId);
        var failures = CreateTestProbe();
        var strategy = new OneForOneStrategy(ex =>
        {
            failures.Ref.Tell(ex);
            return Directive.Stop; // what the MemberActor decides for its journal
        });
        var journal = ChildActorOf(WalJournalActor.Props(wal), "journal", strategy);
        Watch(journal);
        var saver = Saver("a");

        _disk.WriteFault = _ => InMemoryFileSystem.DiskFull();
        journal.Tell(Save(1), saver.Ref);

        var error = failures.ExpectMsg<IOException>();
        Assert.Equal("No space left on device", error.Message);
        ExpectTerminated(journal);
        Assert.False(saver.HasMessages, "a Save that is not durable must never be answered");
    }

    private async Task StopAsync(IActorRef journal)
    {
        Watch(journal);
        Sys.Stop(journal);
        await ExpectTerminatedAsync(journal);
    }
}
