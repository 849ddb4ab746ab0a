using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;
using Etcdserverpb;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Lease service (<c>etcdserverpb.Lease</c>, rpc.proto): grant and revoke go through Raft; keep-alives
/// renew on the leader over a bidirectional stream (one response per request, in order, TTL 0 for an unknown
/// lease; a follower forwards each to the leader over the peer port); time-to-live answers TTL -1 for an unknown
/// lease, as etcd's v3rpc/lease.go does. A keep-alive that fails otherwise (no leader, timeout) ends the stream with
/// that error, as in etcd.
/// </summary>
public sealed class LeaseService
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public LeaseService(EtcdServer server) => _server = server;

    /// <summary>Registers every Lease method under <c>/etcdserverpb.Lease/</c>.</summary>
    public void Register(GrpcServiceRegistry registry)
    {
        registry.AddUnary<LeaseGrantRequest, LeaseGrantResponse>("/etcdserverpb.Lease/LeaseGrant", LeaseGrantRequest.Parser,
            (request, context) => new ValueTask<LeaseGrantResponse>(_server.LeaseGrantAsync(request, context.CancellationToken)));
        registry.AddUnary<LeaseRevokeRequest, LeaseRevokeResponse>("/etcdserverpb.Lease/LeaseRevoke", LeaseRevokeRequest.Parser,
            (request, context) => new ValueTask<LeaseRevokeResponse>(_server.LeaseRevokeAsync(request, context.CancellationToken)));
        registry.AddUnary<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>("/etcdserverpb.Lease/LeaseTimeToLive", LeaseTimeToLiveRequest.Parser,
            (request, context) => new ValueTask<LeaseTimeToLiveResponse>(_server.LeaseTimeToLiveAsync(request, context.CancellationToken)));
        registry.AddUnary<LeaseLeasesRequest, LeaseLeasesResponse>("/etcdserverpb.Lease/LeaseLeases", LeaseLeasesRequest.Parser,
            (_, context) => new ValueTask<LeaseLeasesResponse>(_server.LeaseLeasesAsync(context.CancellationToken)));
        registry.AddDuplexStreaming<LeaseKeepAliveRequest, LeaseKeepAliveResponse>("/etcdserverpb.Lease/LeaseKeepAlive",
            LeaseKeepAliveRequest.Parser, KeepAliveAsync);
    }

    private async Task KeepAliveAsync(IAsyncStreamReader<LeaseKeepAliveRequest> requests,
        IServerStreamWriter<LeaseKeepAliveResponse> responses, ServerCallContext context)
    {
        var cancel = context.CancellationToken;
        if (context.GetRequestHeader("hasleader") == "true" && !_server.Status.HasLeader)
        {
            throw Protos.Errors.EtcdErrors.NoLeader;
        }
        try
        {
            while (await requests.MoveNext(cancel).ConfigureAwait(false))
            {
                var response = await _server.LeaseKeepAliveAsync(requests.Current.ID, cancel).ConfigureAwait(false);
                await responses.WriteAsync(response, cancel).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // The client went away.
        }
    }
}
