using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Tests.TestKit;
using Akka.Etcd.Protos.Errors;
using Akka.TestKit;
using Etcdserverpb;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Actors.Tests.Operations;

/// <summary>
/// The auto-compactor on etcd 3.4's schedule (v3compactor periodic.go and revision.go), under a virtual clock: the
/// actor runs on the calling thread, so a proposal it makes when a timer fires is at the raft probe when the advance
/// returns, and "nothing proposed" is a plain check.
/// </summary>
public sealed class AutoCompactorActorTests : Akka.TestKit.Xunit2.TestKit
{
    private const ulong MemberId = 1;

    private static readonly Config SpecConfig = ActorTestConfig.VirtualTime.WithFallback(
        ActorTestConfig.Deploy(ActorTestConfig.CallingThreadDispatcherId, "/compactor"));

    private readonly ServerStatus _status = new() { MemberId = MemberId, ClusterId = 7 };
    private readonly TestProbe _raft;

    public AutoCompactorActorTests()
        : base(SpecConfig)
    {
        _raft = CreateTestProbe("raft");
        Lead(true);
        AtRevision(1);
    }

    private VirtualClockScheduler Clock => (VirtualClockScheduler)Sys.Scheduler;

    private void Lead(bool leads) => _status.Publish(new RaftView(2, leads ? MemberId : 2, 0, 0));

    private void AtRevision(long revision) => _status.Publish(new StoreView(0, revision, 0));

    private IActorRef NewCompactor(OperationsOptions options) => ActorOfAsTestActorRef<AutoCompactorActor>(
        AutoCompactorActor.Props(new AutoCompactorSetup(options, _status, _raft.Ref, new RequestIdGenerator(MemberId), NullLogger.Instance)),
        "compactor");

    private long ExpectCompaction()
    {
        var propose = _raft.ExpectMsg<RaftProtocol.Propose>();
        var request = InternalRaftRequest.Parser.ParseFrom(propose.Data);
        Assert.Equal(propose.Id, request.ID);
        Assert.NotNull(request.Compaction);
        Assert.False(request.Compaction.Physical);
        return request.Compaction.Revision;
    }

    [Fact]
    public void Revision_mode_compacts_to_current_minus_retention_every_five_minutes()
    {
        var compactor = NewCompactor(new OperationsOptions { AutoCompactionMode = AutoCompactionMode.Revision, AutoCompactionRevisions = 10 });
        AtRevision(25);
        Clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        _raft.ExpectNoMsg(TimeSpan.Zero);

        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(15, ExpectCompaction());
        _raft.Reply(new CompactionResponse());

        // Same target: nothing; a newer one: compacted; one that is already compacted counts as done.
        Clock.Advance(TimeSpan.FromMinutes(5));
        _raft.ExpectNoMsg(TimeSpan.Zero);
        AtRevision(40);
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(30, ExpectCompaction());
        _raft.Reply(new Status.Failure(EtcdErrors.Compacted));
        Clock.Advance(TimeSpan.FromMinutes(5));
        _raft.ExpectNoMsg(TimeSpan.Zero);
        Assert.False(compactor.IsNobody());
    }

    [Fact]
    public void Revision_mode_waits_while_not_leader_and_retries_a_failure()
    {
        NewCompactor(new OperationsOptions { AutoCompactionMode = AutoCompactionMode.Revision, AutoCompactionRevisions = 5 });
        AtRevision(20);
        Lead(false);
        Clock.Advance(TimeSpan.FromMinutes(5));
        _raft.ExpectNoMsg(TimeSpan.Zero);

        Lead(true);
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(15, ExpectCompaction());
        _raft.Reply(new Status.Failure(EtcdErrors.Timeout));
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(15, ExpectCompaction());
    }

    [Fact]
    public void Periodic_mode_compacts_to_the_revision_of_one_period_ago_after_the_first_period()
    {
        // 1h: a revision is recorded every 6 min, 11 kept; the first compaction comes after one hour.
        Assert.Equal(TimeSpan.FromMinutes(6), AutoCompactorActor.RetryInterval(TimeSpan.FromHours(1)));
        Assert.Equal(11, AutoCompactorActor.Retentions(TimeSpan.FromHours(1)));
        NewCompactor(new OperationsOptions { AutoCompactionPeriod = TimeSpan.FromHours(1) });
        for (var step = 1; step < 10; step++)
        {
            AtRevision(1 + step * 100);
            Clock.Advance(TimeSpan.FromMinutes(6));
            _raft.ExpectNoMsg(TimeSpan.Zero);
        }
        AtRevision(1001);
        Clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(1, ExpectCompaction()); // recorded at the start, one hour ago
        _raft.Reply(new CompactionResponse());

        // Then every hour (period capped at 1h), each time to the oldest of the 11 revisions kept: as in etcd, the one
        // recorded one retry interval more than an hour before (the record of the compaction round comes after it).
        for (var step = 1; step < 10; step++)
        {
            AtRevision(1001 + step * 10);
            Clock.Advance(TimeSpan.FromMinutes(6));
            _raft.ExpectNoMsg(TimeSpan.Zero);
        }
        Clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(901, ExpectCompaction());
    }

    [Fact]
    public void Periodic_mode_retries_a_failed_compaction_at_the_next_record()
    {
        NewCompactor(new OperationsOptions { AutoCompactionPeriod = TimeSpan.FromMinutes(30) });
        AtRevision(50);
        Clock.AdvanceInSteps(TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(3));
        Assert.Equal(1, ExpectCompaction());
        _raft.Reply(new Status.Failure(EtcdErrors.NoLeader));
        Clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(1, ExpectCompaction()); // retried at the next record, still the oldest of the window
        _raft.Reply(new CompactionResponse());
        Clock.AdvanceInSteps(TimeSpan.FromMinutes(27), TimeSpan.FromMinutes(3));
        _raft.ExpectNoMsg(TimeSpan.Zero);
        Clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(50, ExpectCompaction()); // 30 minutes after the success, the revision of 30 minutes ago
    }
}
