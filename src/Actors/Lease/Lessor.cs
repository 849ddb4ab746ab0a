using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// Lease bookkeeping, after etcd 3.4's <c>lease/lessor.go</c>: leases with their TTLs, the keys attached to
/// them, and, on the primary (the Raft leader), each lease's deadline in an expiry queue.
/// </summary>
/// <remarks>
/// <para>
/// Pure and single-threaded: no locks, no timers, no clock of its own. Every call that needs time takes
/// <c>nowMs</c>, a monotonic millisecond clock the caller owns (e.g. <see cref="Environment.TickCount64"/>).
/// Use it from one thread at a time (the <see cref="LeaseActor"/> owns one).
/// </para>
/// <para>
/// Two kinds of calls. Replicated ones (<see cref="Grant"/>, <see cref="Revoke"/>, <see cref="Attach"/>,
/// <see cref="Detach"/>, <see cref="Checkpoint(long, long, long)"/>, <see cref="Restore"/>) are made when committed Raft entries are
/// applied, on every member, and give the same result everywhere. Local ones (<see cref="Renew"/>,
/// <see cref="Expired"/>, <see cref="Promote"/>, <see cref="Demote"/>) only move deadlines, which are never persisted.
/// </para>
/// <para>
/// Persistence (the caller's backend, in the same transaction as the apply that changed it, with the consistent
/// index): after <see cref="Grant"/> put the returned <see cref="LeaseRecord"/>; after <see cref="Revoke"/> delete
/// the lease's record in the transaction that deletes its keys; after <see cref="Checkpoint(long, long, long)"/> put the lease's
/// updated record (<see cref="Lookup"/>). Attachments are not persisted here: they are the <c>KeyValue.lease</c>
/// fields of the live keys and are handed back to <see cref="Restore"/>. <see cref="Export"/> lists every record,
/// e.g. for a snapshot.
/// </para>
/// <para>
/// Deadlines: a primary gives each lease <c>now + remaining TTL</c>; a follower gives none (leases never expire
/// there; only the leader expires leases, by proposing their revoke through Raft). The expiry queue is a binary
/// heap keyed by deadline with lazy deletion: a renew pushes a new entry (O(log n)) and stale entries are dropped
/// when they reach the top, or all at once when they outnumber live ones.
/// </para>
/// </remarks>
public sealed class Lessor
{
    /// <summary>etcd's <c>NoLease</c>: the lease ID meaning "no lease".</summary>
    public const long NoLease = 0;

    /// <summary>The deadline of a lease that never expires (on a member that is not the primary).</summary>
    public const long Forever = long.MaxValue;

    private readonly LessorOptions _options;
    private readonly Dictionary<long, LeaseState> _leases = new();
    private readonly Dictionary<ByteString, long> _leaseOfKey = new();
    private readonly PriorityQueue<QueueEntry, long> _expiryQueue = new();
    private readonly PriorityQueue<long, long> _checkpointQueue = new();

    /// <summary>Creates an empty lessor that is not the primary.</summary>
    /// <param name="options">Minimum TTL and expiry retry interval.</param>
    public Lessor(LessorOptions options) => _options = options;

    /// <summary>True between <see cref="Promote"/> and <see cref="Demote"/>: this member's lessor expires leases.</summary>
    public bool IsPrimary { get; private set; }

    /// <summary>Number of leases.</summary>
    public int Count => _leases.Count;

    /// <summary>Entries in the expiry queue, stale ones included (for tests and metrics).</summary>
    public int QueueLength => _expiryQueue.Count;

