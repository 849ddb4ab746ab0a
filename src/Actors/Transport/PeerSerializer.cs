using Akka.Actor;
using Akka.Etcd.Protos.Peer;
using Akka.Serialization;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// Akka serializer of the messages members send each other (Protos/akka/etcd/peer/peer.proto): protobuf bytes and a
/// one-letter manifest per type, so a Raft batch on the wire is the protobuf encoding of its raftpb messages and
/// nothing else (never JSON, never a .NET type name). Registered for exactly these types by <see cref="Config"/>;
/// any other manifest is refused (<see cref="System.Runtime.Serialization.SerializationException"/>), so a peer cannot make this member
/// instantiate another type through it. Thread-safe.
/// </summary>
public sealed class PeerSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer ID on the wire (Akka reserves 0-40 for its own serializers).</summary>
    public const int SerializerId = 7310;

    private const string BatchManifest = "B";
    private const string RequestManifest = "Q";
    private const string ResponseManifest = "R";
    private const string RemovedManifest = "X";
    private const string OfferManifest = "O";
    private const string ChunkManifest = "C";
    private const string AckManifest = "A";

    /// <summary>Created by Akka's serialization extension.</summary>
    public PeerSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <summary>
    /// The HOCON that registers this serializer for the peer messages (and only them); every member's ActorSystem
    /// needs it, with the same ID, or Raft messages cannot cross.
    /// </summary>
    public static Akka.Configuration.Config Config { get; } = Akka.Configuration.ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.akka-etcd-peer = "{{typeof(PeerSerializer).AssemblyQualifiedNameWithoutVersion()}}"
          serialization-identifiers { "{{typeof(PeerSerializer).AssemblyQualifiedNameWithoutVersion()}}" = {{SerializerId}} }
          serialization-bindings {
            "{{Binding<RaftBatch>()}}" = akka-etcd-peer
            "{{Binding<PeerRequest>()}}" = akka-etcd-peer
            "{{Binding<PeerResponse>()}}" = akka-etcd-peer
            "{{Binding<MemberRemovedNotice>()}}" = akka-etcd-peer
            "{{Binding<SnapshotOffer>()}}" = akka-etcd-peer
            "{{Binding<SnapshotChunk>()}}" = akka-etcd-peer
            "{{Binding<SnapshotAck>()}}" = akka-etcd-peer
          }
        }
        """);

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        RaftBatch => BatchManifest,
        PeerRequest => RequestManifest,
        PeerResponse => ResponseManifest,
        MemberRemovedNotice => RemovedManifest,
        SnapshotOffer => OfferManifest,
        SnapshotChunk => ChunkManifest,
        SnapshotAck => AckManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a peer message", nameof(o)),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj is IMessage message && Manifest(obj).Length > 0
        ? message.ToByteArray()
        : throw new ArgumentException($"{obj.GetType()} is not a peer message", nameof(obj));

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        BatchManifest => RaftBatch.Parser.ParseFrom(bytes),
        RequestManifest => PeerRequest.Parser.ParseFrom(bytes),
        ResponseManifest => PeerResponse.Parser.ParseFrom(bytes),
        RemovedManifest => MemberRemovedNotice.Parser.ParseFrom(bytes),
        OfferManifest => SnapshotOffer.Parser.ParseFrom(bytes),
        ChunkManifest => SnapshotChunk.Parser.ParseFrom(bytes),
        AckManifest => SnapshotAck.Parser.ParseFrom(bytes),
        _ => throw new System.Runtime.Serialization.SerializationException($"unknown peer message manifest \"{manifest}\""),
    };

    private static string Binding<T>() => typeof(T).AssemblyQualifiedNameWithoutVersion();
}

/// <summary>Type names as Akka's HOCON bindings want them.</summary>
internal static class TypeNames
{
    /// <summary><c>Namespace.Type, Assembly</c> (no version, culture or key), as Akka's serialization bindings are written.</summary>
    public static string AssemblyQualifiedNameWithoutVersion(this Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
