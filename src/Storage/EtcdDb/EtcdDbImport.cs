using System.Buffers.Binary;
using System.Text;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Bbolt;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Storage.EtcdDb;

/// <summary>What <see cref="EtcdDbImport.Import"/> brought over.</summary>
/// <param name="KeyRows">Key versions written (tombstones included).</param>
/// <param name="LastRevision">Main revision of the last key version (0 when there is none).</param>
/// <param name="FinishedCompactRevision">etcd's <c>finishedCompactRev</c>, or null when the db was never compacted.</param>
/// <param name="ScheduledCompactRevision">etcd's <c>scheduledCompactRev</c>, or null.</param>
/// <param name="Leases">Leases written.</param>
/// <param name="AuthEnabled">True when the db had auth enabled (the auth buckets are kept and enforced once the member opens them).</param>
/// <param name="CopiedBuckets">Buckets copied verbatim (<c>cluster</c>, auth buckets, unknown ones), in order.</param>
public sealed record EtcdDbImportResult(long KeyRows, long LastRevision, long? FinishedCompactRevision,
    long? ScheduledCompactRevision, int Leases, bool AuthEnabled, IReadOnlyList<string> CopiedBuckets);

/// <summary>
/// Reads etcd 3.4's backend db (see <see cref="EtcdDbLayout"/>) into an empty <see cref="SqliteBackend"/> of ours, as
/// etcd's <c>snapshot restore</c> prepares a db for a new cluster: every key version with its revisions, version and
/// lease, the compaction revisions, the leases (granted TTL), the cluster version and auth buckets verbatim; the old
/// cluster's members and alarms are left behind (the new membership is written instead), and the consistent index is
/// set to the raft index the new member's log starts after. Not thread-safe: the backend's owner calls it.
/// </summary>
public static class EtcdDbImport
{
    static readonly HashSet<string> Dropped = new(StringComparer.Ordinal)
    {
        EtcdDbLayout.MembersBucket, EtcdDbLayout.MembersRemovedBucket, EtcdDbLayout.AlarmBucket,
    };

    /// <summary>
    /// Copies <paramref name="db"/> into <paramref name="backend"/> (expected empty) and commits.
    /// </summary>
    /// <param name="db">The etcd db (a snapshot file, SHA-256 trailer or not).</param>
    /// <param name="backend">Our backend to fill.</param>
    /// <param name="members">The new cluster's members, written to our <c>members</c> bucket.</param>
    /// <param name="consistentIndex">The raft index the restored state is at (etcd: the number of members).</param>
    /// <param name="cancel">Checked every 4,096 key versions.</param>
    /// <exception cref="BboltFormatException">The db is damaged, or a top-level element is not a bucket.</exception>
    /// <exception cref="FormatException">A key of bucket <c>key</c> is not a revision.</exception>
    /// <exception cref="InvalidProtocolBufferException">A KeyValue or Lease record does not parse.</exception>
    public static EtcdDbImportResult Import(BboltFile db, SqliteBackend backend, IReadOnlyList<Member> members,
        ulong consistentIndex, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(backend);
        var buckets = new List<string>();
        string? notBucket = null;
        db.Root.ForEach((name, _, isBucket) =>
        {
            if (!isBucket) notBucket ??= Encoding.UTF8.GetString(name);
            buckets.Add(Encoding.UTF8.GetString(name));
        });
        if (notBucket is not null) throw new BboltFormatException($"cannot get hash of bucket {notBucket}");

        long keyRows = 0, lastRevision = 0;
        long? finished = null, scheduled = null;
        var leases = 0;
        var authEnabled = false;
        var copied = new List<string>();
        foreach (var name in buckets)
        {
            var bucket = db.Root.Bucket(Encoding.UTF8.GetBytes(name))!.Value;
            switch (name)
            {
                case EtcdDbLayout.KeyBucket:
                    (keyRows, lastRevision) = ImportKeys(bucket, backend, cancel);
                    break;
                case EtcdDbLayout.MetaBucket:
                    finished = CompactRevision(bucket, EtcdDbLayout.FinishedCompactKey);
                    scheduled = CompactRevision(bucket, EtcdDbLayout.ScheduledCompactKey);
                    break;
                case EtcdDbLayout.LeaseBucket:
                    bucket.ForEach((key, value, isBucket) =>
                    {
                        if (isBucket) return;
                        var lease = Leasepb.Lease.Parser.ParseFrom(value);
                        var ttl = new byte[8];
                        BinaryPrimitives.WriteInt64BigEndian(ttl, lease.TTL);
                        backend.PutBucketValue(EtcdDbLayout.LeaseBucket, key.ToArray(), ttl);
                        leases++;
                    });
                    break;
                case var dropped when Dropped.Contains(dropped):
                    break;
                default:
                    if (name == EtcdDbLayout.AuthBucket)
                        authEnabled = bucket.Get(Encoding.UTF8.GetBytes(EtcdDbLayout.AuthEnabledKey)) is [1];
                    bucket.ForEach((key, value, isBucket) =>
                    {
                        if (!isBucket) backend.PutBucketValue(name, key.ToArray(), value.ToArray());
                    });
                    copied.Add(name);
                    break;
            }
            backend.CommitIfBatchFull();
        }

        if (finished is { } f) backend.WriteMeta(EtcdDbLayout.OurFinishedCompactKey, f);
        if (scheduled is { } s) backend.WriteMeta(EtcdDbLayout.OurScheduledCompactKey, s);
        foreach (var member in members)
        {
            var id = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(id, member.ID);
            backend.PutBucketValue(EtcdDbLayout.MembersBucket, id, member.ToByteArray());
        }
        backend.ConsistentIndex = consistentIndex;
        backend.Commit();
        return new EtcdDbImportResult(keyRows, lastRevision, finished, scheduled, leases, authEnabled, copied);
    }

    static (long Rows, long LastRevision) ImportKeys(BboltBucket bucket, SqliteBackend backend, CancellationToken cancel)
    {
        long rows = 0, last = 0;
        bucket.ForEach((key, value, isBucket) =>
        {
            if (isBucket) return;
            if ((++rows & 4095) == 0) cancel.ThrowIfCancellationRequested();
            var (main, sub, tombstone) = EtcdDbLayout.ParseRevisionKey(key);
            var kv = KeyValue.Parser.ParseFrom(value);
            if (tombstone) backend.WriteRevision(main, checked((int)sub), true, kv.Key.ToByteArray(), 0, 0, 0, null);
            else
                backend.WriteRevision(main, checked((int)sub), false, kv.Key.ToByteArray(), kv.CreateRevision, kv.Version, kv.Lease,
                    kv.Value.ToByteArray());
            backend.CommitIfBatchFull();
            last = main;
        });
        return (rows, last);
    }

    static long? CompactRevision(BboltBucket meta, string key) =>
        meta.Get(Encoding.UTF8.GetBytes(key)) is { Length: >= 8 } value ? BinaryPrimitives.ReadInt64BigEndian(value) : null;
}
