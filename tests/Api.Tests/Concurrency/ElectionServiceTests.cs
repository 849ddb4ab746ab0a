using System.Threading.Channels;
using Akka.Etcd.Api.Concurrency;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using V3Electionpb;

namespace Akka.Etcd.Api.Tests.Concurrency;

public sealed class ElectionServiceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly FakeConcurrencyBackend _backend = new();
    private readonly ElectionService _election;

    public ElectionServiceTests()
    {
        _election = new ElectionService(_backend);
        foreach (var lease in new long[] { 0x10, 0x20, 0x30 })
        {
            _backend.GrantLease(lease);
        }
    }

    private static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    private Task<CampaignResponse> Campaign(string name, long lease, string value, CancellationToken cancel = default) =>
        _election.CampaignAsync(new CampaignRequest { Name = Bytes(name), Lease = lease, Value = Bytes(value) }, cancel);

    private Task<LeaderResponse> Leader(string name) => _election.LeaderAsync(new LeaderRequest { Name = Bytes(name) }, CancellationToken.None);

    private Task<ProclaimResponse> Proclaim(LeaderKey leader, string value) =>
        _election.ProclaimAsync(new ProclaimRequest { Leader = leader, Value = Bytes(value) }, CancellationToken.None);

    private Task<ResignResponse> Resign(LeaderKey leader) => _election.ResignAsync(new ResignRequest { Leader = leader }, CancellationToken.None);

    private Task WaitingOn(string key) => _backend.WatchOpened(w => w.Key == key && w.RangeEnd == "").WaitAsync(Deadline);

    [Fact]
    public async Task Uncontended_campaign_wins_and_leader_shows_its_value()
    {
        var won = await Campaign("e", 0x10, "v1").WaitAsync(Deadline);

        Assert.Equal("e", won.Leader.Name.ToStringUtf8());
        Assert.Equal("e/10", won.Leader.Key.ToStringUtf8());
        Assert.Equal(0x10, won.Leader.Lease);
        var leader = await Leader("e");
        Assert.Equal(won.Leader.Rev, leader.Kv.CreateRevision);
        Assert.Equal("v1", leader.Kv.Value.ToStringUtf8());
        Assert.Equal(0x10, leader.Kv.Lease);
    }

    [Fact]
    public async Task Leader_of_an_empty_election_fails_with_no_leader()
    {
        var error = await Assert.ThrowsAsync<EtcdException>(() => Leader("e"));

        Assert.Equal(RpcStatusCode.Unknown, error.Code);
        Assert.Equal("election: no leader", error.Message);
    }

    [Fact]
    public async Task Second_candidate_wins_only_after_the_leader_resigns()
    {
        var first = await Campaign("e", 0x10, "a").WaitAsync(Deadline);
        var second = Campaign("e", 0x20, "b");
        await WaitingOn("e/10");
        Assert.False(second.IsCompleted);
        Assert.Equal("a", (await Leader("e")).Kv.Value.ToStringUtf8());

        await Resign(first.Leader);
        var won = await second.WaitAsync(Deadline);

        Assert.Equal("e/20", won.Leader.Key.ToStringUtf8());
        Assert.Equal("b", (await Leader("e")).Kv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Leader_proclaims_a_new_value_and_loses_that_right_after_resigning()
    {
        var won = await Campaign("e", 0x10, "a").WaitAsync(Deadline);

        var proclaimed = await Proclaim(won.Leader, "b");
        Assert.Equal(_backend.Revision, proclaimed.Header.Revision);
        var leader = await Leader("e");
        Assert.Equal("b", leader.Kv.Value.ToStringUtf8());
        Assert.Equal(won.Leader.Rev, leader.Kv.CreateRevision);
        Assert.Equal(0x10, leader.Kv.Lease);

        await Resign(won.Leader);
        var error = await Assert.ThrowsAsync<EtcdException>(() => Proclaim(won.Leader, "c"));
        Assert.Equal(RpcStatusCode.Unknown, error.Code);
        Assert.Equal("election: not leader", error.Message);
        Assert.Empty(_backend.Keys("e/"));
    }

    [Fact]
    public async Task Proclaim_and_resign_without_a_leader_key_fail()
    {
        var proclaim = await Assert.ThrowsAsync<EtcdException>(() =>
            _election.ProclaimAsync(new ProclaimRequest { Value = Bytes("x") }, CancellationToken.None));
        var resign = await Assert.ThrowsAsync<EtcdException>(() => _election.ResignAsync(new ResignRequest(), CancellationToken.None));

        Assert.Equal("\"leader\" field must be provided", proclaim.Message);
        Assert.Equal("\"leader\" field must be provided", resign.Message);
        Assert.Equal(RpcStatusCode.Unknown, resign.Code);
    }

    [Fact]
    public async Task Resign_with_a_stale_leader_key_keeps_the_current_key()
    {
        var won = await Campaign("e", 0x10, "a").WaitAsync(Deadline);
        var stale = won.Leader.Clone();
        stale.Rev = won.Leader.Rev - 1;

        var resigned = await Resign(stale);

        Assert.Equal(_backend.Revision, resigned.Header.Revision);
        Assert.Equal("a", (await Leader("e")).Kv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Campaigning_again_with_the_same_lease_keeps_the_key_and_proclaims_the_new_value()
    {
        var first = await Campaign("e", 0x10, "a").WaitAsync(Deadline);

        var again = await Campaign("e", 0x10, "b").WaitAsync(Deadline);

        Assert.Equal(first.Leader, again.Leader);
        var leader = await Leader("e");
        Assert.Equal("b", leader.Kv.Value.ToStringUtf8());
        Assert.Equal(2, leader.Kv.Version);
    }

    [Fact]
    public async Task Campaign_with_an_unknown_lease_fails_with_lease_not_found()
    {
        var error = await Assert.ThrowsAsync<EtcdException>(() => Campaign("e", 0x99, "a"));

        Assert.Equal(RpcStatusCode.NotFound, error.Code);
        Assert.Empty(_backend.Keys("e/"));
    }

    [Fact]
    public async Task Campaign_without_a_lease_runs_under_a_new_lease_named_in_the_leader_key()
    {
        var won = await Campaign("e", 0, "a").WaitAsync(Deadline);

        Assert.NotEqual(0, won.Leader.Lease);
        Assert.Contains(won.Leader.Lease, _backend.Leases);
        Assert.Equal($"e/{won.Leader.Lease:x}", won.Leader.Key.ToStringUtf8());
        Assert.Equal(won.Leader.Lease, (await Leader("e")).Kv.Lease);
    }

    [Fact]
    public async Task Cancelled_campaign_resigns_its_key()
    {
        await Campaign("e", 0x10, "a").WaitAsync(Deadline);
        using var giveUp = new CancellationTokenSource();
        var second = Campaign("e", 0x20, "b", giveUp.Token);
        await WaitingOn("e/10");

        giveUp.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Deadline));
        Assert.Equal(["e/10"], _backend.Keys("e/").Select(kv => kv.Key.ToStringUtf8()).ToList());
    }

    [Fact]
    public async Task Candidate_whose_lease_expired_while_waiting_fails_when_its_turn_comes()
    {
        var first = await Campaign("e", 0x10, "a").WaitAsync(Deadline);
        var second = Campaign("e", 0x20, "b");
        await WaitingOn("e/10");

        _backend.RevokeLease(0x20);
        await Resign(first.Leader);

        var error = await Assert.ThrowsAsync<EtcdException>(() => second.WaitAsync(Deadline));
        Assert.Equal("etcdserver: requested lease not found", error.Message);
        Assert.Empty(_backend.Keys("e/"));
    }

    [Fact]
    public async Task Observe_streams_the_first_leader_its_proclamations_and_the_next_leader()
    {
        var responses = new CollectingWriter();
        using var stop = new CancellationTokenSource();
        var observing = _election.ObserveAsync(new LeaderRequest { Name = Bytes("e") }, responses, stop.Token);
        await _backend.WatchOpened(w => w.Key == "e/" && w.RangeEnd == "e0").WaitAsync(Deadline);

        var first = await Campaign("e", 0x10, "a").WaitAsync(Deadline);
        var seen = await responses.NextAsync();
        Assert.Equal(("e/10", "a"), (seen.Kv.Key.ToStringUtf8(), seen.Kv.Value.ToStringUtf8()));
        Assert.Equal(seen.Kv.ModRevision, seen.Header.Revision);

        await Proclaim(first.Leader, "a2");
        seen = await responses.NextAsync();
        Assert.Equal(("e/10", "a2"), (seen.Kv.Key.ToStringUtf8(), seen.Kv.Value.ToStringUtf8()));

        var second = Campaign("e", 0x20, "b");
        await WaitingOn("e/10");
        await Resign(first.Leader);
        await second.WaitAsync(Deadline);
        seen = await responses.NextAsync();
        Assert.Equal(("e/20", "b"), (seen.Kv.Key.ToStringUtf8(), seen.Kv.Value.ToStringUtf8()));

        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => observing.WaitAsync(Deadline));
        Assert.False(responses.TryNext(out _));
        Assert.Equal(0, _backend.ActiveWatchCount);
    }

    [Fact]
    public async Task Observe_starts_with_the_current_leader_when_there_is_one()
    {
        await Campaign("e", 0x10, "a").WaitAsync(Deadline);
        var responses = new CollectingWriter();
        using var stop = new CancellationTokenSource();
        var observing = _election.ObserveAsync(new LeaderRequest { Name = Bytes("e") }, responses, stop.Token);

        var seen = await responses.NextAsync();

        Assert.Equal("a", seen.Kv.Value.ToStringUtf8());
        Assert.Equal(_backend.Revision, seen.Header.Revision);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => observing.WaitAsync(Deadline));
    }

    private sealed class CollectingWriter : global::Grpc.Core.IServerStreamWriter<LeaderResponse>
    {
        private readonly Channel<LeaderResponse> _written = Channel.CreateUnbounded<LeaderResponse>();

        public global::Grpc.Core.WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(LeaderResponse message) => WriteAsync(message, CancellationToken.None);

        public Task WriteAsync(LeaderResponse message, CancellationToken cancellationToken)
        {
            _written.Writer.TryWrite(message);
            return Task.CompletedTask;
        }

        public Task<LeaderResponse> NextAsync() => _written.Reader.ReadAsync().AsTask().WaitAsync(Deadline);

        public bool TryNext(out LeaderResponse response) => _written.Reader.TryRead(out response!);
    }
}
