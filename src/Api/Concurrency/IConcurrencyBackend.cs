using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>
/// What the Lock and Election services need from the member: the KV calls of etcd's rpc.proto and a watch on
/// one key or range. etcd 3.4 runs these services as clients of its own KV and Watch APIs (v3lock/lock.go,
/// v3election/election.go over clientv3/concurrency); this interface is that client. Every member is
/// thread-safe and may be called concurrently.
/// </summary>
public interface IConcurrencyBackend
{
    /// <summary>KV.Range, linearizable. Errors are <see cref="Protos.Errors.EtcdException"/>.</summary>
    Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancel);

    /// <summary>KV.DeleteRange through consensus. Errors are <see cref="Protos.Errors.EtcdException"/> (e.g. empty key).</summary>
    Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancel);

    /// <summary>
    /// KV.Txn through consensus. A put with an unknown lease fails the whole txn with
    /// <see cref="Protos.Errors.EtcdErrors.LeaseNotFound"/> and changes nothing.
    /// </summary>
    Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancel);

    /// <summary>
    /// Lease.LeaseGrant through consensus: ID 0 gets a member-chosen ID; TTL in seconds (raised to the member's
    /// minimum). Errors: LeaseExist, LeaseTTLTooLarge.
    /// </summary>
    Task<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, CancellationToken cancel);

    /// <summary>
    /// Lease.LeaseTimeToLive, linearizable: remaining TTL in whole seconds, -1 for an unknown (revoked) lease and 0
    /// for a lease past its deadline whose revoke is not applied yet (or with less than a second left).
    /// </summary>
    Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel);

    /// <summary>
    /// Watches <paramref name="key"/> (or [key, rangeEnd) when <paramref name="rangeEnd"/> is not empty) from
    /// <paramref name="startRevision"/> on, inclusive: yields only responses that carry events, in revision
    /// order, without gaps. Ends normally when the watch is cancelled because <paramref name="startRevision"/>
    /// was compacted (the caller re-reads and watches again); throws <see cref="OperationCanceledException"/>
    /// on <paramref name="cancel"/> and an <see cref="Protos.Errors.EtcdException"/> when the watch is lost
    /// otherwise (e.g. the member stops). The watch is released when the enumeration ends.
    /// </summary>
    IAsyncEnumerable<WatchResponse> WatchAsync(ByteString key, ByteString rangeEnd, long startRevision, CancellationToken cancel);
}
