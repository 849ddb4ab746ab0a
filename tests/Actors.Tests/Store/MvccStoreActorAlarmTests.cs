using Akka.Actor;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Tests.TestKit;
using Akka.Etcd.Protos.Errors;
using Akka.TestKit;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Store;

/// <summary>
/// Alarms and lease checkpoints on the real MvccStoreActor's apply path, fed committed entries by the test: what a
/// raised alarm refuses at apply, that alarms and persisted checkpoints survive a reopen of the backend, and the
/// online defragmentation answering once the compacted file is in use.
/// </summary>
public sealed class MvccStoreActorAlarmTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-store-alarms-" + Guid.NewGuid().ToString("N"));
    private readonly TestProbe _lessor;
    private readonly TestProbe _raft;
    private OpenedMember _opened;
    private IActorRef _store;
    private ulong _index;
    private int _incarnation;

    public MvccStoreActorAlarmTests()
        : base(ActorTestConfig.VirtualTime)
    {
        _lessor = CreateTestProbe("lessor");
        _raft = CreateTestProbe("raft");
        (_opened, _store) = Open();
        _index = _opened.Store.ConsistentIndex;
    }

    private (OpenedMember, IActorRef) Open()
    {
        var opened = OpenedMember.OpenAsync(Sys, new ServerOptions { Name = "m1", DataDir = _dir, InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m1"] = ["http://localhost:2380"] } }, NullLoggerFactory.Instance).GetAwaiter().GetResult();
        var store = Sys.ActorOf(MvccStoreActor.Props(new MvccStoreActorSetup(
            opened.Store, opened.Status, opened.Leases, opened.Membership, 2, _lessor.Ref, opened.Reopen, opened.BackendPath)
        {
            PersistLeaseCheckpoints = true,
        }), "store-" + _incarnation++);
        return (opened, store);
    }

    private async Task ReopenAsync()
    {
        Watch(_store);
        Sys.Stop(_store);
        ExpectTerminated(_store);
        await CloseLogAsync();
        (_opened, _store) = Open();
        _index = Math.Max(_index, _opened.Store.ConsistentIndex);
    }

    /// <summary>Closes the member's log in its journal (the WAL journal holds its files and lock until then), as the
    /// MemberActor does when a member stops.</summary>
    private async Task CloseLogAsync()
    {
        if (_opened.Journal.KeepsLogOpen)
        {
            await _opened.Journal.Journal.Ask<WalJournal.Closed>(new WalJournal.Close(_opened.Journal.PersistenceId), TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Applies one committed request and returns its answer (the response, or the failure's EtcdException).</summary>
    private async Task<object> ApplyAsync(InternalRaftRequest request)
    {
        request.ID = ++_index + 1000;
        var entry = new Entry { Index = _index, Term = 2, Type = EntryType.EntryNormal, Data = request.ToByteString() };
        var answer = CreateTestProbe();
        // The store tells its sender (the RaftActor) Applied: a probe of its own, ignored here.
        _store.Tell(new StoreProtocol.Apply(new[] { entry }, new Dictionary<ulong, IActorRef> { [request.ID] = answer.Ref }), _raft.Ref);
        var reply = await answer.ReceiveOneAsync(Deadline);
        return reply is Status.Failure failure ? failure.Cause : reply;
    }

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private Task<object> PutAsync(string key, string value) => ApplyAsync(new InternalRaftRequest { Put = new PutRequest { Key = B(key), Value = B(value) } });

    private Task<object> AlarmAsync(AlarmRequest.Types.AlarmAction action, AlarmType type, ulong member = 7) =>
        ApplyAsync(new InternalRaftRequest { Alarm = new AlarmRequest { Action = action, Alarm = type, MemberID = member } });

    private static void AssertRefused(EtcdException expected, object answer) =>
        Assert.Equal(expected.Message, Assert.IsType<EtcdException>(answer).Message);

    [Fact]
    public async Task NOSPACE_refuses_puts_and_grants_at_apply_but_not_deletes_compactions_or_small_txns_until_disarmed()
    {
        Assert.IsType<PutResponse>(await PutAsync("a", "1"));
        var raised = Assert.IsType<AlarmResponse>(await AlarmAsync(AlarmRequest.Types.AlarmAction.Activate, AlarmType.Nospace));
        Assert.Equal((7UL, AlarmType.Nospace), (raised.Alarms.Single().MemberID, raised.Alarms.Single().Alarm));

        AssertRefused(EtcdErrors.NoSpace, await PutAsync("b", "2"));
        AssertRefused(EtcdErrors.NoSpace, await ApplyAsync(new InternalRaftRequest { LeaseGrant = new LeaseGrantRequest { ID = 5, TTL = 10 } }));
        AssertRefused(EtcdErrors.NoSpace, await ApplyAsync(new InternalRaftRequest
        {
            Txn = new TxnRequest { Success = { new RequestOp { RequestPut = new PutRequest { Key = B("c"), Value = B("3") } } } },
        }));
        Assert.IsType<TxnResponse>(await ApplyAsync(new InternalRaftRequest
        {
            Txn = new TxnRequest { Success = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = B("c") } } } },
        }));
        Assert.IsType<DeleteRangeResponse>(await ApplyAsync(new InternalRaftRequest { DeleteRange = new DeleteRangeRequest { Key = B("a") } }));
        Assert.IsType<CompactionResponse>(await ApplyAsync(new InternalRaftRequest { Compaction = new CompactionRequest { Revision = 2 } }));

        var listed = Assert.IsType<AlarmResponse>(await AlarmAsync(AlarmRequest.Types.AlarmAction.Get, AlarmType.None, member: 0));
        Assert.Single(listed.Alarms);
        var cleared = Assert.IsType<AlarmResponse>(await AlarmAsync(AlarmRequest.Types.AlarmAction.Deactivate, AlarmType.Nospace));
        Assert.Equal(AlarmType.Nospace, cleared.Alarms.Single().Alarm);
        Assert.Empty(Assert.IsType<AlarmResponse>(await AlarmAsync(AlarmRequest.Types.AlarmAction.Deactivate, AlarmType.Nospace)).Alarms);
        Assert.IsType<PutResponse>(await PutAsync("b", "2"));
    }

    [Fact]
    public async Task CORRUPT_refuses_every_write_and_alarms_survive_a_reopen()
    {
        await AlarmAsync(AlarmRequest.Types.AlarmAction.Activate, AlarmType.Corrupt, member: 0);
        AssertRefused(EtcdErrors.Corrupt, await PutAsync("a", "1"));
        AssertRefused(EtcdErrors.Corrupt, await ApplyAsync(new InternalRaftRequest { DeleteRange = new DeleteRangeRequest { Key = B("a") } }));
        AssertRefused(EtcdErrors.Corrupt, await ApplyAsync(new InternalRaftRequest { Compaction = new CompactionRequest { Revision = 1 } }));

        await ReopenAsync();
        var status = await _store.Ask<StoreProtocol.StoreStatus>(new StoreProtocol.RunQuery(0, StoreProtocol.GetStatus.Instance), Deadline);
        Assert.Equal((0UL, AlarmType.Corrupt), (status.Alarms.Single().MemberID, status.Alarms.Single().Alarm));
        AssertRefused(EtcdErrors.Corrupt, await PutAsync("a", "1"));
    }

    [Fact]
    public async Task A_persisted_lease_checkpoint_is_reloaded_and_a_cleared_one_is_gone()
    {
        Assert.IsType<LeaseGrantResponse>(await ApplyAsync(new InternalRaftRequest { LeaseGrant = new LeaseGrantRequest { ID = 5, TTL = 600 } }));
        Assert.IsType<LeaseGrantResponse>(await ApplyAsync(new InternalRaftRequest { LeaseGrant = new LeaseGrantRequest { ID = 6, TTL = 600 } }));
        var checkpoint = new LeaseCheckpointRequest
        {
            Checkpoints = { new LeaseCheckpoint { ID = 5, RemainingTTL = 300 }, new LeaseCheckpoint { ID = 6, RemainingTTL = 200 } },
        };
        Assert.IsType<LeaseCheckpointResponse>(await ApplyAsync(new InternalRaftRequest { LeaseCheckpoint = checkpoint }));
        _lessor.FishForMessage<LeaseProtocol.ApplyCheckpoint>(_ => true, Deadline);
        await ApplyAsync(new InternalRaftRequest { LeaseCheckpoint = new LeaseCheckpointRequest { Checkpoints = { new LeaseCheckpoint { ID = 6 } } } });

        await ReopenAsync();
        Assert.Equal(
            new[] { new LeaseRecord(5, 600, 300), new LeaseRecord(6, 600, 0) },
            _opened.Leases.Records.OrderBy(r => r.Id));
    }

    [Fact]
    public async Task Defragment_answers_once_the_compacted_file_is_in_use_and_writes_go_on()
    {
        var value = new string('x', 4000);
        for (var i = 0; i < 200; i++)
        {
            await PutAsync("k" + i, value);
        }
        var deleted = Assert.IsType<DeleteRangeResponse>(await ApplyAsync(new InternalRaftRequest { DeleteRange = new DeleteRangeRequest { Key = B("k"), RangeEnd = B("l") } }));
        Assert.IsType<CompactionResponse>(await ApplyAsync(new InternalRaftRequest
        {
            Compaction = new CompactionRequest { Revision = deleted.Header.Revision, Physical = true },
        }));
        _store.Tell(StoreProtocol.CommitBatch.Instance); // the batch timer does not run on the virtual clock
        var before = await _store.Ask<StoreProtocol.StoreStatus>(new StoreProtocol.RunQuery(0, StoreProtocol.GetStatus.Instance), Deadline);

        var defrag = _store.Ask<DefragmentResponse>(new StoreProtocol.RunQuery(0, StoreProtocol.Defragment.Instance), Deadline);
        Assert.IsType<PutResponse>(await PutAsync("during", "defrag"));
        await defrag;

        var after = await _store.Ask<StoreProtocol.StoreStatus>(new StoreProtocol.RunQuery(0, StoreProtocol.GetStatus.Instance), Deadline);
        Assert.True(after.DbSizeBytes < before.DbSizeBytes / 4, $"{before.DbSizeBytes} -> {after.DbSizeBytes}");
        var range = await _store.Ask<RangeResponse>(new StoreProtocol.RunQuery(0, new StoreProtocol.Range(new RangeRequest { Key = B("during") })), Deadline);
        Assert.Equal("defrag", range.Kvs.Single().Value.ToStringUtf8());
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            try
            {
                Directory.Delete(_dir, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }
}
