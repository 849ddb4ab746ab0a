using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Etcdserverpb;

namespace Akka.Etcd.Storage.EtcdDb;

/// <summary>
/// etcd 3.4's backend db (the bbolt file <c>member/snap/db</c> and what <c>etcdctl snapshot save</c> stores): its
/// buckets and how each encodes its keys and values, next to how our SQLite backend keeps the same facts.
/// <list type="table">
/// <item><term><c>key</c></term><description>revision bytes (8-byte big-endian main, <c>'_'</c>, 8-byte big-endian sub,
/// plus <c>'t'</c> for a tombstone; mvcc/revision.go, kvstore.go) → marshaled <c>mvccpb.KeyValue</c> (a tombstone holds
/// only the key). Ours: rows of table <c>kv</c>.</description></item>
/// <item><term><c>meta</c></term><description><c>consistent_index</c> → 8-byte big-endian raft index;
/// <c>scheduledCompactRev</c> / <c>finishedCompactRev</c> → revision bytes with sub 0. Ours: table <c>meta</c>, names
/// <c>consistent_index</c>, <c>scheduled_compact_rev</c>, <c>finished_compact_rev</c>.</description></item>
/// <item><term><c>lease</c></term><description>8-byte big-endian lease ID → marshaled <c>leasepb.Lease</c>. Ours:
/// bucket <c>lease</c>, same key → granted TTL as 8-byte big-endian seconds, then the persisted remaining TTL (8 more
/// bytes) when a lease checkpoint was persisted (LeaseTable).</description></item>
/// <item><term><c>members</c></term><description>member ID in lower-case hex without padding → JSON
/// <c>{"id":N,"peerURLs":[...],"isLearner":true,"name":"...","clientURLs":[...]}</c> (Go's encoding/json of
/// membership.Member, omitempty fields left out). Ours: bucket <c>members</c>, 8-byte big-endian ID → marshaled
/// <c>etcdserverpb.Member</c> (ClusterMembership).</description></item>
/// <item><term><c>members_removed</c></term><description>hex ID → <c>removed</c>. Ours: 8-byte big-endian ID → empty.</description></item>
/// <item><term><c>cluster</c></term><description><c>clusterVersion</c> → e.g. <c>3.4.0</c>; the same in ours.</description></item>
/// <item><term><c>alarm</c></term><description>marshaled <c>AlarmMember</c> → empty; the same in ours (AlarmStore), exported
/// verbatim; dropped on import (a restored cluster starts without alarms).</description></item>
/// <item><term><c>auth</c>, <c>authUsers</c>, <c>authRoles</c></term><description>auth state (a fresh db has
/// <c>auth/authRevision</c> = 8-byte big-endian 1). Kept in etcd's encoding (authpb.User, authpb.Role, <c>authEnabled</c>,
/// <c>authRevision</c>), so the member's auth store reads them and a round trip gives them back to etcd.</description></item>
/// </list>
/// </summary>
public static class EtcdDbLayout
{
    /// <summary>etcd's bucket of key versions.</summary>
    public const string KeyBucket = "key";

    /// <summary>etcd's bucket of store metadata.</summary>
    public const string MetaBucket = "meta";

    /// <summary>etcd's bucket of leases (also our bucket name, LeaseTable.Bucket).</summary>
    public const string LeaseBucket = "lease";

    /// <summary>etcd's bucket of members (also our bucket name, ClusterMembership.MembersBucket).</summary>
    public const string MembersBucket = "members";

    /// <summary>etcd's bucket of removed member IDs (also our bucket name, ClusterMembership.RemovedBucket).</summary>
    public const string MembersRemovedBucket = "members_removed";

    /// <summary>etcd's bucket of cluster-wide settings (also ours, ClusterMembership.ClusterBucket).</summary>
    public const string ClusterBucket = "cluster";

    /// <summary>etcd's bucket of raised alarms.</summary>
    public const string AlarmBucket = "alarm";

    /// <summary>etcd's auth settings bucket.</summary>
    public const string AuthBucket = "auth";

    /// <summary>etcd's auth users bucket.</summary>
    public const string AuthUsersBucket = "authUsers";

    /// <summary>etcd's auth roles bucket.</summary>
    public const string AuthRolesBucket = "authRoles";

    /// <summary>Key of the consistent index in etcd's <c>meta</c> bucket and in our <c>meta</c> table.</summary>
    public const string ConsistentIndexKey = "consistent_index";

    /// <summary>Key of the scheduled compaction revision in etcd's <c>meta</c> bucket.</summary>
    public const string ScheduledCompactKey = "scheduledCompactRev";

    /// <summary>Key of the finished compaction revision in etcd's <c>meta</c> bucket.</summary>
    public const string FinishedCompactKey = "finishedCompactRev";

