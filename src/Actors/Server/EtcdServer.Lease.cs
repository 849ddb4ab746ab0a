using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>The lease paths of the member (etcd's etcdserver/v3_server.go Lease* methods).</summary>
public sealed partial class EtcdServer
{
    /// <summary>
    /// Lease.LeaseGrant through Raft. A zero ID gets a server-chosen one; TTLs below etcd's minimum
    /// (1.5 election timeouts, 2 s by default) are raised to it. Errors: LeaseExist, LeaseTTLTooLarge.
    /// </summary>
    public async Task<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, CancellationToken cancel)
    {
        if (request.TTL > LessorOptions.MaxTtlSeconds)
        {
            throw EtcdErrors.LeaseTTLTooLarge;
        }
        var grant = new LeaseGrantRequest { TTL = request.TTL, ID = _leaseIds.Resolve(request.ID) };
        return (LeaseGrantResponse)await ProposeAsync(new InternalRaftRequest { LeaseGrant = grant }, checkQuota: true, cancel).ConfigureAwait(false);
    }

    /// <summary>Lease.LeaseRevoke through Raft: the lease and every attached key go, the keys in one revision.</summary>
    public async Task<LeaseRevokeResponse> LeaseRevokeAsync(LeaseRevokeRequest request, CancellationToken cancel) =>
        (LeaseRevokeResponse)await ProposeAsync(new InternalRaftRequest { LeaseRevoke = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>
    /// One keep-alive of Lease.LeaseKeepAlive: renews the lease on the leader and answers its TTL in seconds,
    /// 0 for an unknown (or just expired) lease. Errors: NotLeader on a follower.
    /// </summary>
    public async Task<LeaseKeepAliveResponse> LeaseKeepAliveAsync(long id, CancellationToken cancel)
    {
        var reply = AskExtensions.NewReply<long>();
        _lessor.Tell(new LeaseMessage.KeepAlive(id, reply));
        var ttl = await reply.Task.WaitAsync(_requestTimeout, cancel).ConfigureAwait(false);
        return new LeaseKeepAliveResponse { Header = ResponseHeaders.Create(Status, Status.Revision), ID = id, TTL = ttl };
    }

    /// <summary>Lease.LeaseTimeToLive: remaining and granted TTL (seconds) and optionally the keys; TTL -1 for an unknown lease.</summary>
    public async Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel)
    {
        await ReadIndexAsync(cancel).ConfigureAwait(false);
        var reply = AskExtensions.NewReply<LeaseTimeToLive>();
        _lessor.Tell(new LeaseMessage.TimeToLive(request.ID, request.Keys, reply));
        var response = new LeaseTimeToLiveResponse { Header = ResponseHeaders.Create(Status, Status.Revision), ID = request.ID };
        try
        {
            var ttl = await reply.Task.WaitAsync(_requestTimeout, cancel).ConfigureAwait(false);
            response.TTL = ttl.TtlSeconds;
            response.GrantedTTL = ttl.GrantedTtlSeconds;
            response.Keys.AddRange(ttl.Keys);
        }
        catch (EtcdException ex) when (ex.Message == EtcdErrors.LeaseNotFound.Message)
        {
            response.TTL = -1;
        }
        return response;
    }

    /// <summary>Lease.LeaseLeases: every lease ID.</summary>
    public async Task<LeaseLeasesResponse> LeaseLeasesAsync(CancellationToken cancel)
    {
        await ReadIndexAsync(cancel).ConfigureAwait(false);
        var reply = AskExtensions.NewReply<IReadOnlyList<long>>();
        _lessor.Tell(new LeaseMessage.List(reply));
        var ids = await reply.Task.WaitAsync(_requestTimeout, cancel).ConfigureAwait(false);
        var response = new LeaseLeasesResponse { Header = ResponseHeaders.Create(Status, Status.Revision) };
        foreach (var id in ids)
        {
            response.Leases.Add(new LeaseStatus { ID = id });
        }
        return response;
    }

    /// <summary>Proposes the revoke of an expired lease (called by the LeaseActor on the leader).</summary>
    private Task ProposeLeaseRevokeAsync(long id) =>
        ProposeAsync(new InternalRaftRequest { LeaseRevoke = new LeaseRevokeRequest { ID = id } }, checkQuota: false, _stopping.Token);
}
