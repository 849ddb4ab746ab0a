using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Api.Concurrency;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// Waiting for one's turn in a lock or election queue without a herd (etcd's concurrency.waitDeletes): each
/// contender reads its nearest predecessor (highest create revision below its own), watches only that key from
/// the revision of the read (so no delete is missed), and reads again once it is deleted, until no predecessor is
/// left. Then the contender's lease and key are checked again, since the lease may have expired meanwhile. Stateless and
/// thread-safe.
/// </summary>
public static class PredecessorWait
{
    /// <summary>
    /// Returns once no key under <paramref name="prefix"/> has a create revision below
    /// <paramref name="ownCreateRevision"/>; the header is the one of the last read. Throws
    /// <see cref="OperationCanceledException"/> on <paramref name="cancel"/> and the backend's errors.
    /// </summary>
    public static async Task<ResponseHeader> WaitForPredecessorsAsync(IConcurrencyBackend backend, ByteString prefix,
        long ownCreateRevision, CancellationToken cancel)
    {
        while (true)
        {
            var read = await backend.RangeAsync(ConcurrencyKeys.LastCreatedUpTo(prefix, Math.Max(ownCreateRevision - 1, 1)), cancel)
                .ConfigureAwait(false);
            var predecessor = read.Kvs.FirstOrDefault(kv => kv.CreateRevision < ownCreateRevision);
            if (predecessor is null)
            {
                return read.Header;
            }
            await WaitForDeleteAsync(backend, predecessor.Key, read.Header.Revision, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Returns when <paramref name="key"/> is deleted at or after <paramref name="revision"/>, or when the watch ended
    /// because that revision was compacted (the caller must read again). Throws on <paramref name="cancel"/>.
    /// </summary>
    public static async Task WaitForDeleteAsync(IConcurrencyBackend backend, ByteString key, long revision, CancellationToken cancel)
    {
        await foreach (var response in backend.WatchAsync(key, ByteString.Empty, revision, cancel).ConfigureAwait(false))
        {
            if (response.Events.Any(e => e.Type == Event.Types.EventType.Delete))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The re-check after waiting (Jepsen found etcd 3.4 locks unsafe without it): asks for the TTL of
    /// <paramref name="lease"/> and reads <paramref name="ownKey"/>; returns the read when the lease has at least a second
    /// left and the key still exists with <paramref name="ownCreateRevision"/>. Otherwise throws
    /// <see cref="EtcdErrors.LeaseNotFound"/>: TTL -1 (revoked, its keys are gone), TTL 0 (past its deadline, the revoke
    /// is on its way), or a missing key (the lease was revoked, or the key was deleted by someone else). The caller then
    /// leaves the queue (<see cref="LeaveQueueAsync"/>).
    /// </summary>
    public static async Task<RangeResponse> ConfirmTurnAsync(IConcurrencyBackend backend, ByteString ownKey,
        long ownCreateRevision, long lease, CancellationToken cancel)
    {
        var timeToLive = await backend.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease }, cancel).ConfigureAwait(false);
        if (timeToLive.TTL <= 0)
        {
            throw EtcdErrors.LeaseNotFound;
        }
        var read = await backend.RangeAsync(new RangeRequest { Key = ownKey }, cancel).ConfigureAwait(false);
        if (read.Kvs.Count == 0 || read.Kvs[0].CreateRevision != ownCreateRevision)
        {
            throw EtcdErrors.LeaseNotFound;
        }
        return read;
    }

    /// <summary>
    /// The lease a Lock or Campaign runs under (etcd's concurrency.NewSession): <paramref name="lease"/> itself, or for
    /// 0 a new lease of <see cref="SessionTtlSeconds"/> granted for this call and never kept alive (etcd orphans it the
    /// same way), so what it holds is released when it expires. Errors: the grant's.
    /// </summary>
    public static async Task<long> SessionLeaseAsync(IConcurrencyBackend backend, long lease, CancellationToken cancel)
    {
        if (lease != 0)
        {
            return lease;
        }
        var granted = await backend.LeaseGrantAsync(new LeaseGrantRequest { TTL = SessionTtlSeconds }, cancel).ConfigureAwait(false);
        return granted.ID;
    }

    /// <summary>TTL in seconds of the lease granted for a call without one (etcd's concurrency defaultSessionTTL).</summary>
    public const long SessionTtlSeconds = 60;

    /// <summary>
    /// Deletes <paramref name="ownKey"/> if it still has <paramref name="ownCreateRevision"/> (a txn, so a newer key of
    /// the same lease is kept). Used to leave a queue after a cancelled or failed wait, so it never observes a
    /// cancellation token (the caller's is usually the one that fired) and is best effort: an
    /// <see cref="EtcdException"/> from the delete is swallowed, the lease's expiry removes the key then.
    /// </summary>
    public static async Task LeaveQueueAsync(IConcurrencyBackend backend, ByteString ownKey, long ownCreateRevision)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(ConcurrencyKeys.CreateRevisionIs(ownKey, ownCreateRevision));
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ownKey } });
        try
        {
            await backend.TxnAsync(txn, CancellationToken.None).ConfigureAwait(false);
        }
        catch (EtcdException)
        {
            // Best effort, see above.
        }
    }
}
