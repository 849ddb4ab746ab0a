using System.Buffers.Binary;
using System.Text;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Bbolt;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Storage.EtcdDb;

/// <summary>What <see cref="EtcdDbExport.Write"/> wrote.</summary>
/// <param name="SizeBytes">Length of the bbolt file in bytes (what etcd's Maintenance.Snapshot calls the total).</param>
/// <param name="KeyRows">Entries of the <c>key</c> bucket (key versions, tombstones included).</param>
/// <param name="ConsistentIndex">The raft index the image is at.</param>
public sealed record EtcdDbExportResult(long SizeBytes, long KeyRows, ulong ConsistentIndex);

/// <summary>
/// Writes a <see cref="SqliteReadView"/> of our backend as etcd 3.4's backend db (a bbolt file with etcd's buckets and
/// encodings, see <see cref="EtcdDbLayout"/>), which etcd 3.4 and <c>etcdctl snapshot status/restore</c> read as their
/// own. Buckets of ours that etcd does not know are copied verbatim; the auth buckets a fresh etcd 3.4 db has are
/// written when ours has none. Thread-safe (no shared state); one call per view.
/// </summary>
public static class EtcdDbExport
{
    static readonly string[] EtcdBuckets =
    [
        EtcdDbLayout.AlarmBucket, EtcdDbLayout.AuthBucket, EtcdDbLayout.AuthRolesBucket, EtcdDbLayout.AuthUsersBucket,
        EtcdDbLayout.ClusterBucket, EtcdDbLayout.KeyBucket, EtcdDbLayout.LeaseBucket, EtcdDbLayout.MembersBucket,
        EtcdDbLayout.MembersRemovedBucket, EtcdDbLayout.MetaBucket,
    ];

    /// <summary>
    /// Writes the whole image to <paramref name="output"/> (writable and seekable; truncated to the image).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired (checked every 4,096 key rows).</exception>
    /// <exception cref="InvalidProtocolBufferException">A member record of ours does not parse.</exception>
    public static EtcdDbExportResult Write(SqliteReadView view, Stream output, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(view);
        var writer = BboltWriter.Create(output);
        var ours = view.BucketNames();
        var names = new SortedSet<byte[]>(EtcdBuckets.Concat(ours).Select(Encoding.UTF8.GetBytes), ByteOrder.Instance);
        long keyRows = 0;
        foreach (var nameBytes in names)
        {
            var name = Encoding.UTF8.GetString(nameBytes);
            var bucket = writer.Root.CreateBucket(nameBytes);
            switch (name)
            {
                case EtcdDbLayout.KeyBucket:
                    keyRows = WriteKeys(view, bucket, cancel);
                    break;
                case EtcdDbLayout.MetaBucket:
                    WriteMeta(view, bucket);
                    break;
                case EtcdDbLayout.LeaseBucket:
                    foreach (var (key, value) in view.ReadBucket(name))
                    {
                        var lease = new Leasepb.Lease { ID = BinaryPrimitives.ReadInt64BigEndian(key), TTL = BinaryPrimitives.ReadInt64BigEndian(value) };
                        if (value.Length >= 16)
                        {
                            lease.RemainingTTL = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(8)); // a persisted checkpoint
                        }
                        bucket.Put(key, lease.ToByteArray());
                    }
                    break;
                case EtcdDbLayout.MembersBucket:
                    PutSorted(bucket, view.ReadBucket(name).Select(row =>
                    {
                        var member = Member.Parser.ParseFrom(row.Value);
                        return (EtcdDbLayout.MemberKey(member.ID), Encoding.UTF8.GetBytes(EtcdDbLayout.MemberJson(member)));
                    }));
                    break;
                case EtcdDbLayout.MembersRemovedBucket:
                    PutSorted(bucket, view.ReadBucket(name).Select(row =>
                        (EtcdDbLayout.MemberKey(BinaryPrimitives.ReadUInt64BigEndian(row.Key)), Encoding.UTF8.GetBytes(EtcdDbLayout.RemovedValue))));
                    break;
                case EtcdDbLayout.AuthBucket when !ours.Contains(EtcdDbLayout.AuthBucket):
                    // What a fresh etcd 3.4 db holds: auth disabled, auth revision 1.
                    var revision = new byte[8];
                    BinaryPrimitives.WriteUInt64BigEndian(revision, 1);
                    bucket.Put(Encoding.UTF8.GetBytes(EtcdDbLayout.AuthRevisionKey), revision);
                    break;
                default:
                    foreach (var (key, value) in view.ReadBucket(name)) bucket.Put(key, value);
                    break;
            }
        }
        var size = writer.Complete();
        return new EtcdDbExportResult(size, keyRows, view.ConsistentIndex);
    }

    static long WriteKeys(SqliteReadView view, BboltBucketWriter bucket, CancellationToken cancel)
    {
        var revisionKey = new byte[EtcdDbLayout.RevisionKeyLength + 1];
        var encoder = new KeyValueEncoder();
        long rows = 0;
        view.ForEachRevision((main, sub, tombstone, key, createRevision, version, lease, value) =>
        {
            if ((++rows & 4095) == 0) cancel.ThrowIfCancellationRequested();
            var length = EtcdDbLayout.WriteRevisionKey(revisionKey, main, sub, tombstone);
            var kv = tombstone ? encoder.Encode(key, 0, 0, 0, default, 0) : encoder.Encode(key, createRevision, main, version, value, lease);
            bucket.Put(revisionKey.AsSpan(0, length), kv);
        });
        return rows;
    }

    static void WriteMeta(SqliteReadView view, BboltBucketWriter bucket)
    {
        var index = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(index, view.ConsistentIndex);
        bucket.Put(Encoding.UTF8.GetBytes(EtcdDbLayout.ConsistentIndexKey), index);
        if (view.ReadMeta(EtcdDbLayout.OurFinishedCompactKey) is { } finished)
            bucket.Put(Encoding.UTF8.GetBytes(EtcdDbLayout.FinishedCompactKey), EtcdDbLayout.CompactRevisionValue(finished));
        if (view.ReadMeta(EtcdDbLayout.OurScheduledCompactKey) is { } scheduled)
            bucket.Put(Encoding.UTF8.GetBytes(EtcdDbLayout.ScheduledCompactKey), EtcdDbLayout.CompactRevisionValue(scheduled));
    }

    static void PutSorted(BboltBucketWriter bucket, IEnumerable<(string Key, byte[] Value)> rows)
    {
        foreach (var (key, value) in rows.OrderBy(r => r.Key, StringComparer.Ordinal)) bucket.Put(Encoding.UTF8.GetBytes(key), value);
    }

    /// <summary>Unsigned lexicographic byte order, bbolt's key order.</summary>
    sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}

