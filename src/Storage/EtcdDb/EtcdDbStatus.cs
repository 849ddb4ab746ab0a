using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.Mvcc.Hashing;

namespace Akka.Etcd.Storage.EtcdDb;

/// <summary>
/// What <c>etcdctl snapshot status</c> reports for a db file (clientv3/snapshot <c>Status</c>; JSON names as etcd's).
/// </summary>
/// <param name="Hash">CRC-32C over every top-level bucket name followed by each of its keys and values, in key order.</param>
/// <param name="Revision">Main revision of the last key of bucket <c>key</c> (0 when empty).</param>
/// <param name="TotalKey">Elements of all top-level buckets (etcd's <c>totalKey</c>, not just MVCC keys).</param>
/// <param name="TotalSize">Size of the db in bytes (bbolt's <c>Tx.Size</c>: high-water pgid × page size).</param>
public sealed record EtcdDbStatus(uint Hash, long Revision, int TotalKey, long TotalSize)
{
    /// <summary>
    /// Computes the status of <paramref name="db"/> as etcd 3.4 does, after bbolt's integrity check.
    /// </summary>
    /// <exception cref="BboltFormatException">etcd's texts: "snapshot file integrity check failed. N errors found.\n..."
    /// for a failed check, "cannot get hash of bucket NAME" for a top-level key that is not a bucket.</exception>
    public static EtcdDbStatus Compute(BboltFile db)
    {
        ArgumentNullException.ThrowIfNull(db);
        var errors = db.Check();
        if (errors.Count > 0)
            throw new BboltFormatException($"snapshot file integrity check failed. {errors.Count} errors found.\n" + string.Join("\n", errors));
        var crc = new Crc32Castagnoli();
        long revision = 0;
        var total = 0;
        var names = new List<byte[]>();
        string? notBucket = null;
        db.Root.ForEach((name, _, isBucket) =>
        {
            if (!isBucket) notBucket ??= Encoding.UTF8.GetString(name);
            names.Add(name.ToArray());
        });
        foreach (var name in names)
        {
            var bucket = db.Root.Bucket(name);
            if (bucket is null) throw new BboltFormatException($"cannot get hash of bucket {Encoding.UTF8.GetString(name)}");
            crc.Append(name);
            var isKeyBucket = name.AsSpan().SequenceEqual("key"u8);
            bucket.Value.ForEach((key, value, _) =>
            {
                crc.Append(key);
                crc.Append(value);
                if (isKeyBucket && key.Length >= 8) revision = BinaryPrimitives.ReadInt64BigEndian(key);
                total++;
            });
        }
        return new EtcdDbStatus(crc.Value, revision, total, db.Size);
    }
}

/// <summary>
/// The SHA-256 etcd's Maintenance.Snapshot appends to a db image and <c>snapshot restore</c> checks
/// (clientv3/snapshot/v3_snapshot.go): a file whose length is 32 more than a multiple of 512 carries one.
/// </summary>
public static class SnapshotChecksum
{
    /// <summary>Bytes of the trailer.</summary>
    public const int Size = 32;

    /// <summary>etcd's <c>hasChecksum</c>: true when <paramref name="length"/> % 512 == 32.</summary>
    public static bool HasChecksum(long length) => length % 512 == Size;

    /// <summary>
    /// Checks a snapshot file as <c>etcdctl snapshot restore</c> does: returns null when the trailer matches the
    /// SHA-256 of the bytes before it, or when there is none and <paramref name="skipHashCheck"/>; otherwise etcd's error
    /// text ("snapshot missing hash but --skip-hash-check=false", "expected sha256 [..], got [..]" with the bytes in
    /// decimal as Go prints them). With <paramref name="skipHashCheck"/> nothing is hashed.
    /// </summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static string? Verify(string path, bool skipHashCheck)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var length = file.Length;
        var hasHash = HasChecksum(length);
        if (!hasHash) return skipHashCheck ? null : "snapshot missing hash but --skip-hash-check=false";
        if (skipHashCheck) return null;
        var expected = new byte[Size];
        file.Position = length - Size;
        file.ReadExactly(expected);
        file.Position = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        var remaining = length - Size;
        while (remaining > 0)
        {
            var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            if (read == 0) throw new EndOfStreamException($"{path} ended while hashing");
            sha.AppendData(buffer, 0, read);
            remaining -= read;
        }
        var actual = sha.GetHashAndReset();
        return expected.AsSpan().SequenceEqual(actual) ? null : $"expected sha256 {GoBytes(expected)}, got {GoBytes(actual)}";
    }

    /// <summary>A byte slice as Go's <c>%v</c> prints it: <c>[1 2 255]</c>.</summary>
    public static string GoBytes(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder("[");
        for (var i = 0; i < bytes.Length; i++)
        {
            if (i > 0) text.Append(' ');
            text.Append(bytes[i]);
        }
        return text.Append(']').ToString();
    }
}