    /// <summary>Our <c>meta</c> table name of the scheduled compaction revision (MvccStore.MetaScheduledCompact).</summary>
    public const string OurScheduledCompactKey = "scheduled_compact_rev";

    /// <summary>Our <c>meta</c> table name of the finished compaction revision (MvccStore.MetaFinishedCompact).</summary>
    public const string OurFinishedCompactKey = "finished_compact_rev";

    /// <summary>Key of the auth-enabled flag in etcd's <c>auth</c> bucket (value 1 byte: 1 enabled, 0 disabled).</summary>
    public const string AuthEnabledKey = "authEnabled";

    /// <summary>Key of the auth revision in etcd's <c>auth</c> bucket (8-byte big-endian).</summary>
    public const string AuthRevisionKey = "authRevision";

    /// <summary>Key of the cluster version in the <c>cluster</c> bucket.</summary>
    public const string ClusterVersionKey = "clusterVersion";

    /// <summary>Value etcd stores in <c>members_removed</c>.</summary>
    public const string RemovedValue = "removed";

    /// <summary>Bytes of a revision key (<c>revBytesLen</c>); a tombstone's is one longer.</summary>
    public const int RevisionKeyLength = 17;

    /// <summary>Writes the revision key of (<paramref name="main"/>, <paramref name="sub"/>) into <paramref name="destination"/>
    /// (18 bytes at least) and returns its length: 17, or 18 with etcd's tombstone mark <c>'t'</c>.</summary>
    public static int WriteRevisionKey(Span<byte> destination, long main, long sub, bool tombstone)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, main);
        destination[8] = (byte)'_';
        BinaryPrimitives.WriteInt64BigEndian(destination[9..], sub);
        if (!tombstone) return RevisionKeyLength;
        destination[RevisionKeyLength] = (byte)'t';
        return RevisionKeyLength + 1;
    }

    /// <summary>Parses a revision key of etcd's <c>key</c> bucket.</summary>
    /// <exception cref="FormatException">Not 17 bytes (or 18 ending in <c>'t'</c>) with <c>'_'</c> at byte 8.</exception>
    public static (long Main, long Sub, bool Tombstone) ParseRevisionKey(ReadOnlySpan<byte> key)
    {
        var tombstone = key.Length == RevisionKeyLength + 1 && key[RevisionKeyLength] == (byte)'t';
        if ((key.Length != RevisionKeyLength && !tombstone) || key[8] != (byte)'_')
            throw new FormatException($"invalid revision key {Convert.ToHexString(key)} in bucket \"key\"");
        return (BinaryPrimitives.ReadInt64BigEndian(key), BinaryPrimitives.ReadInt64BigEndian(key[9..]), tombstone);
    }

    /// <summary>The 17 revision bytes etcd stores for a compaction revision (sub 0).</summary>
    public static byte[] CompactRevisionValue(long revision)
    {
        var value = new byte[RevisionKeyLength];
        WriteRevisionKey(value, revision, 0, tombstone: false);
        return value;
    }

    /// <summary>etcd's <c>types.ID.String()</c>: lower-case hex without leading zeros (the member buckets' key).</summary>
    public static string MemberKey(ulong id) => id.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>
    /// The JSON etcd 3.4 stores for a member (<c>json.Marshal(membership.Member)</c>): id, peerURLs (never omitted),
    /// isLearner / name / clientURLs only when set, strings escaped as Go does.
    /// </summary>
    public static string MemberJson(Member member)
    {
        var json = new StringBuilder();
        json.Append("{\"id\":").Append(member.ID.ToString(CultureInfo.InvariantCulture));
        json.Append(",\"peerURLs\":");
        AppendStrings(json, member.PeerURLs);
        if (member.IsLearner) json.Append(",\"isLearner\":true");
        if (member.Name.Length > 0)
        {
            json.Append(",\"name\":");
            AppendString(json, member.Name);
        }
        if (member.ClientURLs.Count > 0)
        {
            json.Append(",\"clientURLs\":");
            AppendStrings(json, member.ClientURLs);
        }
        return json.Append('}').ToString();
    }

    static void AppendStrings(StringBuilder json, IReadOnlyList<string> values)
    {
        json.Append('[');
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0) json.Append(',');
            AppendString(json, values[i]);
        }
        json.Append(']');
    }

    /// <summary>Go's encoding/json string escaping: quote, backslash, control characters, &lt; &gt; &amp;, U+2028/2029.</summary>
    static void AppendString(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case '<' or '>' or '&' or '\u2028' or '\u2029':
                    json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (c < 0x20) json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else json.Append(c);
                    break;
            }
        }
        json.Append('"');
    }
}
