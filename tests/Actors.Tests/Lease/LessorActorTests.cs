using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Tests.TestKit;
using Akka.Etcd.Protos.Errors;
using Akka.TestKit;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Lease;

/// <summary>
/// The LessorActor and its LeaseActor shards under TestKit. The lessor, its shards and their revoke-proposal children
/// run on the CallingThreadDispatcher, so every Tell (and every timer the virtual clock fires) is fully handled before
/// it returns: "nothing was proposed" is then a plain check of the raft probe, not a wait. Time is the
/// <see cref="VirtualClockScheduler"/>'s: lease deadlines and the shards' 500 ms expiry ticks move only when the
/// test advances it. The raft and store paths the lessor is given are TestProbes.
/// </summary>
public sealed class LessorActorTests : Akka.TestKit.Xunit2.TestKit
{
    private const ulong MemberId = 1;
    private const long MinTtlSeconds = 2;
    private const long ElectionTimeoutMs = 1000;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(500);

    private static readonly Config SpecConfig = ActorTestConfig.VirtualTime.WithFallback(ActorTestConfig.Deploy(
        ActorTestConfig.CallingThreadDispatcherId, "/lessor/*", "/lessor/*/*", "/shard/*"));

    private readonly ServerStatus _status = new() { MemberId = MemberId, ClusterId = 7 };
    private readonly TestProbe _raft;
    private readonly TestProbe _store;

    public LessorActorTests()
        : base(SpecConfig)
    {
        _raft = CreateTestProbe("raft");
        _store = CreateTestProbe("store");
        _status.Publish(new RaftView(2, MemberId, 0, 0)); // this member leads
    }

    private VirtualClockScheduler Clock => (VirtualClockScheduler)Sys.Scheduler;

    /// <summary>
    /// Creates the lessor as a TestActorRef: started synchronously, on the calling thread (a top-level actor created
    /// with ActorOf starts asynchronously on the guardian's thread, which would let the first messages race the clock).
    /// </summary>
    private IActorRef NewLessor(int shards = 3) => ActorOfAsTestActorRef<LessorActor>(LessorActor.Props(new LessorActorSetup(
        shards, MinTtlSeconds, _status, _raft.Ref.Path, _store.Ref.Path, new RequestIdGenerator(MemberId), ElectionTimeoutMs)), "lessor");

    private static ByteString Key(string key) => ByteString.CopyFromUtf8(key);

    /// <summary>Asks; with the calling-thread dispatcher the answer is already there unless the actor kept the question.</summary>
    private static Task<T> Ask<T>(IActorRef lessor, object message) => lessor.Ask<T>(message, TimeSpan.FromSeconds(10));

    private static async Task<long> KeepAlive(IActorRef lessor, long id) => (await Ask<LeaseProtocol.Renewed>(lessor, new LeaseProtocol.KeepAlive(id))).TtlSeconds;

    private static async Task<LeaseRecord?> Lookup(IActorRef lessor, long id) => (await Ask<LeaseProtocol.LookedUp>(lessor, new LeaseProtocol.Lookup(id))).Lease;

    private static Task<LeaseTimeToLive> TimeToLive(IActorRef lessor, long id, bool keys = false) => Ask<LeaseTimeToLive>(lessor, new LeaseProtocol.TimeToLive(id, keys));

    private static async Task AssertFailsWith(EtcdException expected, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<EtcdException>(call);
        Assert.Equal((expected.Code, expected.Message), (ex.Code, ex.Message));
    }

    /// <summary>Advances virtual time tick by tick, so each shard's 500 ms expiry tick fires as it would in real time.</summary>
    private void Advance(TimeSpan by) => Clock.AdvanceInSteps(by, Tick);

