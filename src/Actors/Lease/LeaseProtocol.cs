using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// The messages the <see cref="LessorActor"/> (and each of its <see cref="LeaseActor"/> shards) accepts, and the
/// answers it gives. Errors are answered as <c>Status.Failure</c> with an <c>EtcdException</c>.
/// </summary>
public static class LeaseProtocol
{
    /// <summary>Apply path (a committed <c>LeaseGrant</c>, on every member): the lease exists with this TTL (seconds). Not answered.</summary>
    public sealed record ApplyGrant(long Id, long TtlSeconds);

    /// <summary>
    /// Apply path (a committed <c>LeaseRevoke</c>, from a client or an expiry): the lease and its attachments are gone
    /// (the store deleted its keys in one revision). Keep-alives parked on it are answered 0. Not answered.
    /// </summary>
    public sealed record ApplyRevoke(long Id);

    /// <summary>Apply path (a put with a lease): the key is attached to the lease. Not answered.</summary>
    public sealed record ApplyAttach(long Id, ByteString Key);

    /// <summary>Apply path (a leased key was deleted, or put without its lease): the key is detached. Not answered.</summary>
    public sealed record ApplyDetach(long Id, ByteString Key);

    /// <summary>Apply path (a committed <c>LeaseCheckpoint</c>): remaining TTLs (seconds; 0 clears). Not answered.</summary>
    public sealed record ApplyCheckpoint(IReadOnlyList<LeaseCheckpoint> Checkpoints);

    /// <summary>
    /// A keep-alive (etcd's LeaseRenew on the leader). Answered with <see cref="Renewed"/>: the TTL in seconds, 0 for an
    /// unknown lease. A lease past its deadline is parked until its revoke is applied (then 0) or this member is
    /// demoted. <c>Status.Failure(NotLeader)</c> when this lessor is not the primary: forward to the leader.
    /// </summary>
    public sealed record KeepAlive(long Id);

    /// <summary>Answer of <see cref="KeepAlive"/>.</summary>
    /// <param name="TtlSeconds">The lease's TTL after the renew; 0 for an unknown or just expired lease.</param>
    public sealed record Renewed(long TtlSeconds);

    /// <summary>
    /// A <c>LeaseTimeToLive</c> query; answered with a <see cref="LeaseTimeToLive"/> (remaining TTL -1 never happens
    /// here) or <c>Status.Failure(LeaseNotFound)</c>.
    /// </summary>
    public sealed record TimeToLive(long Id, bool Keys);

    /// <summary>A <c>LeaseLeases</c> query; answered with <see cref="LeaseIds"/>.</summary>
    public sealed record List
    {
        /// <summary>The one instance.</summary>
        public static readonly List Instance = new();
    }

    /// <summary>Answer of <see cref="List"/>: every lease ID, ascending.</summary>
    public sealed record LeaseIds(IReadOnlyList<long> Ids);

    /// <summary>Is there such a lease? Answered with <see cref="LookedUp"/>.</summary>
    public sealed record Lookup(long Id);

    /// <summary>Answer of <see cref="Lookup"/>: the lease's record, or null.</summary>
    public sealed record LookedUp(LeaseRecord? Lease);

    /// <summary>
    /// This member became leader: become the primary, extending every lease by <paramref name="ExtendMs"/> (etcd: the
    /// election timeout), and start proposing revokes of expired leases. Not answered.
    /// </summary>
    public sealed record Promote(long ExtendMs);

    /// <summary>This member lost leadership: stop expiring leases; parked keep-alives fail with NotLeader. Not answered.</summary>
    public sealed record Demote
    {
        /// <summary>The one instance.</summary>
        public static readonly Demote Instance = new();
    }

    /// <summary>Every lease's persisted form; answered with <see cref="Exported"/>.</summary>
    public sealed record Export
    {
        /// <summary>The one instance.</summary>
        public static readonly Export Instance = new();
    }

    /// <summary>Answer of <see cref="Export"/>: the records, ordered by lease ID.</summary>
    public sealed record Exported(IReadOnlyList<LeaseRecord> Leases);

    /// <summary>
    /// Replaces the state after a backend install (a Raft snapshot from the leader); the lessor is left demoted.
    /// Not answered.
    /// </summary>
    /// <param name="Leases">Persisted leases.</param>
    /// <param name="Attachments">Key and lease ID of every live leased key.</param>
    public sealed record Restore(IReadOnlyList<LeaseRecord> Leases, IReadOnlyList<KeyValuePair<ByteString, long>> Attachments);

    /// <summary>Time to look for expired leases (each shard's own timer, every 500 ms like etcd's lessor loop).</summary>
    internal sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    /// <summary>A shard restarted with no state: its parent reloads its leases from the store.</summary>
    internal sealed record ShardRestarted(int Shard);

    /// <summary>The revoke proposed for an expired lease was applied (<paramref name="Error"/> null) or failed.</summary>
    internal sealed record RevokeProposalCompleted(long Id, Exception? Error);
}
