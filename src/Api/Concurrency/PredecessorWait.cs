using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>
/// Waiting for one's turn in a lock or election queue without a herd (etcd's concurrency.waitDeletes): each
/// contender reads its nearest predecessor (highest create revision below its own), watches only that key from
/// the revision of the read (so no delete is missed), and reads again once it is deleted, until no predecessor is
/// left. Then the contender's own key is checked again, since its lease may have expired meanwhile. Stateless and
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
    /// The re-check after waiting (Jepsen found etcd 3.4 locks unsafe without it): reads <paramref name="ownKey"/> and
    /// returns the read when it still exists with <paramref name="ownCreateRevision"/>. A revoked or expired lease
    /// deletes its keys in the same revision, so a missing key means the lease is gone: throws
    /// <see cref="EtcdErrors.LeaseNotFound"/>. A key re-created since (other create revision) belongs to a later
    /// call and is left alone; the same error is thrown.
    /// </summary>
    public static async Task<RangeResponse> ConfirmOwnKeyAsync(IConcurrencyBackend backend, ByteString ownKey,
        long ownCreateRevision, CancellationToken cancel)
    {
        var read = await backend.RangeAsync(new RangeRequest { Key = ownKey }, cancel).ConfigureAwait(false);
        if (read.Kvs.Count == 0 || read.Kvs[0].CreateRevision != ownCreateRevision)
        {
            throw EtcdErrors.LeaseNotFound;
        }
        return read;
    }

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
