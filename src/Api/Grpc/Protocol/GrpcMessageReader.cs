using System.Buffers;
using System.IO.Pipelines;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// Reads length-prefixed gRPC messages from a <see cref="PipeReader"/> (a request or response body). Messages may
/// arrive split across reads or several in one read; each is parsed straight from the pipe's buffers (no copy),
/// and a message longer than the receive limit is rejected from its 5-byte prefix, before its body is buffered.
/// Not thread-safe: one reader per stream, one read at a time.
/// </summary>
public sealed class GrpcMessageReader
{
    private readonly PipeReader _reader;
    private readonly int _maxMessageBytes;
    private readonly string? _encoding;

    /// <summary>Creates a reader over <paramref name="reader"/>.</summary>
    /// <param name="reader">The body; the caller owns it and completes it.</param>
    /// <param name="maxMessageBytes">Largest accepted message in bytes (prefix excluded).</param>
    /// <param name="encoding">The stream's <c>grpc-encoding</c> header value, if any (used in error texts).</param>
    public GrpcMessageReader(PipeReader reader, int maxMessageBytes, string? encoding)
    {
        _reader = reader;
        _maxMessageBytes = maxMessageBytes;
        _encoding = encoding;
    }

    /// <summary>
    /// Reads the next message; null when the stream ended cleanly at a frame boundary.
    /// Throws <see cref="EtcdException"/>: RESOURCE_EXHAUSTED "grpc: received message larger than max (N vs. M)"
    /// for an oversize message, INTERNAL for a truncated frame or a message that does not parse, and
    /// INTERNAL/UNIMPLEMENTED for a compressed message (only identity is supported).
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (GrpcFrame.TryReadHeader(buffer, out var compressed, out var length))
            {
                if (length > (uint)_maxMessageBytes)
                {
                    _reader.AdvanceTo(buffer.Start);
                    throw new EtcdException(RpcStatusCode.ResourceExhausted,
                        $"grpc: received message larger than max ({length} vs. {_maxMessageBytes})");
                }

                if (compressed)
                {
                    _reader.AdvanceTo(buffer.Start);
                    throw CompressedMessage();
                }

                if (GrpcFrame.TryReadMessage(ref buffer, out _, out var payload))
                {
                    T message;
                    try
                    {
                        message = parser.ParseFrom(payload);
                    }
                    catch (InvalidProtocolBufferException e)
                    {
                        _reader.AdvanceTo(buffer.Start);
                        throw new EtcdException(RpcStatusCode.Internal, "grpc: failed to unmarshal the received message " + e.Message);
                    }

                    _reader.AdvanceTo(buffer.Start);
                    return message;
                }
            }

            if (result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                if (buffer.IsEmpty)
                    return null;
                throw new EtcdException(RpcStatusCode.Internal, "grpc: stream ended in the middle of a message");
            }

            if (result.IsCanceled)
            {
                _reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException("the read was cancelled");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private EtcdException CompressedMessage() =>
        string.IsNullOrEmpty(_encoding) || _encoding == "identity"
            ? new EtcdException(RpcStatusCode.Internal, "grpc: compressed flag set with identity or empty encoding")
            : new EtcdException(RpcStatusCode.Unimplemented, $"grpc: Decompressor is not installed for grpc-encoding \"{_encoding}\"");
}