    /// <summary>
    /// Applies a <c>LeaseGrant</c>: creates lease <paramref name="id"/> with <paramref name="ttlSeconds"/>, raised to
    /// <see cref="LessorOptions.MinTtlSeconds"/>. On the primary its deadline is <c>now + TTL</c>; elsewhere it has none.
    /// Persist the returned record.
    /// </summary>
    /// <param name="id">Lease ID from the log (chosen by <see cref="LeaseIdGenerator"/> if the client gave none).</param>
    /// <param name="ttlSeconds">Requested TTL in seconds.</param>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <returns>The lease as granted (the TTL the client is told).</returns>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/> for ID 0 (as etcd),
    /// <see cref="EtcdErrors.LeaseTTLTooLarge"/> above <see cref="LessorOptions.MaxTtlSeconds"/>,
    /// <see cref="EtcdErrors.LeaseExist"/> if the ID is taken.</exception>
    public LeaseRecord Grant(long id, long ttlSeconds, long nowMs)
    {
        if (id == NoLease)
        {
            throw EtcdErrors.LeaseNotFound;
        }
        if (ttlSeconds > LessorOptions.MaxTtlSeconds)
        {
            throw EtcdErrors.LeaseTTLTooLarge;
        }
        if (_leases.ContainsKey(id))
        {
            throw EtcdErrors.LeaseExist;
        }
        var lease = new LeaseState(id, Math.Max(ttlSeconds, _options.MinTtlSeconds));
        _leases.Add(id, lease);
        if (IsPrimary)
        {
            Refresh(lease, nowMs, 0);
            ScheduleCheckpointIfNeeded(lease, nowMs);
        }
        return lease.ToRecord();
    }

    /// <summary>
    /// Applies a <c>LeaseRevoke</c> (client revoke or expiry): removes the lease and its attachments. The caller
    /// deletes the returned keys in one revision and deletes the lease's record in the same backend transaction.
    /// </summary>
    /// <param name="id">Lease ID.</param>
    /// <returns>The keys that were attached, in bytewise order (the same order on every member).</returns>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/> if there is no such lease.</exception>
    public IReadOnlyList<ByteString> Revoke(long id)
    {
        if (!_leases.Remove(id, out var lease))
        {
            throw EtcdErrors.LeaseNotFound;
        }
        foreach (var key in lease.Keys)
        {
            _leaseOfKey.Remove(key);
        }
        return SortedKeys(lease);
    }

    /// <summary>
    /// Renews a lease on the primary (a keepalive): its deadline becomes <c>now + TTL</c>. Not replicated.
    /// </summary>
    /// <param name="id">Lease ID.</param>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <returns>The TTL in seconds the lease now has left (its granted TTL).</returns>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.NotLeader"/> if this lessor is not the primary
    /// (etcd forwards the renew to the leader); <see cref="EtcdErrors.LeaseNotFound"/> if there is no such lease or
    /// it is already past its deadline (its revoke is due; etcd's keepalive waits for it, see <see cref="IsExpired"/>).</exception>
    public long Renew(long id, long nowMs)
    {
        if (!IsPrimary)
        {
            throw EtcdErrors.NotLeader;
        }
        if (!_leases.TryGetValue(id, out var lease) || lease.DeadlineMs <= nowMs)
        {
            throw EtcdErrors.LeaseNotFound;
        }
        lease.DeadlineMs = nowMs + lease.TtlSeconds * 1000;
        Enqueue(lease, lease.DeadlineMs);
        return lease.TtlSeconds;
    }

    /// <summary>True if the lease exists and is past its deadline (only possible on the primary).</summary>
    /// <param name="id">Lease ID.</param>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    public bool IsExpired(long id, long nowMs) => _leases.TryGetValue(id, out var lease) && lease.DeadlineMs <= nowMs;

    /// <summary>
    /// Attaches <paramref name="key"/> to lease <paramref name="id"/> (a put with a lease). A key belongs to at most
    /// one lease: it is moved off any lease it was attached to.
    /// </summary>
    /// <param name="id">Lease ID.</param>
    /// <param name="key">The key.</param>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/> if there is no such lease (nothing changes).</exception>
    public void Attach(long id, ByteString key)
    {
        if (!_leases.TryGetValue(id, out var lease))
        {
            throw EtcdErrors.LeaseNotFound;
        }
        if (_leaseOfKey.TryGetValue(key, out var previous) && previous != id && _leases.TryGetValue(previous, out var old))
        {
            old.Keys.Remove(key);
        }
        lease.Keys.Add(key);
        _leaseOfKey[key] = id;
    }

