using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Tests.TestKit;
using Akka.TestKit;
using Etcdserverpb;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Actors.Tests.Operations;

/// <summary>
/// The periodic corruption check (etcd 3.4's checkHashKV) under a virtual clock, with the peers behind a scripted
/// <see cref="IPeerHashKV"/>: the seam every way of reaching the other members (peer HTTP, Akka.Remote) plugs into.
/// </summary>
public sealed class CorruptionCheckActorTests : Akka.TestKit.Xunit2.TestKit
{
    private const ulong MemberId = 1;
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    private static readonly Config SpecConfig = ActorTestConfig.VirtualTime.WithFallback(
        ActorTestConfig.Deploy(ActorTestConfig.CallingThreadDispatcherId, "/corruption-check"));

    private readonly ServerStatus _status = new() { MemberId = MemberId, ClusterId = 7 };
    private readonly TestProbe _store;
    private readonly TestProbe _raft;
    private readonly ScriptedPeers _peers = new();

    public CorruptionCheckActorTests()
        : base(SpecConfig)
    {
        _store = CreateTestProbe("store");
        _raft = CreateTestProbe("raft");
        _status.Publish(new RaftView(2, MemberId, 0, 0));
        // A TestActorRef is created synchronously: its interval timer is set before the first Advance.
        ActorOfAsTestActorRef<CorruptionCheckActor>(CorruptionCheckActor.Props(new CorruptionCheckSetup(Interval, _status, _store.Ref, _raft.Ref, _peers,
            new RequestIdGenerator(MemberId), NullLogger.Instance)), "corruption-check");
    }

    private VirtualClockScheduler Clock => (VirtualClockScheduler)Sys.Scheduler;

    private static HashKVResponse Hash(long revision, uint hash, long compactRevision = 0) =>
        new() { Header = new ResponseHeader { Revision = revision }, Hash = hash, CompactRevision = compactRevision };

    /// <summary>Runs one check: the local hash, the peers' answers (asked at the local revision), the linearizable hash.</summary>
    private void RunCheck(HashKVResponse local, params PeerHashKV[] peers)
    {
        _peers.Next = peers;
        Clock.Advance(Interval);
        var query = _store.ExpectMsg<StoreProtocol.RunQuery>();
        Assert.IsType<StoreProtocol.HashKV>(query.Query);
        _store.Reply(local);
        var read = _raft.ExpectMsg<RaftProtocol.LinearizableRead>();
        Assert.IsType<StoreProtocol.HashKV>(read.Query);
        Assert.Equal(local.Header.Revision, _peers.AskedAt);
        _raft.Reply(local);
    }

    [Fact]
    public void A_follower_with_the_same_compaction_and_another_hash_raises_CORRUPT_through_the_log()
    {
        RunCheck(Hash(10, 111), new PeerHashKV(2, ["http://m2:2380"], Hash(10, 222), null));

        var propose = _raft.ExpectMsg<RaftProtocol.Propose>();
        var request = InternalRaftRequest.Parser.ParseFrom(propose.Data);
        Assert.Equal(propose.Id, request.ID);
        Assert.Equal(AlarmRequest.Types.AlarmAction.Activate, request.Alarm.Action);
        Assert.Equal(AlarmType.Corrupt, request.Alarm.Alarm);
        Assert.Equal(0UL, request.Alarm.MemberID);
    }

    [Fact]
    public void Equal_hashes_and_unreachable_or_differently_compacted_peers_raise_nothing_and_the_next_check_runs()
    {
        RunCheck(Hash(10, 111, compactRevision: 4),
            new PeerHashKV(2, ["http://m2:2380"], Hash(9, 111, compactRevision: 4), null),
            new PeerHashKV(3, ["http://m3:2380"], Hash(10, 333, compactRevision: 2), null),
            new PeerHashKV(4, ["http://m4:2380"], null, new HttpRequestException("connection refused")));
        _raft.ExpectNoMsg(TimeSpan.Zero);

        RunCheck(Hash(12, 444, compactRevision: 4), new PeerHashKV(2, ["http://m2:2380"], Hash(12, 444, compactRevision: 4), null));
        _raft.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_follower_ahead_of_the_leader_raises_CORRUPT()
    {
        RunCheck(Hash(10, 111), new PeerHashKV(2, ["http://m2:2380"], Hash(11, 999, compactRevision: 1), null));

        var request = InternalRaftRequest.Parser.ParseFrom(_raft.ExpectMsg<RaftProtocol.Propose>().Data);
        Assert.Equal(AlarmType.Corrupt, request.Alarm.Alarm);
    }

    [Fact]
    public void A_follower_member_does_not_check()
    {
        _status.Publish(new RaftView(2, 2, 0, 0));
        Clock.Advance(Interval);
        _store.ExpectNoMsg(TimeSpan.Zero);
        Assert.Null(_peers.AskedAt);
    }

    /// <summary>Answers every ask with <see cref="Next"/> at once and remembers the revision asked for.</summary>
    private sealed class ScriptedPeers : IPeerHashKV
    {
        public IReadOnlyList<PeerHashKV> Next { get; set; } = [];

        public long? AskedAt { get; private set; }

        public Task<IReadOnlyList<PeerHashKV>> HashKVOfPeersAsync(long revision, TimeSpan perPeerTimeout, CancellationToken cancel)
        {
            AskedAt = revision;
            return Task.FromResult(Next);
        }
    }
}
