using System.Buffers.Binary;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Storage.Backend;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Actors.Store;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// The apply-side view of leases, owned by the MvccStoreActor: which lease IDs exist (with their granted TTL)
/// and which keys are attached to each. It is deterministic state derived from the Raft log, so every member
/// holds the same table at the same index; it decides whether a put's lease exists and which keys a revoke
/// deletes. Lease records are persisted in the backend bucket <c>lease</c> in the same batch as the
/// consistent index; attachments are rebuilt on start from the keys' <c>lease</c> fields (as etcd does).
/// Deadlines live in the <see cref="LeaseActor"/>'s lessor, not here. Not thread-safe: the store actor's loop only.
/// </summary>
public sealed class LeaseTable
{
    /// <summary>
    /// The backend bucket holding lease records: key = lease ID (8 bytes big-endian), value = granted TTL (8 bytes
    /// big-endian seconds), followed by the persisted remaining TTL (8 more bytes) once a checkpoint was persisted.
    /// </summary>
    public const string Bucket = "lease";

    private readonly Dictionary<long, long> _ttls = new();
    private readonly Dictionary<long, long> _remaining = new();
    private readonly Dictionary<ByteString, long> _leaseOfKey = new();
    private readonly Dictionary<long, HashSet<ByteString>> _keysOfLease = new();

    /// <summary>Number of leases.</summary>
    public int Count => _ttls.Count;

    /// <summary>True when the lease exists.</summary>
    public bool Contains(long id) => _ttls.ContainsKey(id);

    /// <summary>Granted TTL in seconds, or null for an unknown lease.</summary>
    public long? TtlOf(long id) => _ttls.TryGetValue(id, out var ttl) ? ttl : null;

    /// <summary>Every lease with its granted TTL (seconds).</summary>
    public IEnumerable<LeaseRecord> Records =>
        _ttls.Select(lease => new LeaseRecord(lease.Key, lease.Value, _remaining.GetValueOrDefault(lease.Key)));

    /// <summary>
    /// Records a lease checkpoint: the lease's remaining TTL in seconds (0 clears it). With <paramref name="persist"/>
    /// the lease's record is rewritten with it in the current batch (etcd's checkpoint persist); otherwise it lives in
    /// memory until a restart. Unknown leases are ignored.
    /// </summary>
    public void Checkpoint(SqliteBackend backend, long id, long remainingTtlSeconds, bool persist)
    {
        if (!_ttls.TryGetValue(id, out var ttl))
        {
            return;
        }
        if (remainingTtlSeconds > 0)
        {
            _remaining[id] = remainingTtlSeconds;
        }
        else
        {
            _remaining.Remove(id);
        }
        if (persist)
        {
            backend.PutBucketValue(Bucket, IdKey(id), RecordValue(ttl, remainingTtlSeconds));
        }
    }

    /// <summary>Every key attachment (key, lease).</summary>
    public IEnumerable<KeyValuePair<ByteString, long>> Attachments => _leaseOfKey;

    /// <summary>Replaces the table with the persisted lease records (attachments are restored separately).</summary>
    public void Load(SqliteBackend backend)
    {
        _ttls.Clear();
        _remaining.Clear();
        _leaseOfKey.Clear();
        _keysOfLease.Clear();
        foreach (var (key, value) in backend.ReadBucket(Bucket))
        {
            var id = BinaryPrimitives.ReadInt64BigEndian(key);
            _ttls[id] = BinaryPrimitives.ReadInt64BigEndian(value);
            if (value.Length >= 16 && BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(8)) is > 0 and var remaining)
            {
                _remaining[id] = remaining;
            }
        }
    }

    /// <summary>Adds a lease and writes its record into the current backend batch.</summary>
    public void Grant(SqliteBackend backend, long id, long ttlSeconds)
    {
        _ttls[id] = ttlSeconds;
        _remaining.Remove(id);
        backend.PutBucketValue(Bucket, IdKey(id), RecordValue(ttlSeconds, 0));
    }

    /// <summary>The keys attached to <paramref name="id"/>, in byte order (what a revoke deletes).</summary>
    public List<ByteString> KeysOf(long id)
    {
        var keys = _keysOfLease.TryGetValue(id, out var set) ? set.ToList() : new List<ByteString>();
        keys.Sort(static (a, b) => a.Span.SequenceCompareTo(b.Span));
        return keys;
    }

    /// <summary>Removes a lease (its keys were deleted by the caller) and deletes its record in the current batch.</summary>
    public void Revoke(SqliteBackend backend, long id)
    {
        _ttls.Remove(id);
        _remaining.Remove(id);
        if (_keysOfLease.Remove(id, out var keys))
        {
            foreach (var key in keys)
            {
                _leaseOfKey.Remove(key);
            }
        }
        backend.DeleteBucketValue(Bucket, IdKey(id));
    }

    /// <summary>
    /// Updates attachments from one revision's events and reports each change: a put moves its key to the
    /// lease in its KeyValue (0 = none), a delete detaches it.
    /// </summary>
    /// <param name="events">The events of the applied revision.</param>
    /// <param name="changed">Called with (old lease, new lease, key) for every key whose lease changed.</param>
    public void Track(IReadOnlyList<Event> events, Action<long, long, ByteString> changed)
    {
        foreach (var ev in events)
        {
            var key = ev.Kv.Key;
            var newLease = ev.Type == Event.Types.EventType.Put ? ev.Kv.Lease : 0;
            var oldLease = _leaseOfKey.TryGetValue(key, out var current) ? current : 0;
            if (oldLease == newLease)
            {
                continue;
            }
            Attach(key, newLease, oldLease);
            changed(oldLease, newLease, key);
        }
    }

    /// <summary>Loads lease records and rebuilds attachments from the store's keys (start-up and snapshot install).</summary>
    public void LoadWithAttachments(Akka.Etcd.Storage.Mvcc.MvccStore store)
    {
        Load(store.Backend);
        if (Count == 0)
        {
            return;
        }
        var zero = ByteString.CopyFrom(0);
        foreach (var kv in store.Read().Range(zero, zero, default).KeyValues)
        {
            Restore(kv.Key, kv.Lease);
        }
    }

    /// <summary>Records that <paramref name="key"/> is attached to <paramref name="lease"/> (start-up rebuild).</summary>
    public void Restore(ByteString key, long lease)
    {
        if (lease != 0 && _ttls.ContainsKey(lease))
        {
            Attach(key, lease, 0);
        }
    }

    private void Attach(ByteString key, long newLease, long oldLease)
    {
        if (oldLease != 0 && _keysOfLease.TryGetValue(oldLease, out var oldKeys))
        {
            oldKeys.Remove(key);
        }
        if (newLease == 0)
        {
            _leaseOfKey.Remove(key);
            return;
        }
        _leaseOfKey[key] = newLease;
        if (!_keysOfLease.TryGetValue(newLease, out var keys))
        {
            keys = new HashSet<ByteString>();
            _keysOfLease[newLease] = keys;
        }
        keys.Add(key);
    }

    /// <summary>A record's value: the TTL, and the remaining TTL after it when one is set.</summary>
    private static byte[] RecordValue(long ttlSeconds, long remainingTtlSeconds)
    {
        var value = new byte[remainingTtlSeconds > 0 ? 16 : 8];
        BinaryPrimitives.WriteInt64BigEndian(value, ttlSeconds);
        if (remainingTtlSeconds > 0)
        {
            BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8), remainingTtlSeconds);
        }
        return value;
    }

    private static byte[] IdKey(long id)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(key, id);
        return key;
    }
}