    /// <summary>
    /// Detaches <paramref name="key"/> from lease <paramref name="id"/> (the key was deleted, or put again without
    /// that lease). etcd only logs a failed detach, so this reports it instead of throwing.
    /// </summary>
    /// <param name="id">Lease ID.</param>
    /// <param name="key">The key.</param>
    /// <returns>False if there is no such lease or the key was not attached to it.</returns>
    public bool Detach(long id, ByteString key)
    {
        if (!_leases.TryGetValue(id, out var lease) || !lease.Keys.Remove(key))
        {
            return false;
        }
        _leaseOfKey.Remove(key);
        return true;
    }

    /// <summary>The lease <paramref name="key"/> is attached to, or <see cref="NoLease"/>.</summary>
    /// <param name="key">The key.</param>
    public long GetLease(ByteString key) => _leaseOfKey.TryGetValue(key, out var id) ? id : NoLease;

    /// <summary>The lease's persisted form, or null if there is no such lease.</summary>
    /// <param name="id">Lease ID.</param>
    public LeaseRecord? Lookup(long id) => _leases.TryGetValue(id, out var lease) ? lease.ToRecord() : null;

    /// <summary>The lease's deadline on the monotonic clock in ms, <see cref="Forever"/> if none, null if no such lease.</summary>
    /// <param name="id">Lease ID.</param>
    public long? DeadlineOf(long id) => _leases.TryGetValue(id, out var lease) ? lease.DeadlineMs : null;

    /// <summary>Answers a <c>LeaseTimeToLive</c> query.</summary>
    /// <param name="id">Lease ID.</param>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <param name="includeKeys">Whether to list the attached keys.</param>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/> if there is no such lease (etcd's
    /// gRPC layer then answers TTL -1).</exception>
    public LeaseTimeToLive TimeToLive(long id, long nowMs, bool includeKeys)
    {
        if (!_leases.TryGetValue(id, out var lease))
        {
            throw EtcdErrors.LeaseNotFound;
        }
        var remaining = lease.DeadlineMs == Forever
            ? lease.RemainingOrTtlSeconds
            : Math.Max(0, (lease.DeadlineMs - nowMs) / 1000);
        return new LeaseTimeToLive(id, remaining, lease.TtlSeconds, includeKeys ? SortedKeys(lease) : Array.Empty<ByteString>());
    }

    /// <summary>All lease IDs, soonest deadline first, then by ID (etcd sorts <c>Leases()</c> by expiry).</summary>
    public IReadOnlyList<long> Leases()
    {
        var leases = _leases.Values.ToList();
        leases.Sort(ByDeadline);
        return leases.ConvertAll(l => l.Id);
    }

    /// <summary>
    /// Finds leases past their deadline, soonest first, at most <paramref name="max"/> (etcd proposes at most
    /// <see cref="LessorOptions.RevokeRatePerSecond"/> revokes per second: 500 per 500 ms tick). Only the primary
    /// reports any. A reported lease stays (only an applied <see cref="Revoke"/> removes it) and is reported again
    /// after <see cref="LessorOptions.ExpiredRetryMs"/> if it still exists, so a lost revoke is retried.
    /// </summary>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <param name="max">Largest number of IDs to return.</param>
    /// <returns>IDs of the leases to revoke.</returns>
    public IReadOnlyList<long> Expired(long nowMs, int max)
    {
        var expired = new List<long>();
        if (!IsPrimary)
        {
            return expired;
        }
        while (expired.Count < max && _expiryQueue.TryPeek(out var entry, out var dueMs))
        {
            if (!IsLive(entry, out var lease))
            {
                _expiryQueue.Dequeue();
                continue;
            }
            if (dueMs > nowMs)
            {
                break;
            }
            _expiryQueue.Dequeue();
            expired.Add(lease.Id);
            Enqueue(lease, nowMs + _options.ExpiredRetryMs);
        }
        return expired;
    }

