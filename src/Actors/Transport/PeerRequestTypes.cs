using System.Collections.Frozen;
using Etcdserverpb;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// The protobuf messages a member accepts inside <c>PeerRequest</c>/<c>PeerResponse</c> bodies (a
/// <c>google.protobuf.Any</c>): anything else is answered UNIMPLEMENTED and never parsed, so a peer can only ask what
/// the receiving member serves. To add a peer call, add its request and response
/// descriptors here and its case to the member's peer request handler (<see cref="Server.PeerRequestsActor"/>).
/// Thread-safe (immutable).
/// </summary>
public static class PeerRequestTypes
{
    private static readonly FrozenDictionary<string, MessageDescriptor> Known = new[]
    {
        // Lease forwarding (etcd's leasehttp): a follower's keep-alive and time-to-live go to the leader's lessor.
        LeaseKeepAliveRequest.Descriptor, LeaseKeepAliveResponse.Descriptor,
        LeaseTimeToLiveRequest.Descriptor, LeaseTimeToLiveResponse.Descriptor,
        // MemberPromote forwarded to the leader, which alone knows the learner's progress.
        MemberPromoteRequest.Descriptor, MemberPromoteResponse.Descriptor,
        // The member list a member started with --initial-cluster-state existing asks for (etcd's GET /members).
        MemberListRequest.Descriptor, MemberListResponse.Descriptor,
        // The corruption checks' "your HashKV at revision R" (etcd's GET /members/hashkv, corrupt.go).
        HashKVRequest.Descriptor, HashKVResponse.Descriptor,
        // Whether a peer is in an Akka cluster yet (answered by its peer actor, see PeerActor's cluster formation).
        Akka.Etcd.Protos.Peer.AkkaClusterStatusRequest.Descriptor, Akka.Etcd.Protos.Peer.AkkaClusterStatusResponse.Descriptor,
    }.ToFrozenDictionary(d => d.FullName, d => d);

    /// <summary>True when <paramref name="message"/>'s type may travel as a peer request or response body.</summary>
    public static bool IsKnown(IMessage message) => Known.ContainsKey(message.Descriptor.FullName);

    /// <summary>Packs a known message into an Any.</summary>
    /// <exception cref="ArgumentException">The type is not in the list.</exception>
    public static Any Pack(IMessage message)
    {
        if (!IsKnown(message))
        {
            throw new ArgumentException($"{message.Descriptor.FullName} is not a peer request or response type", nameof(message));
        }
        return Any.Pack(message);
    }

    /// <summary>Unpacks a body of a known type; false (and null) for an empty body or any other type.</summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes do not parse as the named type.</exception>
    public static bool TryUnpack(Any? body, out IMessage? message)
    {
        message = null;
        if (body is null || !Known.TryGetValue(Any.GetTypeName(body.TypeUrl), out var descriptor))
        {
            return false;
        }
        message = descriptor.Parser.ParseFrom(body.Value);
        return true;
    }
}
