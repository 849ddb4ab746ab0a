using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// The gRPC length-prefixed message framing (grpc/doc/PROTOCOL-HTTP2.md, "Length-Prefixed-Message"):
/// a 1-byte compressed flag, a 4-byte big-endian unsigned length, then that many bytes of protobuf.
/// Stateless and thread-safe.
/// </summary>
public static class GrpcFrame
{
    /// <summary>Size of the frame prefix in bytes (compressed flag + u32 length).</summary>
    public const int HeaderLength = 5;

    /// <summary>
    /// Reads the 5-byte prefix at the start of <paramref name="buffer"/> without consuming anything.
    /// Returns false when fewer than 5 bytes are buffered.
    /// </summary>
    /// <param name="buffer">Bytes received so far, starting at a frame boundary.</param>
    /// <param name="compressed">True when the compressed flag byte is non-zero.</param>
    /// <param name="length">The message length in bytes (up to 2^32-1).</param>
    public static bool TryReadHeader(in ReadOnlySequence<byte> buffer, out bool compressed, out uint length)
    {
        if (buffer.Length < HeaderLength)
        {
            compressed = false;
            length = 0;
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        var first = buffer.FirstSpan;
        if (first.Length >= HeaderLength)
            first[..HeaderLength].CopyTo(header);
        else
            buffer.Slice(0, HeaderLength).CopyTo(header);
        compressed = header[0] != 0;
        length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return true;
    }

    /// <summary>
    /// Slices one complete message off the front of <paramref name="buffer"/>. On success
    /// <paramref name="payload"/> is the message bytes (no copy) and <paramref name="buffer"/> is advanced
    /// past the frame; returns false (buffer untouched) when the frame is not complete yet.
    /// </summary>
    public static bool TryReadMessage(ref ReadOnlySequence<byte> buffer, out bool compressed, out ReadOnlySequence<byte> payload)
    {
        if (!TryReadHeader(buffer, out compressed, out var length) || buffer.Length - HeaderLength < length)
        {
            payload = default;
            return false;
        }

        payload = buffer.Slice(HeaderLength, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>
    /// Serializes <paramref name="message"/> as one uncompressed frame into a buffer rented from
    /// <see cref="ArrayPool{T}.Shared"/>; the frame is <c>buffer[..frameLength]</c>. Return the buffer to the pool.
    /// </summary>
    public static byte[] RentFramed(IMessage message, int messageSize, out int frameLength)
    {
        frameLength = HeaderLength + messageSize;
        var buffer = ArrayPool<byte>.Shared.Rent(frameLength);
        buffer[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)messageSize);
        if (messageSize > 0)
            message.WriteTo(buffer.AsSpan(HeaderLength, messageSize));
        return buffer;
    }

    /// <summary>
    /// Writes <paramref name="message"/> as one uncompressed frame into <paramref name="writer"/>.
    /// <paramref name="messageSize"/> must be <c>message.CalculateSize()</c> (bytes).
    /// </summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message, int messageSize)
    {
        var header = writer.GetSpan(HeaderLength);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)messageSize);
        writer.Advance(HeaderLength);
        if (messageSize > 0)
            message.WriteTo(writer);
    }
}