    /// <summary>
    /// Makes this lessor the primary (the member became leader and applied every entry of earlier terms): every
    /// lease's deadline becomes <c>now + remaining TTL + extend</c>, so no lease expires early because of the
    /// leader change (etcd passes the election timeout as <paramref name="extendMs"/>). With
    /// <see cref="LessorOptions.RevokeRatePerSecond"/> or more leases, deadlines that pile up are spread so no more
    /// than 3/4 of the revoke rate fall in one second, as etcd does.
    /// </summary>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <param name="extendMs">Extra time given to every lease, in milliseconds.</param>
    public void Promote(long nowMs, long extendMs)
    {
        IsPrimary = true;
        _expiryQueue.Clear();
        _checkpointQueue.Clear();
        foreach (var lease in _leases.Values)
        {
            Refresh(lease, nowMs, extendMs);
            ScheduleCheckpointIfNeeded(lease, nowMs);
        }
        if (_leases.Count < _options.RevokeRate)
        {
            return;
        }
        SpreadPiledUpDeadlines(nowMs, extendMs);
    }

    /// <summary>Stops being the primary: leases get no deadline and the expiry queue is emptied.</summary>
    public void Demote()
    {
        IsPrimary = false;
        _expiryQueue.Clear();
        _checkpointQueue.Clear();
        foreach (var lease in _leases.Values)
        {
            lease.DeadlineMs = Forever;
        }
    }

    /// <summary>
    /// Applies a <c>LeaseCheckpoint</c>: records the lease's remaining TTL, which a later <see cref="Promote"/> uses
    /// instead of the full TTL (so a lease keeps counting down across leader changes). 0 clears it. Persist the
    /// lease's updated record. Unknown leases are ignored, as in etcd.
    /// </summary>
    /// <param name="id">Lease ID.</param>
    /// <param name="remainingTtlSeconds">Remaining TTL in seconds; 0 = unset.</param>
    /// <returns>False if there is no such lease.</returns>
    public bool Checkpoint(long id, long remainingTtlSeconds) => Checkpoint(id, remainingTtlSeconds, nowMs: 0);

    /// <summary>
    /// <see cref="Checkpoint(long, long)"/>, and on the primary with checkpointing on, schedules the lease's next
    /// checkpoint one <see cref="LessorOptions.CheckpointIntervalMs"/> after <paramref name="nowMs"/> (etcd's lessor does).
    /// </summary>
    /// <param name="id">Lease ID.</param>
    /// <param name="remainingTtlSeconds">Remaining TTL in seconds; 0 = unset.</param>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <returns>False if there is no such lease.</returns>
    public bool Checkpoint(long id, long remainingTtlSeconds, long nowMs)
    {
        if (!_leases.TryGetValue(id, out var lease))
        {
            return false;
        }
        lease.RemainingTtlSeconds = remainingTtlSeconds;
        if (IsPrimary)
        {
            ScheduleCheckpointIfNeeded(lease, nowMs);
        }
        return true;
    }

    /// <summary>
    /// On a renew with checkpointing on: true when the lease carries a checkpointed remaining TTL, which must then be
    /// cleared through the log (a <c>LeaseCheckpoint</c> of 0), as etcd's Renew does, so a later leader gives the lease
    /// its full TTL again.
    /// </summary>
    /// <param name="id">Lease ID.</param>
    public bool NeedsCheckpointClear(long id) =>
        _options.CheckpointIntervalMs > 0 && _leases.TryGetValue(id, out var lease) && lease.RemainingTtlSeconds > 0;