    /// <summary>The next revoke proposal sent to the raft path: its lease ID (and the request is well formed).</summary>
    private long ExpectRevokeProposal()
    {
        var propose = _raft.ExpectMsg<RaftProtocol.Propose>();
        var request = InternalRaftRequest.Parser.ParseFrom(propose.Data);
        Assert.Equal(propose.Id, request.ID);
        Assert.Equal(propose.Id, request.Header.ID);
        Assert.Equal(propose.Id, ProposalIds.Read(propose.Data.Span));
        return request.LeaseRevoke.ID;
    }

    private void AssertNothingProposed() => Assert.False(_raft.HasMessages, "no revoke should have been proposed");

    [Fact]
    public async Task Apply_messages_mirror_grants_attachments_and_revokes_and_bad_ones_change_nothing()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 1));
        Assert.Equal(new LeaseRecord(1, MinTtlSeconds), await Lookup(lessor, 1)); // raised to the minimum TTL
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 10)); // LeaseExist: the first grant stays
        Assert.Equal(new LeaseRecord(1, MinTtlSeconds), await Lookup(lessor, 1));
        lessor.Tell(new LeaseProtocol.ApplyGrant(2, LessorOptions.MaxTtlSeconds + 1)); // LeaseTTLTooLarge: not mirrored
        Assert.Null(await Lookup(lessor, 2));
        lessor.Tell(new LeaseProtocol.ApplyAttach(9, Key("k"))); // LeaseNotFound: ignored
        await AssertFailsWith(EtcdErrors.LeaseNotFound, () => TimeToLive(lessor, 9));

        lessor.Tell(new LeaseProtocol.ApplyAttach(1, Key("b")));
        lessor.Tell(new LeaseProtocol.ApplyAttach(1, Key("a")));
        lessor.Tell(new LeaseProtocol.ApplyAttach(1, Key("c")));
        lessor.Tell(new LeaseProtocol.ApplyDetach(1, Key("b")));
        lessor.Tell(new LeaseProtocol.ApplyDetach(1, Key("never-attached")));
        var ttl = await TimeToLive(lessor, 1, keys: true);
        Assert.Equal(new[] { "a", "c" }, ttl.Keys.Select(k => k.ToStringUtf8()));
        Assert.Empty((await TimeToLive(lessor, 1)).Keys);

        lessor.Tell(new LeaseProtocol.ApplyRevoke(1));
        lessor.Tell(new LeaseProtocol.ApplyRevoke(1)); // unknown by now: nothing to forget
        Assert.Null(await Lookup(lessor, 1));
        await AssertFailsWith(EtcdErrors.LeaseNotFound, () => TimeToLive(lessor, 1));
    }

    [Fact]
    public async Task Keep_alive_answers_the_ttl_and_zero_for_an_unknown_lease()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.Promote(0));
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 10));
        Assert.Equal(0, await KeepAlive(lessor, 2));

        Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(10, await KeepAlive(lessor, 1));
        Advance(TimeSpan.FromSeconds(9));
        AssertNothingProposed(); // the keep-alive moved the deadline to 19 s
        var ttl = await TimeToLive(lessor, 1);
        Assert.Equal((1L, 1L, 10L), (ttl.Id, ttl.TtlSeconds, ttl.GrantedTtlSeconds));

        Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, ExpectRevokeProposal());
    }

    [Fact]
    public async Task Keep_alive_fails_with_not_leader_unless_the_lessor_is_the_primary()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 10));
        await AssertFailsWith(EtcdErrors.NotLeader, () => KeepAlive(lessor, 1));
        await AssertFailsWith(EtcdErrors.NotLeader, () => KeepAlive(lessor, 2)); // even for an unknown lease

        lessor.Tell(new LeaseProtocol.Promote(ElectionTimeoutMs));
        Assert.Equal(10, await KeepAlive(lessor, 1));
        lessor.Tell(LeaseProtocol.Demote.Instance);
        await AssertFailsWith(EtcdErrors.NotLeader, () => KeepAlive(lessor, 1));
    }

    [Fact]
    public async Task Keep_alive_of_an_expired_lease_waits_for_its_revoke_and_a_demotion_fails_the_others()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.Promote(0));
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 5));
        lessor.Tell(new LeaseProtocol.ApplyGrant(2, 5));
        Clock.Advance(TimeSpan.FromSeconds(5)); // past both deadlines

        var first = KeepAlive(lessor, 1);
        var second = KeepAlive(lessor, 2);
        Assert.False(first.IsCompleted, "a keep-alive of an expired lease is parked");
        Assert.False(second.IsCompleted);

        lessor.Tell(new LeaseProtocol.ApplyRevoke(1));
        Assert.Equal(0, await first.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(second.IsCompleted);

        lessor.Tell(LeaseProtocol.Demote.Instance);
        await AssertFailsWith(EtcdErrors.NotLeader, () => second.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task An_expired_lease_gets_exactly_one_revoke_proposal_to_the_raft_path_while_it_is_in_flight()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.Promote(0));
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 10));
        lessor.Tell(new LeaseProtocol.ApplyGrant(2, 60));

        Advance(TimeSpan.FromMilliseconds(9_500));
        AssertNothingProposed();

        Advance(TimeSpan.FromMilliseconds(500)); // the tick at 10 s finds lease 1 expired
        Assert.Equal(1, ExpectRevokeProposal());
        var proposal = _raft.LastSender;
        Advance(TimeSpan.FromSeconds(5)); // past the retry interval (3 s), but the proposal has not finished
        AssertNothingProposed();

        // The proposal commits: the revoke is applied back (from the store), then the proposer is answered.
        lessor.Tell(new LeaseProtocol.ApplyRevoke(1));
        proposal.Tell(new LeaseRevokeResponse(), _raft.Ref);
        Advance(TimeSpan.FromSeconds(10));
        AssertNothingProposed();
        Assert.Equal(new[] { 2L }, (await Ask<LeaseProtocol.LeaseIds>(lessor, LeaseProtocol.List.Instance)).Ids);
    }

    [Fact]
    public void A_failed_revoke_proposal_is_proposed_again_after_the_retry_interval()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.Promote(0));
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 5));
        Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, ExpectRevokeProposal());

        _raft.Reply(new Status.Failure(EtcdErrors.LeaderChanged));
        Advance(Tick);
        AssertNothingProposed(); // not at once: after the retry interval
        Advance(TimeSpan.FromMilliseconds(2_500)); // 3 s after it was reported expired
        Assert.Equal(1, ExpectRevokeProposal());
    }

    [Fact]
    public void A_revoke_proposal_nobody_answers_fails_after_its_guard_timeout_and_is_proposed_again()
    {
        // The raft path gets the proposal but never answers (a stopped member): the proposal's child gives up after
        // one minute, which frees the lease for another proposal.
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.Promote(0));
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 5));
        Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, ExpectRevokeProposal());

        Advance(TimeSpan.FromSeconds(59)); // still in flight: its retries are skipped
        AssertNothingProposed();
        Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(new LessorOptions().ExpiredRetryMs) + Tick); // timed out, then due again
        Assert.Equal(1, ExpectRevokeProposal());
        AssertNothingProposed();
    }

    [Fact]
    public void A_shard_proposes_at_most_its_share_of_the_revoke_rate_per_tick()
    {
        // 6 revokes per second at one tick per 500 ms: 3 per tick.
        var shard = ActorOfAsTestActorRef<LeaseActor>(LeaseActor.Props(new LeaseActorSetup(
            new LessorOptions { MinTtlSeconds = MinTtlSeconds, RevokeRate = 6 }, 0, 1, _raft.Ref.Path, new RequestIdGenerator(MemberId))), "shard");
        shard.Tell(new LeaseProtocol.Promote(0));
        for (var id = 1; id <= 7; id++)
        {
            shard.Tell(new LeaseProtocol.ApplyGrant(id, 10));
        }

        Advance(TimeSpan.FromSeconds(10));
        var proposed = new List<long> { ExpectRevokeProposal(), ExpectRevokeProposal(), ExpectRevokeProposal() };
        AssertNothingProposed();
        Advance(Tick);
        proposed.AddRange(new[] { ExpectRevokeProposal(), ExpectRevokeProposal(), ExpectRevokeProposal() });
        AssertNothingProposed();
        Advance(Tick);
        proposed.Add(ExpectRevokeProposal());
        AssertNothingProposed();
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), proposed.Order());
    }

    [Fact]
    public void Followers_never_propose_revokes_and_a_promotion_extends_every_lease()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 2));
        Advance(TimeSpan.FromSeconds(100));
        AssertNothingProposed();

        lessor.Tell(new LeaseProtocol.Promote(1_000));
        lessor.Tell(LeaseProtocol.Demote.Instance);
        Advance(TimeSpan.FromSeconds(100));
        AssertNothingProposed();

        // Promoted again: 2 s TTL + 1 s extension from now.
        lessor.Tell(new LeaseProtocol.Promote(1_000));
        Advance(TimeSpan.FromMilliseconds(2_500));
        AssertNothingProposed();
        Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(1, ExpectRevokeProposal());
    }

    [Fact]
    public async Task Time_to_live_counts_down_on_the_primary_and_lists_keys_only_when_asked()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 10));
        lessor.Tell(new LeaseProtocol.ApplyAttach(1, Key("x")));
        Assert.Equal(10, (await TimeToLive(lessor, 1)).TtlSeconds); // no deadline off the primary: the granted TTL

        lessor.Tell(new LeaseProtocol.Promote(0));
        Clock.Advance(TimeSpan.FromMilliseconds(3_500));
        var ttl = await TimeToLive(lessor, 1, keys: true);
        Assert.Equal((6L, 10L), (ttl.TtlSeconds, ttl.GrantedTtlSeconds)); // 6.5 s left, truncated like etcd
        Assert.Equal(new[] { "x" }, ttl.Keys.Select(k => k.ToStringUtf8()));
        Assert.Empty((await TimeToLive(lessor, 1, keys: false)).Keys);
    }

    [Fact]
    public async Task List_and_export_gather_the_leases_of_every_shard_in_id_order()
    {
        var lessor = NewLessor(shards: 3);
        foreach (var id in new long[] { 7, 3, 5, 1, 2, 6, 4 })
        {
            lessor.Tell(new LeaseProtocol.ApplyGrant(id, 10 * id));
        }
        lessor.Tell(new LeaseProtocol.ApplyCheckpoint(new[] { new LeaseCheckpoint { ID = 5, RemainingTTL = 15 } }));

        var ids = await Ask<LeaseProtocol.LeaseIds>(lessor, LeaseProtocol.List.Instance);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), ids.Ids);
        var exported = await Ask<LeaseProtocol.Exported>(lessor, LeaseProtocol.Export.Instance);
        Assert.Equal(
            Enumerable.Range(1, 7).Select(i => new LeaseRecord(i, 10 * i, i == 5 ? 15 : 0)),
            exported.Leases);

        // Each shard holds only its own: lease id % 3.
        var shard1 = await Sys.ActorSelection("/user/lessor/shard-1").Ask<LeaseProtocol.LeaseIds>(LeaseProtocol.List.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(new long[] { 1, 4, 7 }, shard1.Ids.Order());
    }

    [Fact]
    public async Task Export_and_restore_round_trip_and_a_restore_skips_keys_of_missing_leases()
    {
        var lessor = NewLessor();
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 30));
        lessor.Tell(new LeaseProtocol.ApplyGrant(2, 40));
        lessor.Tell(new LeaseProtocol.ApplyCheckpoint(new[] { new LeaseCheckpoint { ID = 2, RemainingTTL = 15 } }));
        var exported = (await Ask<LeaseProtocol.Exported>(lessor, LeaseProtocol.Export.Instance)).Leases;
        Assert.Equal(new[] { new LeaseRecord(1, 30), new LeaseRecord(2, 40, 15) }, exported);

        lessor.Tell(new LeaseProtocol.Restore(
            exported.Skip(1).ToList(),
            new[] { KeyValuePair.Create(Key("k"), 1L), KeyValuePair.Create(Key("j"), 2L) }));
        await AssertFailsWith(EtcdErrors.LeaseNotFound, () => TimeToLive(lessor, 1));
        lessor.Tell(new LeaseProtocol.Promote(0));
        var ttl = await TimeToLive(lessor, 2, keys: true);
        Assert.Equal(15, ttl.TtlSeconds); // the checkpointed remaining TTL, not the granted 40
        Assert.Equal("j", ttl.Keys.Single().ToStringUtf8());
    }

    [Fact]
    public async Task A_crashed_shard_is_restarted_and_reloaded_from_the_store_and_keep_alives_work_again()
    {
        var lessor = NewLessor(shards: 3);
        lessor.Tell(new LeaseProtocol.Promote(ElectionTimeoutMs));
        lessor.Tell(new LeaseProtocol.ApplyGrant(4, 30)); // shard 1
        lessor.Tell(new LeaseProtocol.ApplyGrant(5, 30)); // shard 2
        lessor.Tell(new LeaseProtocol.ApplyAttach(4, Key("a")));
        Assert.Equal(30, await KeepAlive(lessor, 4));

        // An attach with no key cannot be handled: the shard throws, and the lessor restarts it.
        lessor.Tell(new LeaseProtocol.ApplyAttach(4, null!));

        // The restarted shard is empty and not primary until the reload: asked through the store's queue.
        await AssertFailsWith(EtcdErrors.NotLeader, () => KeepAlive(lessor, 4));
        Assert.Equal(30, await KeepAlive(lessor, 5)); // the other shards are untouched
        var load = _store.ExpectMsg<StoreProtocol.RunQuery>();
        Assert.IsType<StoreProtocol.LoadLeases>(load.Query);
        Assert.Equal(0UL, load.MinAppliedIndex);
        _store.Reply(new StoreProtocol.LeasesLoaded(
            new[] { new LeaseRecord(4, 30), new LeaseRecord(5, 30) },
            new[] { KeyValuePair.Create(Key("a"), 4L) }));

        Assert.Equal(30, await KeepAlive(lessor, 4)); // reloaded and promoted again (this member leads)
        Assert.Equal(new[] { "a" }, (await TimeToLive(lessor, 4, keys: true)).Keys.Select(k => k.ToStringUtf8()));
        Assert.Equal(new long[] { 4, 5 }, (await Ask<LeaseProtocol.LeaseIds>(lessor, LeaseProtocol.List.Instance)).Ids.Order());
        Assert.False(_store.HasMessages);
    }

    [Fact]
    public async Task A_restarted_lessor_reloads_every_shard_from_the_store()
    {
        var lessor = NewLessor(shards: 2);
        lessor.Tell(new LeaseProtocol.Promote(ElectionTimeoutMs));
        lessor.Tell(new LeaseProtocol.ApplyGrant(1, 30));
        lessor.Tell(new LeaseProtocol.ApplyGrant(2, 30));

        // A checkpoint list it cannot read fails the lessor itself; its supervisor (here the user guardian, in a
        // member the MemberActor) restarts it with new, empty shards.
        lessor.Tell(new LeaseProtocol.ApplyCheckpoint(null!));

        var loads = new[] { _store.ExpectMsg<StoreProtocol.RunQuery>(), _store.ExpectMsg<StoreProtocol.RunQuery>() };
        Assert.All(loads, load => Assert.IsType<StoreProtocol.LoadLeases>(load.Query));
        await AssertFailsWith(EtcdErrors.NotLeader, () => KeepAlive(lessor, 1));
        _store.Reply(new StoreProtocol.LeasesLoaded(new[] { new LeaseRecord(1, 30), new LeaseRecord(2, 30) }, Array.Empty<KeyValuePair<ByteString, long>>()));

        Assert.Equal(30, await KeepAlive(lessor, 1));
        Assert.Equal(30, await KeepAlive(lessor, 2));
    }
}
