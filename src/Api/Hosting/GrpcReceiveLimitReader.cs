using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.Core;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// A gRPC request body seen through the receive limit: each length-prefixed message's 5-byte prefix
/// (grpc/doc/PROTOCOL-HTTP2.md) is checked as soon as it is in, and a message longer than the limit fails the read with
/// RESOURCE_EXHAUSTED "grpc: received message larger than max (N vs. M)" — grpc-go's text, which etcd clients show —
/// before its body is buffered. Every octet is looked at once (prefixes only), so the cost is linear in the messages.
/// Single consumer, not thread-safe, like the reader it wraps.
/// </summary>
internal sealed class GrpcReceiveLimitReader : PipeReader
{
    private const int PrefixLength = 5;

    private readonly PipeReader _inner;
    private readonly int _maxMessageBytes;
    private long _bufferStart;  // octets consumed so far: the offset of the inner buffer's first octet
    private long _nextPrefix;   // the offset of the next message's prefix
    private ReadOnlySequence<byte> _buffer;

    /// <summary>Wraps <paramref name="inner"/>, positioned at a message boundary; <paramref name="maxMessageBytes"/> excludes the prefix.</summary>
    public GrpcReceiveLimitReader(PipeReader inner, int maxMessageBytes)
    {
        _inner = inner;
        _maxMessageBytes = maxMessageBytes;
    }

    /// <inheritdoc />
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        Check(result.Buffer);
        return result;
    }

    /// <inheritdoc />
    public override bool TryRead(out ReadResult result)
    {
        if (!_inner.TryRead(out result))
            return false;
        Check(result.Buffer);
        return true;
    }

    /// <inheritdoc />
    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    /// <inheritdoc />
    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _bufferStart += _buffer.Slice(_buffer.Start, consumed).Length;
        _buffer = default;
        _inner.AdvanceTo(consumed, examined);
    }

    /// <inheritdoc />
    public override void CancelPendingRead() => _inner.CancelPendingRead();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    private void Check(in ReadOnlySequence<byte> buffer)
    {
        _buffer = buffer;
        Span<byte> prefix = stackalloc byte[PrefixLength];
        while (_nextPrefix + PrefixLength <= _bufferStart + buffer.Length)
        {
            buffer.Slice(_nextPrefix - _bufferStart, PrefixLength).CopyTo(prefix);
            var length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
            if (length > (uint)_maxMessageBytes)
            {
                _buffer = default;
                _inner.AdvanceTo(buffer.Start);
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"grpc: received message larger than max ({length} vs. {_maxMessageBytes})"));
            }

            _nextPrefix += PrefixLength + length;
        }
    }
}
