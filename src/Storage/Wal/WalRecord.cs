using System.Buffers.Binary;

namespace Akka.Etcd.Storage.Wal;

/// <summary>The kind of a WAL record (byte 4 of its header). 0 is never written: it marks preallocated space.</summary>
public enum WalRecordType : byte
{
    /// <summary>First record of every segment: its sequence number and first raft index (2 x uint64 LE).</summary>
    SegmentStart = 1,

    /// <summary>Member ID and cluster ID (2 x uint64 LE); repeated at the start of every segment.</summary>
    Metadata = 2,

    /// <summary>A protobuf <c>Raftpb.HardState</c>.</summary>
    HardState = 3,

    /// <summary>A protobuf <c>Raftpb.Entry</c>.</summary>
    Entry = 4,

    /// <summary>Raft index and term of a snapshot (2 x uint64 LE); entries up to it are not needed any more.</summary>
    SnapshotMarker = 5,

    /// <summary>
    /// The journal sequence number of the next event record (uint64 LE, then 8 reserved zero bytes). The last record
    /// of every segment header written since the WAL became an Akka.Persistence journal, and written before an
    /// append whose sequence numbers do not follow on. Segments without it (written before) are numbered by counting.
    /// </summary>
    EventSequence = 6,

    /// <summary>
    /// Events up to this journal sequence number are deleted (uint64 LE, then 8 reserved zero bytes): Akka.Persistence's
    /// DeleteMessagesTo. Replay skips the entries it covers; whole segments below it are released.
    /// </summary>
    DeletedTo = 7,
}

/// <summary>
/// The on-disk record framing (our own format, in the spirit of etcd's wal/encoder.go). Every record starts at an
/// 8-byte aligned offset and is <c>HeaderSize + payload</c> rounded up to 8 bytes:
/// <code>
/// [0..4)  uint32 LE payload length in bytes
/// [4]     record type (<see cref="WalRecordType"/>, never 0)
/// [5]     padding bytes after the payload (0..7)
/// [6..8)  reserved, 0
/// [8..12) uint32 LE CRC-32C over the type byte followed by the payload
/// [12..)  payload, then zero padding
/// </code>
/// </summary>
internal static class WalRecord
{
    public const int HeaderSize = 12;
    public const int Alignment = 8;

    public static int FramedSize(int payloadLength) => (HeaderSize + payloadLength + Alignment - 1) & ~(Alignment - 1);

    /// <summary>Writes header, CRC and padding around a payload already placed at
    /// <c>record[HeaderSize..HeaderSize + payloadLength]</c>; <paramref name="record"/> is exactly the framed size.</summary>
    public static void Seal(Span<byte> record, WalRecordType type, int payloadLength)
    {
        var padding = record.Length - HeaderSize - payloadLength;
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payloadLength);
        record[4] = (byte)type;
        record[5] = (byte)padding;
        record[6] = 0;
        record[7] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], Checksum(type, record.Slice(HeaderSize, payloadLength)));
        record[(HeaderSize + payloadLength)..].Clear();
    }

    public static uint Checksum(WalRecordType type, ReadOnlySpan<byte> payload)
    {
        Span<byte> typeByte = [(byte)type];
        return Crc32C.Append(Crc32C.Compute(typeByte), payload);
    }

    /// <summary>Outcome of decoding at one offset.</summary>
    public enum DecodeStatus
    {
        /// <summary>A whole record with a matching CRC.</summary>
        Valid,

        /// <summary>Only zeros from here to the end of the header (preallocated space): the end of the data.</summary>
        End,

        /// <summary>Anything else: truncated, bad header or CRC mismatch.</summary>
        Bad,
    }

    /// <summary>Decodes the record at the start of <paramref name="data"/> (the rest of the segment).</summary>
    public static DecodeStatus TryDecode(ReadOnlySpan<byte> data, out WalRecordType type, out ReadOnlySpan<byte> payload,
        out int framedSize)
    {
        type = 0;
        payload = default;
        framedSize = 0;
        if (data.Length < HeaderSize)
            return data.ContainsAnyExcept((byte)0) ? DecodeStatus.Bad : DecodeStatus.End;
        var header = data[..HeaderSize];
        if (!header.ContainsAnyExcept((byte)0))
            return DecodeStatus.End;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        type = (WalRecordType)header[4];
        if (type is < WalRecordType.SegmentStart or > WalRecordType.DeletedTo || header[6] != 0 || header[7] != 0
            || length > (uint)(data.Length - HeaderSize))
            return DecodeStatus.Bad;
        framedSize = FramedSize((int)length);
        if (header[5] != framedSize - HeaderSize - (int)length || framedSize > data.Length)
            return DecodeStatus.Bad;
        payload = data.Slice(HeaderSize, (int)length);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != Checksum(type, payload))
            return DecodeStatus.Bad;
        return DecodeStatus.Valid;
    }
}
