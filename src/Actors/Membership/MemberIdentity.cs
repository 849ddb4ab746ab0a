using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Akka.Etcd.Actors.Membership;

/// <summary>
/// Member and cluster IDs derived exactly as etcd derives them (etcdserver/api/membership), so a cluster
/// started with the same <c>--initial-cluster</c> and <c>--initial-cluster-token</c> gets the same IDs as etcd.
/// </summary>
public static class MemberIdentity
{
    /// <summary>
    /// Member ID: the first 8 bytes (big-endian) of SHA-1 over the member's sorted peer URLs concatenated,
    /// followed by the cluster token (and, for members added at run time, the unix time in seconds).
    /// </summary>
    /// <param name="peerUrls">The member's peer URLs as strings, e.g. <c>http://127.0.0.1:2380</c>.</param>
    /// <param name="clusterToken">The <c>--initial-cluster-token</c>.</param>
    /// <param name="addedAtUnixSeconds">Unix seconds for a member added at run time; null at bootstrap.</param>
    public static ulong ComputeMemberId(IEnumerable<string> peerUrls, string clusterToken, long? addedAtUnixSeconds = null)
    {
        var sorted = peerUrls.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var url in sorted)
        {
            text.Append(url);
        }
        text.Append(clusterToken);
        if (addedAtUnixSeconds is { } seconds)
        {
            text.Append(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    /// <summary>
    /// Cluster ID: the first 8 bytes (big-endian) of SHA-1 over the sorted member IDs, each as 8 big-endian bytes.
    /// </summary>
    public static ulong ComputeClusterId(IEnumerable<ulong> memberIds)
    {
        var ids = memberIds.ToArray();
        Array.Sort(ids);
        var bytes = new byte[8 * ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8 * i), ids[i]);
        }
        var hash = SHA1.HashData(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }
}
