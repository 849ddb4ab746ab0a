using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Grpc.Core;
using V3Lockpb;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>
/// etcd's Lock service (<c>v3lockpb.Lock</c>, v3lock.proto; semantics of v3lock/lock.go over
/// clientv3/concurrency/mutex.go). A lock <c>name</c> is the queue of keys <c>name/&lt;lease hex&gt;</c>; the key
/// with the lowest create revision holds it. Lock waits its turn by watching only its predecessor, then
/// re-checks its lease and key. Stateless: every method is thread-safe.
/// </summary>
public sealed class LockService : V3Lockpb.Lock.LockBase
{
    private readonly IConcurrencyBackend _backend;

    /// <summary>Creates the service over <paramref name="backend"/>.</summary>
    public LockService(IConcurrencyBackend backend) => _backend = backend;

    /// <summary>Lock.Lock over the wire: <see cref="LockAsync"/>, cancelled when the client goes away or its deadline passes.</summary>
    public override Task<LockResponse> Lock(LockRequest request, ServerCallContext context) => LockAsync(request, context.CancellationToken);

    /// <summary>Lock.Unlock over the wire: <see cref="UnlockAsync"/>.</summary>
    public override Task<UnlockResponse> Unlock(UnlockRequest request, ServerCallContext context) => UnlockAsync(request, context.CancellationToken);

    /// <summary>
    /// Lock.Lock: puts <c>name/&lt;lease hex&gt;</c> with the lease unless it exists (a second Lock with the same lease
    /// reuses it), waits until every key under <c>name/</c> created before it is deleted, re-checks the lease and the
    /// key (<see cref="PredecessorWait.ConfirmTurnAsync"/>), and returns {header, key}. Lease 0 runs under a new
    /// 60 s lease, as in etcd. Errors: <see cref="EtcdErrors.LeaseNotFound"/> for an unknown lease, and when the lease
    /// is gone or expiring at the re-check; <see cref="OperationCanceledException"/> when <paramref name="cancel"/>
    /// fires; the backend's. After any error once the key was written, it is deleted again.
    /// </summary>
    public async Task<LockResponse> LockAsync(LockRequest request, CancellationToken cancel)
    {
        var lease = await PredecessorWait.SessionLeaseAsync(_backend, request.Lease, cancel).ConfigureAwait(false);
        var prefix = ConcurrencyKeys.Prefix(request.Name);
        var ownKey = ConcurrencyKeys.OwnKey(request.Name, lease);
        var holder = ConcurrencyKeys.FirstCreated(prefix);

        var txn = new TxnRequest();
        txn.Compare.Add(ConcurrencyKeys.CreateRevisionIs(ownKey, 0));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ownKey, Lease = lease } });
        txn.Success.Add(new RequestOp { RequestRange = holder });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = ownKey } });
        txn.Failure.Add(new RequestOp { RequestRange = holder.Clone() });
        var joined = await _backend.TxnAsync(txn, cancel).ConfigureAwait(false);

        long ownCreateRevision;
        if (joined.Succeeded)
        {
            ownCreateRevision = joined.Header.Revision;
        }
        else
        {
            var existing = joined.Responses[0].ResponseRange.Kvs;
            if (existing.Count == 0)
            {
                throw EtcdErrors.LeaseNotFound;
            }
            ownCreateRevision = existing[0].CreateRevision;
        }
        var holderKvs = joined.Responses[1].ResponseRange.Kvs;
        var uncontended = holderKvs.Count == 0 || holderKvs[0].CreateRevision == ownCreateRevision;

        try
        {
            if (!uncontended)
            {
                await PredecessorWait.WaitForPredecessorsAsync(_backend, prefix, ownCreateRevision, cancel).ConfigureAwait(false);
            }
            var confirmed = await PredecessorWait.ConfirmTurnAsync(_backend, ownKey, ownCreateRevision, lease, cancel).ConfigureAwait(false);
            return new LockResponse { Header = confirmed.Header, Key = ownKey };
        }
        catch (Exception)
        {
            await PredecessorWait.LeaveQueueAsync(_backend, ownKey, ownCreateRevision).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Lock.Unlock: deletes <c>key</c> (whether or not it is held) and returns the header. Errors: the backend's (EmptyKey for an empty key).</summary>
    public async Task<UnlockResponse> UnlockAsync(UnlockRequest request, CancellationToken cancel)
    {
        var deleted = await _backend.DeleteRangeAsync(new DeleteRangeRequest { Key = request.Key }, cancel).ConfigureAwait(false);
        return new UnlockResponse { Header = deleted.Header };
    }
}