    /// <summary>
    /// On the primary, the scheduled checkpoints that are due (etcd's <c>findDueScheduledCheckpoints</c>): each lease
    /// scheduled at or before <paramref name="nowMs"/> that still exists, has not expired, and whose remaining TTL
    /// (rounded up to seconds) is below its granted TTL, at most <paramref name="max"/>, soonest first. A lease is
    /// scheduled again when its checkpoint is applied.
    /// </summary>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <param name="max">Largest number of checkpoints (etcd batches 1,000 per entry).</param>
    public IReadOnlyList<LeaseCheckpoint> DueCheckpoints(long nowMs, int max)
    {
        var due = new List<LeaseCheckpoint>();
        if (!IsPrimary || _options.CheckpointIntervalMs <= 0)
        {
            return due;
        }
        while (due.Count < max && _checkpointQueue.TryPeek(out var id, out var dueMs) && dueMs <= nowMs)
        {
            _checkpointQueue.Dequeue();
            if (!_leases.TryGetValue(id, out var lease) || lease.DeadlineMs <= nowMs)
            {
                continue;
            }
            var remaining = (lease.DeadlineMs - nowMs + 999) / 1000;
            if (remaining >= lease.TtlSeconds)
            {
                continue;
            }
            due.Add(new LeaseCheckpoint { ID = lease.Id, RemainingTTL = remaining });
        }
        return due;
    }

    /// <summary>
    /// On the primary, the checkpoints worth proposing (etcd's <c>findDueScheduledCheckpoints</c>): leases with a
    /// deadline whose remaining TTL, rounded up to seconds, is below their granted TTL; at most
    /// <paramref name="max"/>, by ID. O(n): meant for a timer of minutes (etcd's checkpoint interval is 5 min).
    /// </summary>
    /// <param name="nowMs">Monotonic clock in milliseconds.</param>
    /// <param name="max">Largest number of checkpoints (etcd batches 1,000 per entry).</param>
    public IReadOnlyList<LeaseCheckpoint> Checkpoints(long nowMs, int max)
    {
        var checkpoints = new List<LeaseCheckpoint>();
        if (!IsPrimary)
        {
            return checkpoints;
        }
        foreach (var lease in _leases.Values.OrderBy(l => l.Id))
        {
            if (checkpoints.Count >= max)
            {
                break;
            }
            if (lease.DeadlineMs == Forever || lease.DeadlineMs <= nowMs)
            {
                continue;
            }
            var remaining = (lease.DeadlineMs - nowMs + 999) / 1000;
            if (remaining < lease.TtlSeconds)
            {
                checkpoints.Add(new LeaseCheckpoint { ID = lease.Id, RemainingTTL = remaining });
            }
        }
        return checkpoints;
    }

    /// <summary>Every lease's persisted form, by ID: what the backend's lease table must hold.</summary>
    public IEnumerable<LeaseRecord> Export() => _leases.Values.OrderBy(l => l.Id).Select(l => l.ToRecord()).ToList();

    /// <summary>
    /// Replaces all state with persisted leases (start-up, or a Raft snapshot was installed) and the key attachments
    /// read from the store's live keys (<c>KeyValue.lease</c> != 0). The lessor is left demoted: call
    /// <see cref="Promote"/> if this member leads. TTLs below the minimum are raised to it, as etcd does on recovery.
    /// </summary>
    /// <param name="leases">The persisted leases.</param>
    /// <param name="attachments">Pairs of key and lease ID; pairs naming a missing lease are skipped (etcd logs them).</param>
    /// <returns>The number of attachments skipped.</returns>
    public int Restore(IEnumerable<LeaseRecord> leases, IEnumerable<KeyValuePair<ByteString, long>>? attachments = null)
    {
        Demote();
        _leases.Clear();
        _leaseOfKey.Clear();
        foreach (var record in leases)
        {
            var lease = new LeaseState(record.Id, Math.Max(record.TtlSeconds, _options.MinTtlSeconds))
            {
                RemainingTtlSeconds = record.RemainingTtlSeconds,
            };
            _leases[record.Id] = lease;
        }
        var skipped = 0;
        foreach (var (key, id) in attachments ?? Array.Empty<KeyValuePair<ByteString, long>>())
        {
            if (_leases.ContainsKey(id))
            {
                Attach(id, key);
            }
            else
            {
                skipped++;
            }
        }
        return skipped;
    }

