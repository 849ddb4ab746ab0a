using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Storage.Backend;
using Etcdserverpb;

namespace Akka.Etcd.TestDoubles;

/// <summary>
/// KV and lease requests sent straight through a member's <see cref="MemberGateway"/>, for tests of the actors below the
/// gRPC services: writes are proposed as the services propose them (same quota checks), reads run as the store runs
/// them (linearizable unless <c>serializable</c>), without the services' request validation or permission checks
/// (those are tested through the services in tests/Api.Tests).
/// </summary>
public static class GatewayRequests
{
    /// <summary>A put through Raft, answered when applied here (quota checked, as KV.Put).</summary>
    public static async Task<PutResponse> PutAsync(this MemberGateway member, PutRequest request, CancellationToken cancel = default) =>
        (PutResponse)await member.ProposeAsync(new InternalRaftRequest { Put = request }, checkQuota: true, cancel).ConfigureAwait(false);

    /// <summary>A delete through Raft, answered when applied here.</summary>
    public static async Task<DeleteRangeResponse> DeleteRangeAsync(this MemberGateway member, DeleteRangeRequest request, CancellationToken cancel = default) =>
        (DeleteRangeResponse)await member.ProposeAsync(new InternalRaftRequest { DeleteRange = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>A compaction through Raft, answered when applied here.</summary>
    public static async Task<CompactionResponse> CompactAsync(this MemberGateway member, CompactionRequest request, CancellationToken cancel = default) =>
        (CompactionResponse)await member.ProposeAsync(new InternalRaftRequest { Compaction = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>A write txn through Raft (quota checked, as KV.Txn), answered when applied here.</summary>
    public static async Task<TxnResponse> TxnAsync(this MemberGateway member, TxnRequest request, CancellationToken cancel = default) =>
        (TxnResponse)await member.ProposeAsync(new InternalRaftRequest { Txn = request }, checkQuota: true, cancel).ConfigureAwait(false);

    /// <summary>A range: linearizable (a ReadIndex round) unless <c>serializable</c>.</summary>
    public static Task<RangeResponse> RangeAsync(this MemberGateway member, RangeRequest request, CancellationToken cancel = default) =>
        member.ReadAsync<RangeResponse>(new StoreProtocol.Range(request), request.Serializable, cancel);

    /// <summary>A lease grant through Raft with the ID and TTL as given (0: the member's next request ID's lower bits).</summary>
    public static async Task<LeaseGrantResponse> LeaseGrantAsync(this MemberGateway member, LeaseGrantRequest request, CancellationToken cancel = default)
    {
        var grant = new LeaseGrantRequest { TTL = request.TTL, ID = new Actors.Lease.LeaseIdGenerator(member.NextRequestId).Resolve(request.ID) };
        return (LeaseGrantResponse)await member.ProposeAsync(new InternalRaftRequest { LeaseGrant = grant }, checkQuota: true, cancel).ConfigureAwait(false);
    }

    /// <summary>A lease revoke through Raft, answered when applied here.</summary>
    public static async Task<LeaseRevokeResponse> LeaseRevokeAsync(this MemberGateway member, LeaseRevokeRequest request, CancellationToken cancel = default) =>
        (LeaseRevokeResponse)await member.ProposeAsync(new InternalRaftRequest { LeaseRevoke = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>A lease's time to live, as Lease.LeaseTimeToLive serves it (forwarded to the leader by a follower).</summary>
    public static Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(this MemberGateway member, LeaseTimeToLiveRequest request,
        CancellationToken cancel = default) => new LeaseForwarding(member).LeaseTimeToLiveAsync(request, cancel);

    /// <summary>The keyspace's hash at a revision after a ReadIndex round, as Maintenance.HashKV.</summary>
    public static Task<HashKVResponse> HashKVAsync(this MemberGateway member, HashKVRequest request, CancellationToken cancel = default) =>
        member.ReadAsync<HashKVResponse>(new StoreProtocol.HashKV(request), serializable: false, cancel);

    /// <summary>A read view of the backend opened by the store in order with applies (what Maintenance.Snapshot streams).</summary>
    public static Task<SqliteReadView> OpenBackendSnapshotAsync(this MemberGateway member, CancellationToken cancel = default) =>
        member.AskAsync<SqliteReadView>(member.Actors.Store, new StoreProtocol.RunQuery(0, StoreProtocol.OpenReadView.Instance), cancel);
}
