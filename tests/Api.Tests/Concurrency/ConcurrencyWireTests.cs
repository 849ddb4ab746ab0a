using Akka.Etcd.Api.Concurrency;
using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Api.Tests.Grpc;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using V3Electionpb;
using V3Lockpb;

namespace Akka.Etcd.Api.Tests.Concurrency;

/// <summary>The Lock and Election services through our gRPC server and client, on the in-memory backend.</summary>
public sealed class ConcurrencyWireTests : IAsyncLifetime
{
    private readonly FakeConcurrencyBackend _backend = new();
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        var registry = new GrpcServiceRegistry();
        new LockService(_backend).Register(registry);
        new ElectionService(_backend).Register(registry);
        _host = await TestHost.StartAsync(registry);
        _backend.GrantLease(1);
        _backend.GrantLease(2);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    private Task<LockResponse> Lock(long lease, CancellationToken cancel = default) =>
        _host.Client.UnaryAsync("/v3lockpb.Lock/Lock", new LockRequest { Name = Bytes("l"), Lease = lease }, LockResponse.Parser,
            cancellationToken: cancel);

    [Fact]
    public async Task Lock_and_unlock_over_grpc_and_a_client_cancel_removes_the_waiter_key()
    {
        var held = await Lock(1).WaitAsync(TestHost.Timeout);
        Assert.Equal("l/1", held.Key.ToStringUtf8());

        using var giveUp = new CancellationTokenSource();
        var waiting = Lock(2, giveUp.Token);
        await _backend.WatchOpened(w => w.Key == "l/1").WaitAsync(TestHost.Timeout);
        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<Exception>(() => waiting.WaitAsync(TestHost.Timeout));
        // The server sees the cancel, deletes l/2 and closes its watch.
        while (true)
        {
            var changed = _backend.NextChange();
            if (_backend.ActiveWatchCount == 0 && _backend.Keys("l/").Count == 1)
            {
                break;
            }
            await changed.WaitAsync(TestHost.Timeout);
        }

        await _host.Client.UnaryAsync("/v3lockpb.Lock/Unlock", new UnlockRequest { Key = held.Key }, UnlockResponse.Parser)
            .WaitAsync(TestHost.Timeout);
        Assert.Empty(_backend.Keys("l/"));
    }

    [Fact]
    public async Task Election_errors_keep_their_text_and_observe_streams_leaders()
    {
        var error = await Assert.ThrowsAsync<EtcdException>(() => _host.Client.UnaryAsync("/v3electionpb.Election/Leader",
            new LeaderRequest { Name = Bytes("e") }, LeaderResponse.Parser).WaitAsync(TestHost.Timeout));
        Assert.Equal(RpcStatusCode.Unknown, error.Code);
        Assert.Equal("election: no leader", error.Message);

        var won = await _host.Client.UnaryAsync("/v3electionpb.Election/Campaign",
            new CampaignRequest { Name = Bytes("e"), Lease = 1, Value = Bytes("a") }, CampaignResponse.Parser).WaitAsync(TestHost.Timeout);
        using var observe = _host.Client.ServerStreaming<LeaderRequest, LeaderResponse>("/v3electionpb.Election/Observe",
            new LeaderRequest { Name = Bytes("e") }, LeaderResponse.Parser);
        Assert.True(await observe.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        Assert.Equal("a", observe.ResponseStream.Current.Kv.Value.ToStringUtf8());

        await _host.Client.UnaryAsync("/v3electionpb.Election/Proclaim",
            new ProclaimRequest { Leader = won.Leader, Value = Bytes("b") }, ProclaimResponse.Parser).WaitAsync(TestHost.Timeout);
        Assert.True(await observe.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        Assert.Equal("b", observe.ResponseStream.Current.Kv.Value.ToStringUtf8());

        await _host.Client.UnaryAsync("/v3electionpb.Election/Resign", new ResignRequest { Leader = won.Leader }, ResignResponse.Parser)
            .WaitAsync(TestHost.Timeout);
        var notLeader = await Assert.ThrowsAsync<EtcdException>(() => _host.Client.UnaryAsync("/v3electionpb.Election/Proclaim",
            new ProclaimRequest { Leader = won.Leader, Value = Bytes("c") }, ProclaimResponse.Parser).WaitAsync(TestHost.Timeout));
        Assert.Equal("election: not leader", notLeader.Message);
    }
}
