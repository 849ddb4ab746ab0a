using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Tests.TestKit;
using Akka.Etcd.Actors.Tests.Watch;
using Akka.Etcd.Actors.Watch;
using Akka.TestKit;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Raftpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Store;

/// <summary>
/// The real MvccStoreActor over a fresh data dir, fed committed entries by the test (in place of the RaftActor), with
/// the real WatchStreamsActor/WatcherActors registered with it: the store side of the watch contract.
/// </summary>
public sealed class MvccStoreActorTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-store-actor-" + Guid.NewGuid().ToString("N"));
    private readonly OpenedMember _opened;
    private readonly TestProbe _lessor;
    private readonly IActorRef _store;
    private ulong _index;

    public MvccStoreActorTests()
        : base(ActorTestConfig.VirtualTime)
    {
        _opened = OpenedMember.OpenAsync(Sys, new ServerOptions { Name = "m1", DataDir = _dir, InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m1"] = ["http://localhost:2380"] } }, NullLoggerFactory.Instance).GetAwaiter().GetResult();
        _lessor = CreateTestProbe("lessor");
        _store = Sys.ActorOf(MvccStoreActor.Props(new MvccStoreActorSetup(
            _opened.Store, _opened.Status, _opened.Leases, _opened.Membership, 2, _lessor.Ref, _opened.Reopen, _opened.BackendPath)), "store");
        _index = _opened.Store.ConsistentIndex;
    }

    /// <summary>Applies one committed request as the RaftActor would (in order, one entry per call); answered to <paramref name="replyTo"/>.</summary>
    private void Apply(InternalRaftRequest request, IActorRef? replyTo = null)
    {
        request.ID = ++_index + 1000;
        var entry = new Entry { Index = _index, Term = 2, Type = EntryType.EntryNormal, Data = request.ToByteString() };
        var replies = replyTo is null ? null : new Dictionary<ulong, IActorRef> { [request.ID] = replyTo };
        _store.Tell(new StoreProtocol.Apply(new[] { entry }, replies), TestActor);
    }

    private void Put(string key, string value) =>
        Apply(new InternalRaftRequest { Put = new PutRequest { Key = Bytes(key), Value = Bytes(value) } });

    private void Compact(long revision) =>
        Apply(new InternalRaftRequest { Compaction = new CompactionRequest { Revision = revision } });

    private Task<HistoryResult> ReadHistoryAsync(long from) =>
        _store.Ask<HistoryResult>(new StoreProtocol.RunQuery(0, new StoreProtocol.History(new HistoryRequest(from, 1000, null, WithPrevKv: false))), Deadline);

    [Fact]
    public async Task A_history_read_from_below_the_compact_revision_covers_the_compact_revision_onward()
    {
        for (var i = 0; i < 6; i++)
        {
            Put("k", $"{i}"); // revisions 2..7
        }
        Compact(5);

        // HistoryResult's contract: the events of [max(from, compact revision), up-to revision]. A catch-up read
        // batches watchers, and the lowest of them may be behind the compact revision while the others are not.
        var below = await ReadHistoryAsync(from: 3);
        Assert.Equal(5, below.CompactRevision);
        Assert.Equal(7, below.UpToRevision);
        Assert.Equal(new long[] { 5, 6, 7 }, below.Events.Select(e => e.Kv.ModRevision));

        var at = await ReadHistoryAsync(from: 6);
        Assert.Equal(new long[] { 6, 7 }, at.Events.Select(e => e.Kv.ModRevision));
    }

    [Fact]
    public async Task Victims_of_a_full_outbox_behind_the_compact_revision_are_canceled_and_the_others_miss_nothing()
    {
        var streams = Sys.ActorOf(WatchStreamsActor.Props(_store, _opened.Status,
            new WatchStreamOptions { OutboxCapacity = 4, CoalesceMaxEvents = 1, ProgressNotifyInterval = Timeout.InfiniteTimeSpan }), "streams");
        var stream = await new WatchHub(streams, Deadline).OpenStreamAsync();
        await using var probe = new StreamProbe(stream);
        var early = await probe.WatchKeyAsync("a");
        var late = await probe.WatchKeyAsync("b");
        Put("a", "2"); // one response for early
        Put("b", "3");
        Put("b", "4");
        Put("b", "5"); // the outbox is full
        Put("a", "6"); // early becomes a victim from 6
        for (var revision = 7; revision <= 13; revision++)
        {
            Put(revision % 2 == 0 ? "a" : "b", $"{revision}"); // late becomes a victim from 7
        }
        Compact(7);
        // Everything applied and published, and every publish handled by the stream: both watchers are victims now.
        await _store.Ask<StoreProtocol.BarrierPassed>(new StoreProtocol.RunQuery(0, StoreProtocol.Barrier.Instance), Deadline);
        await stream.Actor.Ask<ActorIdentity>(new Identify(null), Deadline);
        Assert.Equal(4, probe.Outbox.Count);

        var canceled = new List<long>();
        var got = new Dictionary<long, List<long>> { [early] = new(), [late] = new() };
        while (!got[late].Contains(13))
        {
            var response = await probe.NextAsync();
            if (response.Canceled)
            {
                Assert.Equal(7, response.CompactRevision);
                canceled.Add(response.WatchId);
                continue;
            }
            got[response.WatchId].AddRange(response.Events.Select(e => e.Kv.ModRevision));
        }
        Assert.Equal(new[] { early }, canceled);
        Assert.Equal(new long[] { 2 }, got[early]);
        Assert.Equal(new long[] { 3, 4, 5, 7, 9, 11, 13 }, got[late]);
        await probe.ExpectQuietAsync(13);
    }

    [Fact]
    public async Task A_query_waits_until_its_read_index_is_applied()
    {
        var read = _store.Ask<RangeResponse>(new StoreProtocol.RunQuery(_index + 2, new StoreProtocol.Range(new RangeRequest { Key = Bytes("k") })), Deadline);
        Put("k", "1");
        await _store.Ask<StoreProtocol.BarrierPassed>(new StoreProtocol.RunQuery(0, StoreProtocol.Barrier.Instance), Deadline);
        Assert.False(read.IsCompleted, "answered before its read index was applied");

        Put("k", "2");
        var response = await read.WaitAsync(Deadline);
        Assert.Equal("2", Assert.Single(response.Kvs).Value.ToStringUtf8());
        Assert.Equal(3, response.Header.Revision);
        ExpectMsg<RaftProtocol.Applied>(a => a.Index == _index - 1);
        ExpectMsg<RaftProtocol.Applied>(a => a.Index == _index);
    }

    [Fact]
    public void A_proposal_appended_twice_is_answered_once_with_its_first_application()
    {
        Put("k", "1");
        ExpectMsg<RaftProtocol.Applied>();

        // The same delete at two indexes in one batch (a proposal the leader appended twice): both apply, the second
        // deletes nothing; the proposer must get the first one's answer (deleted 1) and no other.
        var proposer = CreateTestProbe("proposer");
        var delete = new InternalRaftRequest { ID = 77, DeleteRange = new DeleteRangeRequest { Key = Bytes("k") } };
        var entries = new[]
        {
            new Entry { Index = ++_index, Term = 2, Type = EntryType.EntryNormal, Data = delete.ToByteString() },
            new Entry { Index = ++_index, Term = 2, Type = EntryType.EntryNormal, Data = delete.ToByteString() },
        };
        _store.Tell(new StoreProtocol.Apply(entries, new Dictionary<ulong, IActorRef> { [77] = proposer.Ref }), proposer.Ref);

        Assert.Equal(1, proposer.ExpectMsg<DeleteRangeResponse>(Deadline).Deleted);
        // The store answers Applied after the batch's replies: a second answer would come before it.
        proposer.ExpectMsg<RaftProtocol.Applied>(a => a.Index == _index, Deadline);
    }

    private static TimeSpan Deadline => StreamProbe.Deadline;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing); // the store actor commits and closes the store when the system stops
        if (disposing)
        {
            if (Directory.Exists(_dir))
            {
                Directory.Delete(_dir, recursive: true);
            }
        }
    }
}
