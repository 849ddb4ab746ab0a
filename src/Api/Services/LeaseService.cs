using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Lease service (<c>etcdserverpb.Lease</c>, rpc.proto): grant and revoke go through Raft; keep-alives renew on
/// the leader over a bidirectional stream (one response per request, in order, TTL 0 for an unknown lease; a follower
/// forwards each to the leader over the peer port); time-to-live answers TTL -1 for an unknown lease, as etcd's
/// v3rpc/lease.go does. A keep-alive that fails otherwise (no leader, timeout) ends the stream with that error, as in
/// etcd; a stream opened with metadata <c>hasleader: true</c> on a member without a leader fails at once with
/// <see cref="EtcdErrors.NoLeader"/>. Stateless and thread-safe.
/// </summary>
public sealed class LeaseService : Lease.LeaseBase
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public LeaseService(EtcdServer server) => _server = server;

    /// <summary>Lease.LeaseGrant: a lease with a TTL in seconds (raised to the minimum TTL); ID 0 lets the member choose.</summary>
    public override Task<LeaseGrantResponse> LeaseGrant(LeaseGrantRequest request, ServerCallContext context) =>
        _server.LeaseGrantAsync(request, context.CancellationToken);

    /// <summary>Lease.LeaseRevoke: deletes the lease and every key attached to it, in one revision.</summary>
    public override Task<LeaseRevokeResponse> LeaseRevoke(LeaseRevokeRequest request, ServerCallContext context) =>
        _server.LeaseRevokeAsync(request, context.CancellationToken);

    /// <summary>Lease.LeaseTimeToLive: remaining and granted TTL in seconds, and the attached keys when asked.</summary>
    public override Task<LeaseTimeToLiveResponse> LeaseTimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context) =>
        _server.LeaseTimeToLiveAsync(request, context.CancellationToken);

    /// <summary>Lease.LeaseLeases: the IDs of every live lease.</summary>
    public override Task<LeaseLeasesResponse> LeaseLeases(LeaseLeasesRequest request, ServerCallContext context) =>
        _server.LeaseLeasesAsync(context.CancellationToken);

    /// <summary>Lease.LeaseKeepAlive: renews each requested lease and answers its TTL, until the client ends the stream.</summary>
    public override async Task LeaseKeepAlive(IAsyncStreamReader<LeaseKeepAliveRequest> requestStream,
        IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        var cancel = context.CancellationToken;
        if (LeaderRequirement.Unmet(context, _server))
            throw EtcdErrors.NoLeader;
        try
        {
            while (await requestStream.MoveNext(cancel).ConfigureAwait(false))
            {
                var response = await _server.LeaseKeepAliveAsync(requestStream.Current.ID, cancel).ConfigureAwait(false);
                await responseStream.WriteAsync(response, cancel).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (cancel.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client went away.
        }
    }
}

/// <summary>
/// etcd's <c>hasleader</c> metadata (clientv3's <c>WithRequireLeader</c>): a stream opened with <c>hasleader: true</c>
/// on a member that knows no leader fails with <see cref="EtcdErrors.NoLeader"/> instead of waiting.
/// </summary>
internal static class LeaderRequirement
{
    /// <summary>True when the call asks for a leader and the member has none.</summary>
    public static bool Unmet(ServerCallContext context, EtcdServer server) =>
        context.RequestHeaders.GetValue("hasleader") == "true" && !server.Status.HasLeader;
}
