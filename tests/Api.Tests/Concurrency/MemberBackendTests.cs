using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Auth;
using Akka.Etcd.Api.Concurrency;
using Akka.Etcd.Api.Services;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using V3Electionpb;
using V3Lockpb;

namespace Akka.Etcd.Api.Tests.Concurrency;

/// <summary>
/// The services over a real single-member <see cref="LocalMember"/> through <see cref="MemberBackend"/>: KV
/// validation, txn errors, leases, and waiting on the member's WatchHub.
/// </summary>
public sealed class MemberBackendTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "akka-etcd-lock-" + Guid.NewGuid().ToString("N"));
    private LocalMember _server = null!;
    private MemberBackend _backend = null!;
    private KvService _kv = null!;
    private LeaseService _leases = null!;

    public async Task InitializeAsync()
    {
        _server = await LocalMember.StartAsync(new ServerOptions { DataDir = _dataDir }, NullLoggerFactory.Instance)
            .WaitAsync(Deadline);
        _kv = new KvService(_server.Gateway, new CallerChecks(_server.Gateway));
        _leases = new LeaseService(_server.Gateway);
        _backend = new MemberBackend(_server.Gateway, _kv, _leases);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    private static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    private Task<PutResponse> Put(string key, string value = "") =>
        _kv.PutAsync(new PutRequest { Key = Bytes(key), Value = Bytes(value) }, CancellationToken.None);

    [Fact]
    public async Task Waiting_for_predecessors_ends_when_the_member_deletes_the_last_of_them()
    {
        await Put("q/a");
        await Put("q/b");
        var own = await Put("q/c");

        var waiting = PredecessorWait.WaitForPredecessorsAsync(_backend, Bytes("q/"), own.Header.Revision, CancellationToken.None);
        await _kv.DeleteRangeAsync(new DeleteRangeRequest { Key = Bytes("q/b") }, CancellationToken.None);
        Assert.False(waiting.IsCompleted, "q/a still precedes q/c");
        var deleted = await _kv.DeleteRangeAsync(new DeleteRangeRequest { Key = Bytes("q/a") }, CancellationToken.None);

        var header = await waiting.WaitAsync(Deadline);
        Assert.True(header.Revision >= deleted.Header.Revision);
    }

    [Fact]
    public async Task Waiting_is_cancelled_with_the_token_and_releases_the_watch()
    {
        await Put("q/a");
        var own = await Put("q/b");
        using var giveUp = new CancellationTokenSource();
        var waiting = PredecessorWait.WaitForPredecessorsAsync(_backend, Bytes("q/"), own.Header.Revision, giveUp.Token);

        giveUp.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Deadline));
    }

    [Fact]
    public async Task Lock_with_a_lease_the_member_does_not_know_fails_with_lease_not_found()
    {
        var locks = new LockService(_backend);

        var error = await Assert.ThrowsAsync<EtcdException>(() =>
            locks.LockAsync(new LockRequest { Name = Bytes("l"), Lease = 0x1234 }, CancellationToken.None));

        Assert.Equal("etcdserver: requested lease not found", error.Message);
    }

    private async Task<long> GrantAsync() =>
        (await _leases.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, CancellationToken.None)).ID;

    [Fact]
    public async Task Second_locker_on_the_member_waits_for_the_holder_and_a_revoke_passes_the_lock_on()
    {
        var locks = new LockService(_backend);
        var first = await locks.LockAsync(new LockRequest { Name = Bytes("l"), Lease = await GrantAsync() }, CancellationToken.None)
            .WaitAsync(Deadline);
        var secondLease = await GrantAsync();
        var second = locks.LockAsync(new LockRequest { Name = Bytes("l"), Lease = secondLease }, CancellationToken.None);
        var third = locks.LockAsync(new LockRequest { Name = Bytes("l"), Lease = await GrantAsync() }, CancellationToken.None);

        await locks.UnlockAsync(new UnlockRequest { Key = first.Key }, CancellationToken.None);
        var secondHeld = await second.WaitAsync(Deadline);
        Assert.Equal($"l/{secondLease:x}", secondHeld.Key.ToStringUtf8());
        Assert.False(third.IsCompleted);

        await _leases.LeaseRevokeAsync(new LeaseRevokeRequest { ID = secondLease }, CancellationToken.None);
        var thirdHeld = await third.WaitAsync(Deadline);
        var keys = await _kv.RangeAsync(new RangeRequest { Key = Bytes("l/"), RangeEnd = Bytes("l0") }, CancellationToken.None);
        Assert.Equal(thirdHeld.Key, Assert.Single(keys.Kvs).Key);
    }

    [Fact]
    public async Task Campaign_without_a_lease_runs_under_a_member_granted_lease()
    {
        var election = new ElectionService(_backend);

        var won = await election.CampaignAsync(new CampaignRequest { Name = Bytes("e"), Value = Bytes("v") }, CancellationToken.None)
            .WaitAsync(Deadline);

        var ttl = await _leases.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = won.Leader.Lease }, CancellationToken.None);
        Assert.InRange(ttl.GrantedTTL, 60, 60);
        Assert.Equal(won.Leader.Lease, (await election.LeaderAsync(new LeaderRequest { Name = Bytes("e") }, CancellationToken.None)).Kv.Lease);
    }

    [Fact]
    public async Task Unlock_of_an_empty_key_fails_as_the_kv_service_does()
    {
        var locks = new LockService(_backend);

        var error = await Assert.ThrowsAsync<EtcdException>(() => locks.UnlockAsync(new UnlockRequest(), CancellationToken.None));

        Assert.Equal("etcdserver: key is not provided", error.Message);
    }

    [Fact]
    public async Task Leader_and_observe_follow_the_member_keyspace()
    {
        var election = new ElectionService(_backend);
        var none = await Assert.ThrowsAsync<EtcdException>(() => election.LeaderAsync(new LeaderRequest { Name = Bytes("e") }, CancellationToken.None));
        Assert.Equal("election: no leader", none.Message);

        var responses = new ObservedLeaders();
        using var stop = new CancellationTokenSource();
        var observing = election.ObserveAsync(new LeaderRequest { Name = Bytes("e") }, responses, stop.Token);
        await Put("e/1", "first");
        Assert.Equal("first", (await responses.Next.Reader.ReadAsync().AsTask().WaitAsync(Deadline)).Kv.Value.ToStringUtf8());
        await Put("e/1", "again");
        Assert.Equal("again", (await responses.Next.Reader.ReadAsync().AsTask().WaitAsync(Deadline)).Kv.Value.ToStringUtf8());
        await Put("e/2", "second");
        await _kv.DeleteRangeAsync(new DeleteRangeRequest { Key = Bytes("e/1") }, CancellationToken.None);
        var next = await responses.Next.Reader.ReadAsync().AsTask().WaitAsync(Deadline);
        Assert.Equal("e/2", next.Kv.Key.ToStringUtf8());

        var leader = await election.LeaderAsync(new LeaderRequest { Name = Bytes("e") }, CancellationToken.None);
        Assert.Equal("second", leader.Kv.Value.ToStringUtf8());
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => observing.WaitAsync(Deadline));
    }

    private sealed class ObservedLeaders : global::Grpc.Core.IServerStreamWriter<LeaderResponse>
    {
        public System.Threading.Channels.Channel<LeaderResponse> Next { get; } = System.Threading.Channels.Channel.CreateUnbounded<LeaderResponse>();

        public global::Grpc.Core.WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(LeaderResponse message) => WriteAsync(message, CancellationToken.None);

        public Task WriteAsync(LeaderResponse message, CancellationToken cancellationToken)
        {
            Next.Writer.TryWrite(message);
            return Task.CompletedTask;
        }
    }
}