/// <summary>
/// Marshals <c>mvccpb.KeyValue</c> into a reused buffer, byte for byte as etcd's gogo-protobuf marshaler and
/// Google.Protobuf do (fields in number order, proto3 zero values left out), without a message object per row.
/// Not thread-safe.
/// </summary>
internal sealed class KeyValueEncoder
{
    byte[] _buffer = new byte[256];

    /// <summary>The encoding of KeyValue{key, create_revision, mod_revision, version, value, lease}; valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(ReadOnlySpan<byte> key, long createRevision, long modRevision, long version,
        ReadOnlySpan<byte> value, long lease)
    {
        var size = BytesField(key.Length) + VarintField(createRevision) + VarintField(modRevision) + VarintField(version)
                   + BytesField(value.Length) + VarintField(lease);
        if (_buffer.Length < size) _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
        var at = 0;
        at = WriteBytes(1, key, at);
        at = WriteVarintField(2, createRevision, at);
        at = WriteVarintField(3, modRevision, at);
        at = WriteVarintField(4, version, at);
        at = WriteBytes(5, value, at);
        at = WriteVarintField(6, lease, at);
        return _buffer.AsSpan(0, at);
    }

    static int VarintLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }
        return length;
    }

    static int VarintField(long value) => value == 0 ? 0 : 1 + VarintLength((ulong)value);

    static int BytesField(int length) => length == 0 ? 0 : 1 + VarintLength((ulong)length) + length;

    int WriteVarint(ulong value, int at)
    {
        while (value >= 0x80)
        {
            _buffer[at++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[at++] = (byte)value;
        return at;
    }

    int WriteVarintField(int field, long value, int at)
    {
        if (value == 0) return at;
        _buffer[at++] = (byte)(field << 3);
        return WriteVarint((ulong)value, at);
    }

    int WriteBytes(int field, ReadOnlySpan<byte> bytes, int at)
    {
        if (bytes.IsEmpty) return at;
        _buffer[at++] = (byte)((field << 3) | 2);
        at = WriteVarint((ulong)bytes.Length, at);
        bytes.CopyTo(_buffer.AsSpan(at));
        return at + bytes.Length;
    }
}
