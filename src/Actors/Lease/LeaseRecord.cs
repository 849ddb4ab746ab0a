using Google.Protobuf;

namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// A lease as it is persisted in the backend (etcd's <c>leasepb.Lease</c> in the <c>lease</c> bucket, keyed by
/// the 8-byte big-endian ID). It holds only replicated, deterministic state: never a deadline, which depends
/// on the local clock. Key attachments are not part of it: they are rebuilt from <c>KeyValue.lease</c>.
/// </summary>
/// <param name="Id">Lease ID, non-zero.</param>
/// <param name="TtlSeconds">Granted TTL in seconds, after the minimum TTL rule.</param>
/// <param name="RemainingTtlSeconds">
/// Last checkpointed remaining TTL in seconds (etcd's <c>LeaseCheckpoint</c>); 0 means unset, and a promotion
/// then gives the lease its full <paramref name="TtlSeconds"/>.
/// </param>
public sealed record LeaseRecord(long Id, long TtlSeconds, long RemainingTtlSeconds = 0);

/// <summary>
/// Answer to a time-to-live query, the fields of etcd's <c>LeaseTimeToLiveResponse</c>.
/// </summary>
/// <param name="Id">Lease ID.</param>
/// <param name="TtlSeconds">
/// Remaining seconds before expiry, truncated like etcd (<c>int64(Remaining().Seconds())</c>) and never below 0.
/// On a member that is not the primary the lease has no deadline; this is then the checkpointed remaining TTL or
/// the granted TTL (etcd forwards the query to the leader instead).
/// </param>
/// <param name="GrantedTtlSeconds">The TTL the lease was granted with, in seconds.</param>
/// <param name="Keys">Attached keys in bytewise order; empty unless keys were asked for.</param>
public sealed record LeaseTimeToLive(long Id, long TtlSeconds, long GrantedTtlSeconds, IReadOnlyList<ByteString> Keys);
