using Akka.Etcd.Actors.Tests.Linearizability;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// A write proposed through Raft: put, delete or compare-and-set on one key, tagged with the request id the proposing
/// member waits on (etcd's InternalRaftRequest header id). Encoded as the Data of an EntryNormal.
/// </summary>
internal sealed record KvCommand(string RequestId, KvOperationKind Kind, string Key, string? Value, string? Expected)
{
    public ByteString Encode()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(RequestId);
            writer.Write((byte)Kind);
            writer.Write(Key);
            WriteOptional(writer, Value);
            WriteOptional(writer, Expected);
        }

        return ByteString.CopyFrom(buffer.ToArray());
    }

    public static KvCommand Decode(ByteString data)
    {
        using var reader = new BinaryReader(new MemoryStream(data.ToByteArray()));
        return new KvCommand(reader.ReadString(), (KvOperationKind)reader.ReadByte(), reader.ReadString(), ReadOptional(reader), ReadOptional(reader));
    }

    internal static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }

    internal static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;
}
