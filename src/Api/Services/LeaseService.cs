using Akka.Etcd.Actors.Lease;
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
    private readonly MemberGateway _member;
    private readonly LeaseIdGenerator _leaseIds;
    private readonly LeaseForwarding _forwarding;

    /// <summary>Creates the service over a running member.</summary>
    public LeaseService(MemberGateway member)
    {
        _member = member;
        _leaseIds = new LeaseIdGenerator(member.NextRequestId);
        _forwarding = new LeaseForwarding(member);
    }

    /// <summary>Lease.LeaseGrant: a lease with a TTL in seconds (raised to the minimum TTL); ID 0 lets the member choose.</summary>
    public override Task<LeaseGrantResponse> LeaseGrant(LeaseGrantRequest request, ServerCallContext context) =>
        LeaseGrantAsync(request, context.CancellationToken);

    /// <summary>Lease.LeaseRevoke: deletes the lease and every key attached to it, in one revision.</summary>
    public override Task<LeaseRevokeResponse> LeaseRevoke(LeaseRevokeRequest request, ServerCallContext context) =>
        LeaseRevokeAsync(request, context.CancellationToken);

    /// <summary>Lease.LeaseTimeToLive: remaining and granted TTL in seconds, and the attached keys when asked.</summary>
    public override Task<LeaseTimeToLiveResponse> LeaseTimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context) =>
        LeaseTimeToLiveAsync(request, context.CancellationToken);

    /// <summary>Lease.LeaseLeases: the IDs of every live lease.</summary>
    public override Task<LeaseLeasesResponse> LeaseLeases(LeaseLeasesRequest request, ServerCallContext context) =>
        LeaseLeasesAsync(context.CancellationToken);

    /// <summary>
    /// Lease.LeaseGrant through Raft (etcd's <c>LeaseGrant</c>, etcdserver/v3_server.go). A zero ID gets a server-chosen one
    /// (<see cref="LeaseIdGenerator"/>, chosen before the proposal so every member applies the same); TTLs below etcd's
    /// minimum (1.5 election timeouts, 2 s by default) are raised to it when applied. Errors: LeaseExist,
    /// LeaseTTLTooLarge (past <see cref="LessorOptions.MaxTtlSeconds"/>), NoSpace, and those of a proposal.
    /// </summary>
    public async Task<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, CancellationToken cancel)
    {
        if (request.TTL > LessorOptions.MaxTtlSeconds)
        {
            throw EtcdErrors.LeaseTTLTooLarge;
        }
        var grant = new LeaseGrantRequest { TTL = request.TTL, ID = _leaseIds.Resolve(request.ID) };
        return (LeaseGrantResponse)await _member.ProposeAsync(new InternalRaftRequest { LeaseGrant = grant }, checkQuota: true, cancel)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Lease.LeaseRevoke through Raft: the lease and every attached key go, the keys in one revision. Errors:
    /// LeaseNotFound, and those of a proposal.
    /// </summary>
    public async Task<LeaseRevokeResponse> LeaseRevokeAsync(LeaseRevokeRequest request, CancellationToken cancel) =>
        (LeaseRevokeResponse)await _member.ProposeAsync(new InternalRaftRequest { LeaseRevoke = request }, checkQuota: false, cancel)
            .ConfigureAwait(false);

    /// <summary>
    /// Lease.LeaseTimeToLive: TTL -1 for an unknown lease; a follower forwards it to the leader (see
    /// <see cref="LeaseForwarding.LeaseTimeToLiveAsync"/>). Errors: NoLeader, Timeout, Stopped.
    /// </summary>
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel) =>
        _forwarding.LeaseTimeToLiveAsync(request, cancel);

    /// <summary>Lease.LeaseLeases after a read index round: every lease ID the lessor holds. Errors: those of a read index.</summary>
    public async Task<LeaseLeasesResponse> LeaseLeasesAsync(CancellationToken cancel)
    {
        await _member.ReadBarrierAsync(cancel).ConfigureAwait(false);
        var ids = await _member.AskAsync<LeaseProtocol.LeaseIds>(_member.Actors.Lessor, LeaseProtocol.List.Instance, cancel).ConfigureAwait(false);
        var response = new LeaseLeasesResponse { Header = ResponseHeaders.Create(_member.Status, _member.Status.Revision) };
        foreach (var id in ids.Ids)
        {
            response.Leases.Add(new LeaseStatus { ID = id });
        }
        return response;
    }

    /// <summary>Lease.LeaseKeepAlive: renews each requested lease and answers its TTL, until the client ends the stream.</summary>
    public override async Task LeaseKeepAlive(IAsyncStreamReader<LeaseKeepAliveRequest> requestStream,
        IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        var cancel = context.CancellationToken;
        if (LeaderRequirement.Unmet(context, _member))
            throw EtcdErrors.NoLeader;
        try
        {
            while (await requestStream.MoveNext(cancel).ConfigureAwait(false))
            {
                var response = await _forwarding.LeaseKeepAliveAsync(requestStream.Current.ID, cancel).ConfigureAwait(false);
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
    public static bool Unmet(ServerCallContext context, MemberGateway member) =>
        context.RequestHeaders.GetValue("hasleader") == "true" && !member.Status.HasLeader;
}
