namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// Settings of a <see cref="Lessor"/>, after etcd 3.4's <c>lease.LessorConfig</c> and the values
/// etcdserver/server.go derives for it.
/// </summary>
public sealed record LessorOptions
{
    /// <summary>etcd's <c>MaxLeaseTTL</c>: the largest TTL a grant may ask for, in seconds (9,000,000,000 s).</summary>
    public const long MaxTtlSeconds = 9_000_000_000;

    /// <summary>etcd's <c>leaseRevokeRate</c>: the primary proposes at most this many expiry revokes per second.</summary>
    public const int RevokeRatePerSecond = 1000;

    /// <summary>
    /// Smallest TTL a lease gets, in seconds: a grant asking for less is granted this (etcd's <c>MinLeaseTTL</c>).
    /// 2 s with etcd's defaults; see <see cref="MinTtlFor"/>.
    /// </summary>
    public long MinTtlSeconds { get; init; } = 2;

    /// <summary>
    /// How long, in milliseconds, a lease reported by <see cref="Lessor.Expired"/> waits before it is reported
    /// again if it still exists (its revoke failed or is slow). etcd's <c>defaultExpiredleaseRetryInterval</c>, 3 s.
    /// </summary>
    public long ExpiredRetryMs { get; init; } = 3000;

    /// <summary>
    /// Expiry revokes this lessor may propose per second: etcd's <see cref="RevokeRatePerSecond"/> for a lessor that
    /// holds every lease, its share of it for one shard of several. Deadlines piled up at a promotion are spread to 3/4
    /// of it. Default <see cref="RevokeRatePerSecond"/>.
    /// </summary>
    public int RevokeRate { get; init; } = RevokeRatePerSecond;

    /// <summary>
    /// Lease checkpointing (<c>--experimental-enable-lease-checkpoint</c>): how long after a lease is (re)scheduled the
    /// primary records its remaining TTL through the log, in milliseconds (etcd 3.4: 5 minutes); 0 = off.
    /// </summary>
    public long CheckpointIntervalMs { get; init; }

    /// <summary>
    /// etcd's minimum lease TTL rule (etcdserver/server.go): <c>ceil(((3 * electionTicks) / 2) * heartbeatMs / 1000)</c>
    /// seconds, so a lease outlives one leader election. 2 s for 10 ticks of 100 ms.
    /// </summary>
    /// <param name="electionTicks">Heartbeat ticks per election timeout (<c>--election-timeout / --heartbeat-interval</c>).</param>
    /// <param name="heartbeatMs">Heartbeat interval in milliseconds.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is not positive.</exception>
    public static long MinTtlFor(int electionTicks, int heartbeatMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(electionTicks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heartbeatMs);
        var minTtlMs = (3L * electionTicks / 2) * heartbeatMs;
        return (minTtlMs + 999) / 1000;
    }
}
