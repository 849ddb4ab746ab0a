using System.Globalization;
using System.Text;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>
/// The key layout shared by locks and elections (etcd's clientv3/concurrency): every contender of a lock or
/// election named <c>name</c> owns the key <c>name/&lt;lease id in lowercase hex&gt;</c>, bound to its lease;
/// contenders are ordered by the create revision of their key, the lowest being the holder (or leader).
/// </summary>
public static class ConcurrencyKeys
{
    private static readonly ByteString Separator = ByteString.CopyFromUtf8("/");

    /// <summary>The prefix of every contender key: <paramref name="name"/> + "/".</summary>
    public static ByteString Prefix(ByteString name) => Concat(name, Separator);

    /// <summary>
    /// The key of the contender holding <paramref name="lease"/>: <paramref name="name"/> + "/" + the lease id as Go's
    /// <c>%x</c> formats it (lowercase hex, a leading '-' for a negative id).
    /// </summary>
    public static ByteString OwnKey(ByteString name, long lease)
    {
        var hex = lease < 0
            ? "-" + ((ulong)-(lease + 1) + 1).ToString("x", CultureInfo.InvariantCulture)
            : lease.ToString("x", CultureInfo.InvariantCulture);
        return Concat(Prefix(name), ByteString.CopyFrom(Encoding.ASCII.GetBytes(hex)));
    }

    /// <summary>
    /// The range end covering every key that starts with <paramref name="prefix"/> (etcd's GetPrefixRangeEnd): the
    /// prefix with its last byte below 0xff incremented and what follows dropped; "\0" (every key) when all bytes are 0xff.
    /// </summary>
    public static ByteString PrefixEnd(ByteString prefix)
    {
        var end = prefix.ToByteArray();
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0);
    }

    /// <summary>The holder (leader) under <paramref name="prefix"/>: the key with the lowest create revision (etcd's WithFirstCreate).</summary>
    public static RangeRequest FirstCreated(ByteString prefix) => new()
    {
        Key = prefix,
        RangeEnd = PrefixEnd(prefix),
        SortTarget = RangeRequest.Types.SortTarget.Create,
        SortOrder = RangeRequest.Types.SortOrder.Ascend,
        Limit = 1,
    };

    /// <summary>
    /// The nearest predecessor under <paramref name="prefix"/>: the key with the highest create revision at or
    /// below <paramref name="maxCreateRevision"/> (etcd's WithLastCreate + WithMaxCreateRev). Needs a
    /// <paramref name="maxCreateRevision"/> of at least 1 (0 means "no bound" to etcd).
    /// </summary>
    public static RangeRequest LastCreatedUpTo(ByteString prefix, long maxCreateRevision) => new()
    {
        Key = prefix,
        RangeEnd = PrefixEnd(prefix),
        SortTarget = RangeRequest.Types.SortTarget.Create,
        SortOrder = RangeRequest.Types.SortOrder.Descend,
        Limit = 1,
        MaxCreateRevision = maxCreateRevision,
    };

    /// <summary>A txn compare: create_revision(<paramref name="key"/>) == <paramref name="createRevision"/> (0 = the key does not exist).</summary>
    public static Compare CreateRevisionIs(ByteString key, long createRevision) => new()
    {
        Key = key,
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Equal,
        CreateRevision = createRevision,
    };

    private static ByteString Concat(ByteString head, ByteString tail)
    {
        var bytes = new byte[head.Length + tail.Length];
        head.Span.CopyTo(bytes);
        tail.Span.CopyTo(bytes.AsSpan(head.Length));
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }
}
