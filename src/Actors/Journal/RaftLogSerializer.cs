using System.Buffers.Binary;
using Akka.Actor;
using Akka.Etcd.Storage.Wal;
using System.Runtime.Serialization;
using Akka.Serialization;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Journal;

/// <summary>
/// Akka serializer of the Raft log's events for journals that store serialized payloads (Akka.Persistence.Sql):
/// <see cref="Entry"/> and <see cref="HardState"/> as their protobuf bytes (raftpb, as etcd's WAL stores them), a
/// <see cref="SnapshotMarker"/> as 16 bytes (index, then term, uint64 little-endian, as in the WAL record). Manifests
/// "E", "H", "S". The WAL journal writes the same bytes into its own records and needs no serializer. Bound to the
/// three types in the journal's HOCON (<c>akka.actor.serialization-bindings</c>).
/// </summary>
public sealed class RaftLogSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer identifier (stored with every event by Akka.Persistence.Sql).</summary>
    public const int SerializerId = 1311;

    private const string EntryManifest = "E";
    private const string HardStateManifest = "H";
    private const string SnapshotManifest = "S";

    /// <summary>Created by Akka's serialization extension.</summary>
    public RaftLogSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj switch
    {
        Entry entry => entry.ToByteArray(),
        HardState hardState => hardState.ToByteArray(),
        SnapshotMarker marker => EncodeMarker(marker),
        _ => throw new ArgumentException($"{nameof(RaftLogSerializer)} cannot serialize {obj?.GetType().FullName ?? "null"}", nameof(obj)),
    };

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        EntryManifest => Entry.Parser.ParseFrom(bytes),
        HardStateManifest => HardState.Parser.ParseFrom(bytes),
        SnapshotManifest => DecodeMarker(bytes),
        _ => throw new SerializationException($"unknown Raft log event manifest '{manifest}'"),
    };

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        Entry => EntryManifest,
        HardState => HardStateManifest,
        SnapshotMarker => SnapshotManifest,
        _ => throw new ArgumentException($"{nameof(RaftLogSerializer)} cannot serialize {o?.GetType().FullName ?? "null"}", nameof(o)),
    };

    private static byte[] EncodeMarker(SnapshotMarker marker)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, marker.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), marker.Term);
        return bytes;
    }

    private static SnapshotMarker DecodeMarker(byte[] bytes)
    {
        if (bytes.Length != 16)
        {
            throw new SerializationException($"a snapshot marker is 16 bytes, not {bytes.Length}");
        }
        return new SnapshotMarker(BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8)));
    }
}
