using System.Globalization;

namespace Akka.Etcd.Api.Peer;

/// <summary>
/// The wire contract between our members' <see cref="PeerTransport"/> (client) and <see cref="PeerService"/> (server),
/// carried over h2c on <c>--listen-peer-urls</c> (served by Grpc.AspNetCore, sent by our own gRPC client); the service is
/// <c>akka.etcd.raft.Peer</c> of Protos/akka/etcd/raft/peer.proto and both calls carry <c>Raftpb.Message</c>.
/// <list type="bullet">
/// <item><see cref="StreamPath"/> (duplex): the client opens with an empty link message (<c>To = 0</c>; such messages
/// are never delivered), the server answers one acknowledgement message (<c>From</c> = its member ID, <c>To</c> = the
/// caller's), then the client writes Raft messages that the server delivers in order; the stream lives until either
/// side goes away.</item>
/// <item><see cref="SnapshotPath"/> (duplex): the client writes the MsgSnap message itself (the header), then data
/// messages (<c>Type = MsgSnap</c>, <c>Index</c> = byte offset of the chunk in the db file, <c>Context</c> = the chunk
/// bytes, all else empty), then half-closes; the server writes the file, has it installed, and answers once with a
/// MsgSnapStatus message before status OK.</item>
/// </list>
/// Every request carries <see cref="ClusterIdHeader"/>, <see cref="FromHeader"/> and <see cref="ToHeader"/>, member
/// and cluster IDs in lower-case hex without padding (etcd's <c>types.ID.String()</c>).
/// </summary>
public static class PeerProtocol
{
    /// <summary>The gRPC path of the message stream.</summary>
    public const string StreamPath = "/akka.etcd.raft.Peer/Stream";

    /// <summary>The gRPC path of the snapshot pipeline.</summary>
    public const string SnapshotPath = "/akka.etcd.raft.Peer/Snapshot";

    /// <summary>Metadata key: the sender's cluster ID (etcd's <c>X-Etcd-Cluster-ID</c>).</summary>
    public const string ClusterIdHeader = "x-etcd-cluster-id";

    /// <summary>Metadata key: the sender's member ID (etcd's <c>X-Server-From</c>).</summary>
    public const string FromHeader = "x-server-from";

    /// <summary>Metadata key: the member ID the sender means to reach (etcd's <c>X-Raft-To</c>).</summary>
    public const string ToHeader = "x-raft-to";

    /// <summary>FAILED_PRECONDITION text when the cluster IDs differ (etcd rafthttp's errClusterIDMismatch).</summary>
    public const string ClusterIdMismatch = "cluster ID mismatch";

    /// <summary>FAILED_PRECONDITION text when the request was meant for another member (etcd: "to field mismatch").</summary>
    public const string ToMismatch = "to field mismatch";

    /// <summary>FAILED_PRECONDITION text when the sender has been removed from the cluster (etcd's errMemberRemoved).</summary>
    public const string MemberRemoved = "the member has been permanently removed from the cluster";

    /// <summary>UNAVAILABLE text when the receiving transport is not running.</summary>
    public const string NotRunning = "peer transport is not running";

    /// <summary>
    /// The receive limit of the peer listener's gRPC service and of the senders' client, in bytes:
    /// 64 MiB, room for a MsgApp of large entries; snapshot data arrives in chunks well under it.
    /// </summary>
    public const int MaxReceiveMessageBytes = 64 * 1024 * 1024;

    /// <summary>Formats a member or cluster ID as etcd does: lower-case hex, no padding.</summary>
    public static string FormatId(ulong id) => id.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Parses an ID formatted by <see cref="FormatId"/>; false when absent or malformed.</summary>
    public static bool TryParseId(string? text, out ulong id)
    {
        id = 0;
        return !string.IsNullOrEmpty(text)
            && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id);
    }
}