    /// <summary>etcd's scheduleCheckpointIfNeeded: a lease with more left than one interval gets a checkpoint one interval on.</summary>
    private void ScheduleCheckpointIfNeeded(LeaseState lease, long nowMs)
    {
        var interval = _options.CheckpointIntervalMs;
        if (interval > 0 && lease.RemainingOrTtlSeconds * 1000 > interval)
        {
            _checkpointQueue.Enqueue(lease.Id, nowMs + interval);
        }
    }

    private void Refresh(LeaseState lease, long nowMs, long extendMs)
    {
        lease.DeadlineMs = nowMs + extendMs + lease.RemainingOrTtlSeconds * 1000;
        Enqueue(lease, lease.DeadlineMs);
    }

    private void SpreadPiledUpDeadlines(long nowMs, long extendMs)
    {
        var leases = _leases.Values.ToList();
        leases.Sort(ByDeadline);
        var baseWindow = leases[0].DeadlineMs - nowMs;
        var nextWindow = baseWindow + 1000;
        var expires = 0;
        // Fewer expiries than the revoke rate, so piled-up leases don't use the whole revoke budget.
        var targetPerSecond = Math.Max(1, 3 * _options.RevokeRate / 4);
        foreach (var lease in leases)
        {
            var remaining = lease.DeadlineMs - nowMs;
            if (remaining > nextWindow)
            {
                baseWindow = remaining;
                nextWindow = baseWindow + 1000;
                expires = 1;
                continue;
            }
            expires++;
            if (expires <= targetPerSecond)
            {
                continue;
            }
            // Leases already n seconds past the base window need n seconds less delay.
            var delay = (long)(1000.0 * expires / targetPerSecond) - (remaining - baseWindow);
            nextWindow = baseWindow + delay;
            Refresh(lease, nowMs, delay + extendMs);
        }
    }

    private void Enqueue(LeaseState lease, long dueMs)
    {
        lease.QueueGeneration++;
        lease.QueueDueMs = dueMs;
        _expiryQueue.Enqueue(new QueueEntry(lease.Id, lease.QueueGeneration), dueMs);
        if (_expiryQueue.Count > 2 * _leases.Count + 1024)
        {
            RebuildQueue();
        }
    }

    private void RebuildQueue()
    {
        _expiryQueue.Clear();
        foreach (var lease in _leases.Values)
        {
            if (lease.DeadlineMs != Forever)
            {
                _expiryQueue.Enqueue(new QueueEntry(lease.Id, lease.QueueGeneration), lease.QueueDueMs);
            }
        }
    }

    private bool IsLive(QueueEntry entry, out LeaseState lease) =>
        _leases.TryGetValue(entry.Id, out lease!) && lease.QueueGeneration == entry.Generation;

    private static IReadOnlyList<ByteString> SortedKeys(LeaseState lease)
    {
        var keys = lease.Keys.ToArray();
        Array.Sort(keys, static (a, b) => a.Span.SequenceCompareTo(b.Span));
        return keys;
    }

    private static int ByDeadline(LeaseState a, LeaseState b)
    {
        var byDeadline = a.DeadlineMs.CompareTo(b.DeadlineMs);
        return byDeadline != 0 ? byDeadline : a.Id.CompareTo(b.Id);
    }

    /// <summary>An expiry queue entry; stale once the lease was re-queued (its generation moved on) or removed.</summary>
    private readonly record struct QueueEntry(long Id, int Generation);

    private sealed class LeaseState(long id, long ttlSeconds)
    {
        public long Id { get; } = id;

        public long TtlSeconds { get; } = ttlSeconds;

        public long RemainingTtlSeconds { get; set; }

        public long DeadlineMs { get; set; } = Forever;

        public int QueueGeneration { get; set; }

        public long QueueDueMs { get; set; }

        public HashSet<ByteString> Keys { get; } = new();

        public long RemainingOrTtlSeconds => RemainingTtlSeconds > 0 ? RemainingTtlSeconds : TtlSeconds;

        public LeaseRecord ToRecord() => new(Id, TtlSeconds, RemainingTtlSeconds);
    }
}
