using System.Collections.Concurrent;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Actors.Tests.Lease;

public sealed class LeaseActorTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly FakeClock _clock = new(1_000_000);
    private readonly RevokeProposals _proposals = new();
    private LeaseActor _actor = null!;

    public Task InitializeAsync()
    {
        _actor = NewActor(new LeaseActorOptions { MaxRevokesPerTick = 500 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _actor.DisposeAsync();

    private LeaseActor NewActor(LeaseActorOptions options)
    {
        var actor = new LeaseActor(new Lessor(new LessorOptions { ExpiredRetryMs = 3000 }), _clock.Now, _proposals.Propose, NullLogger.Instance, options);
        actor.Start();
        return actor;
    }

    private async Task<T> Ask<T>(Func<TaskCompletionSource<T>, LeaseMessage> message)
    {
        var reply = AskExtensions.NewReply<T>();
        Assert.True(_actor.Tell(message(reply)));
        return await reply.Task.WaitAsync(Deadline);
    }

    /// <summary>Every message told before this one has been handled once it answers.</summary>
    private Task<IReadOnlyList<long>> Leases() => Ask<IReadOnlyList<long>>(r => new LeaseMessage.List(r));

    private Task<LeaseRecord> Grant(long id, long ttl) => Ask<LeaseRecord>(r => new LeaseMessage.ApplyGrant(id, ttl, r));

    private Task<long> KeepAlive(long id) => Ask<long>(r => new LeaseMessage.KeepAlive(id, r));

    private async Task Tick()
    {
        _actor.Tell(new LeaseMessage.Tick());
        await Leases();
    }

    [Fact]
    public async Task Expired_lease_gets_exactly_one_revoke_proposal_while_it_is_in_flight()
    {
        _actor.Tell(new LeaseMessage.Promote(0));
        await Grant(1, 10);
        await Grant(2, 60);

        _clock.Advance(9_999);
        await Tick();
        Assert.Empty(_proposals.Calls);

        _clock.Advance(1);
        await Tick();
        await Tick();
        _clock.Advance(3_000); // past the retry interval, but the first proposal has not finished
        await Tick();
        Assert.Equal(new[] { 1L }, _proposals.Calls);

        // The proposal commits: the revoke is applied back, then the proposal completes.
        var keys = await Ask<IReadOnlyList<ByteString>>(r => new LeaseMessage.ApplyRevoke(1, r));
        Assert.Empty(keys);
        _proposals.Complete(1, error: null);
        _clock.Advance(10_000);
        await Tick();
        Assert.Equal(new[] { 1L }, _proposals.Calls);
        Assert.Equal(new[] { 2L }, await Leases());
    }

    [Fact]
    public async Task Failed_revoke_proposal_is_retried()
    {
        _actor.Tell(new LeaseMessage.Promote(0));
        await Grant(1, 5);
        _clock.Advance(5_000);
        await Tick();
        Assert.Equal(new[] { 1L }, _proposals.Calls);

        _proposals.Complete(1, new EtcdException(RpcStatusCode.Unavailable, "etcdserver: leader changed"));
        await Tick();
        Assert.Single(_proposals.Calls); // retried after the retry interval, not at once
        _clock.Advance(3_000);
        await Tick();
        Assert.Equal(new[] { 1L, 1L }, _proposals.Calls);
    }

    [Fact]
    public async Task Proposal_that_throws_synchronously_counts_as_failed()
    {
        _proposals.ThrowOnPropose = true;
        _actor.Tell(new LeaseMessage.Promote(0));
        await Grant(1, 5);
        _clock.Advance(5_000);
        await Tick();
        _clock.Advance(3_000);
        await Tick();
        Assert.Equal(new[] { 1L, 1L }, _proposals.Calls);
    }

    [Fact]
    public async Task Many_expired_leases_get_one_proposal_each_within_the_revoke_rate()
    {
        await _actor.DisposeAsync();
        _actor = NewActor(new LeaseActorOptions { MaxRevokesPerTick = 3 });
        _actor.Tell(new LeaseMessage.Promote(0));
        for (var id = 1; id <= 7; id++)
        {
            await Grant(id, 10);
        }
        _clock.Advance(10_000);
        await Tick();
        Assert.Equal(3, _proposals.Calls.Count);
        _clock.Advance(500);
        await Tick();
        await Tick();
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), _proposals.Calls.OrderBy(i => i));
    }

    [Fact]
    public async Task Followers_never_propose_revokes()
    {
        await Grant(1, 2);
        _clock.Advance(1_000_000);
        await Tick();
        _actor.Tell(new LeaseMessage.Promote(1_000));
        _actor.Tell(new LeaseMessage.Demote());
        _clock.Advance(1_000_000);
        await Tick();
        Assert.Empty(_proposals.Calls);
    }

    [Fact]
    public async Task Keepalive_answers_ttl_and_zero_for_an_unknown_lease()
    {
        _actor.Tell(new LeaseMessage.Promote(0));
        await Grant(1, 10);
        Assert.Equal(0, await KeepAlive(2));
        _clock.Advance(9_000);
        Assert.Equal(10, await KeepAlive(1));
        _clock.Advance(9_000);
        await Tick();
        Assert.Empty(_proposals.Calls); // the keepalive moved the deadline
        var ttl = await Ask<LeaseTimeToLive>(r => new LeaseMessage.TimeToLive(1, true, r));
        Assert.Equal((1L, 1L, 10L), (ttl.Id, ttl.TtlSeconds, ttl.GrantedTtlSeconds));
    }

    [Fact]
    public async Task Keepalive_on_a_follower_fails_with_not_leader()
    {
        await Grant(1, 10);
        var ex = await Assert.ThrowsAsync<EtcdException>(() => KeepAlive(1));
        Assert.Equal(EtcdErrors.NotLeader.Message, ex.Message);
    }

    [Fact]
    public async Task Keepalive_of_an_expired_lease_waits_for_its_revoke()
    {
        _actor.Tell(new LeaseMessage.Promote(0));
        await Grant(1, 5);
        await Grant(2, 5);
        _clock.Advance(5_000);
        var first = AskExtensions.NewReply<long>();
        var second = AskExtensions.NewReply<long>();
        _actor.Tell(new LeaseMessage.KeepAlive(1, first));
        _actor.Tell(new LeaseMessage.KeepAlive(2, second));
        await Leases();
        Assert.False(first.Task.IsCompleted);

        _actor.Tell(new LeaseMessage.ApplyRevoke(1, null));
        Assert.Equal(0, await first.Task.WaitAsync(Deadline));

        _actor.Tell(new LeaseMessage.Demote());
        var ex = await Assert.ThrowsAsync<EtcdException>(() => second.Task.WaitAsync(Deadline));
        Assert.Equal(EtcdErrors.NotLeader.Message, ex.Message);
    }

    [Fact]
    public async Task Apply_messages_answer_etcd_errors()
    {
        Assert.Equal(new LeaseRecord(1, 2, 0), await Grant(1, 1));
        var exists = await Assert.ThrowsAsync<EtcdException>(() => Grant(1, 10));
        Assert.Equal(EtcdErrors.LeaseExist.Message, exists.Message);
        var tooLarge = await Assert.ThrowsAsync<EtcdException>(() => Grant(2, LessorOptions.MaxTtlSeconds + 1));
        Assert.Equal(EtcdErrors.LeaseTTLTooLarge.Message, tooLarge.Message);
        var noLease = await Assert.ThrowsAsync<EtcdException>(
            () => Ask<bool>(r => new LeaseMessage.ApplyAttach(9, ByteString.CopyFromUtf8("k"), r)));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, noLease.Message);
        var notFound = await Assert.ThrowsAsync<EtcdException>(
            () => Ask<LeaseTimeToLive>(r => new LeaseMessage.TimeToLive(9, false, r)));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, notFound.Message);

        Assert.True(await Ask<bool>(r => new LeaseMessage.ApplyAttach(1, ByteString.CopyFromUtf8("b"), r)));
        Assert.True(await Ask<bool>(r => new LeaseMessage.ApplyAttach(1, ByteString.CopyFromUtf8("a"), r)));
        _actor.Tell(new LeaseMessage.ApplyDetach(1, ByteString.CopyFromUtf8("b")));
        var keys = await Ask<IReadOnlyList<ByteString>>(r => new LeaseMessage.ApplyRevoke(1, r));
        Assert.Equal(new[] { "a" }, keys.Select(k => k.ToStringUtf8()));
        Assert.Null(await Ask<LeaseRecord?>(r => new LeaseMessage.Lookup(1, r)));
    }

    [Fact]
    public async Task Export_and_restore_round_trip_through_the_actor()
    {
        await Grant(1, 30);
        await Grant(2, 40);
        _actor.Tell(new LeaseMessage.ApplyCheckpoint(new[] { new Etcdserverpb.LeaseCheckpoint { ID = 2, RemainingTTL = 15 } }));
        var exported = await Ask<IReadOnlyList<LeaseRecord>>(r => new LeaseMessage.Export(r));
        Assert.Equal(new[] { new LeaseRecord(1, 30), new LeaseRecord(2, 40, 15) }, exported);

        var skipped = await Ask<int>(r => new LeaseMessage.Restore(
            exported.Skip(1).ToList(),
            new[] { KeyValuePair.Create(ByteString.CopyFromUtf8("k"), 1L), KeyValuePair.Create(ByteString.CopyFromUtf8("j"), 2L) },
            r));
        Assert.Equal(1, skipped);
        _actor.Tell(new LeaseMessage.Promote(0));
        var ttl = await Ask<LeaseTimeToLive>(r => new LeaseMessage.TimeToLive(2, true, r));
        Assert.Equal(15, ttl.TtlSeconds);
        Assert.Equal("j", ttl.Keys.Single().ToStringUtf8());
    }

    [Fact]
    public async Task With_a_tick_interval_the_actor_ticks_itself()
    {
        await _actor.DisposeAsync();
        _actor = NewActor(new LeaseActorOptions { TickInterval = TimeSpan.FromMilliseconds(10) });
        _actor.Tell(new LeaseMessage.Promote(0));
        await Grant(1, 2);
        _clock.Advance(2_000);
        Assert.Equal(1, await _proposals.FirstCall.Task.WaitAsync(Deadline));
    }

    private sealed class FakeClock(long startMs)
    {
        private long _nowMs = startMs;

        public long Now() => Volatile.Read(ref _nowMs);

        public void Advance(long ms) => Interlocked.Add(ref _nowMs, ms);
    }

    /// <summary>Records revoke proposals; each stays in flight until the test completes it.</summary>
    private sealed class RevokeProposals
    {
        private readonly ConcurrentQueue<long> _calls = new();
        private readonly ConcurrentDictionary<long, TaskCompletionSource> _inFlight = new();

        public bool ThrowOnPropose { get; set; }

        public TaskCompletionSource<long> FirstCall { get; } = AskExtensions.NewReply<long>();

        public IReadOnlyList<long> Calls => _calls.ToArray();

        public Task Propose(long leaseId)
        {
            _calls.Enqueue(leaseId);
            FirstCall.TrySetResult(leaseId);
            if (ThrowOnPropose)
            {
                throw new InvalidOperationException("raft stopped");
            }
            // Continuations run synchronously, so the actor hears of the completion before Complete returns.
            var proposal = new TaskCompletionSource();
            _inFlight[leaseId] = proposal;
            return proposal.Task;
        }

        public void Complete(long leaseId, Exception? error)
        {
            Assert.True(_inFlight.TryRemove(leaseId, out var proposal));
            if (error is null)
            {
                proposal.SetResult();
            }
            else
            {
                proposal.SetException(error);
            }
        }
    }
}
