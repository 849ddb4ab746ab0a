using Akka.Etcd.Api.Concurrency;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Tests.Grpc;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using V3Electionpb;
using V3Lockpb;

namespace Akka.Etcd.Api.Tests.Concurrency;

/// <summary>The Lock and Election services over gRPC (Grpc.AspNetCore, Grpc.Net.Client), on the in-memory backend.</summary>
public sealed class ConcurrencyWireTests : IAsyncLifetime
{
    private readonly FakeConcurrencyBackend _backend = new();
    private TestHost _host = null!;
    private V3Lockpb.Lock.LockClient _lock = null!;
    private Election.ElectionClient _election = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(
            services => services.AddSingleton(new LockService(_backend)).AddSingleton(new ElectionService(_backend)),
            app =>
            {
                app.MapEtcdGrpcService<LockService>(new GrpcServerOptions());
                app.MapEtcdGrpcService<ElectionService>(new GrpcServerOptions());
            });
        _lock = new V3Lockpb.Lock.LockClient(_host.Channel);
        _election = new Election.ElectionClient(_host.Channel);
        _backend.GrantLease(1);
        _backend.GrantLease(2);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    private Task<LockResponse> Lock(long lease, CancellationToken cancel = default) =>
        _lock.LockAsync(new LockRequest { Name = Bytes("l"), Lease = lease }, cancellationToken: cancel).ResponseAsync;

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

        await _lock.UnlockAsync(new UnlockRequest { Key = held.Key }).ResponseAsync.WaitAsync(TestHost.Timeout);
        Assert.Empty(_backend.Keys("l/"));
    }

    [Fact]
    public async Task Election_errors_keep_their_text_and_observe_streams_leaders()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _election.LeaderAsync(new LeaderRequest { Name = Bytes("e") })
            .ResponseAsync.WaitAsync(TestHost.Timeout));
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.Equal("election: no leader", error.Status.Detail);

        var won = await _election.CampaignAsync(new CampaignRequest { Name = Bytes("e"), Lease = 1, Value = Bytes("a") })
            .ResponseAsync.WaitAsync(TestHost.Timeout);
        using var observe = _election.Observe(new LeaderRequest { Name = Bytes("e") });
        Assert.True(await observe.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        Assert.Equal("a", observe.ResponseStream.Current.Kv.Value.ToStringUtf8());

        await _election.ProclaimAsync(new ProclaimRequest { Leader = won.Leader, Value = Bytes("b") }).ResponseAsync.WaitAsync(TestHost.Timeout);
        Assert.True(await observe.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
        Assert.Equal("b", observe.ResponseStream.Current.Kv.Value.ToStringUtf8());

        await _election.ResignAsync(new ResignRequest { Leader = won.Leader }).ResponseAsync.WaitAsync(TestHost.Timeout);
        var notLeader = await Assert.ThrowsAsync<RpcException>(() => _election.ProclaimAsync(new ProclaimRequest { Leader = won.Leader, Value = Bytes("c") })
            .ResponseAsync.WaitAsync(TestHost.Timeout));
        Assert.Equal("election: not leader", notLeader.Status.Detail);
    }
}
