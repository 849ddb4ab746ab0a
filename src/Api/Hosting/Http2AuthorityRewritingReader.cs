using System.Buffers;
using System.IO.Pipelines;
using Akka.Etcd.Api.Hosting.Hpack;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// The input side of a cleartext HTTP/2 connection (starting with the 24-octet connection preface, RFC 7540 §3.5), seen
/// through the <see cref="AuthorityHeaderBlockRewriter"/>: frames pass to Kestrel unchanged, except header blocks whose
/// <c>:authority</c> carries a URL (grpc-go's <c>http://127.0.0.1:2379</c> for clientv3 3.4's raw endpoints), which reach
/// Kestrel as one HEADERS frame with the scheme removed.
/// <para>
/// Zero copy for everything else: a read hands out a prefix of the inner reader's buffer, up to the first header block
/// not yet seen whole (held back until its HEADERS and CONTINUATION frames are all in) or needing a rewrite. A rewritten
/// block is handed out on its own read from a pooled buffer: one HEADERS frame with END_HEADERS, END_STREAM and
/// PRIORITY (and its 5 octets) kept, PADDED and padding dropped, and the frame length fixed. Blocks whose fragments
/// exceed the maximum frame size are passed as they are (their CONTINUATION frames follow as ordinary frames), and a block
/// of more than <see cref="MaxContinuationFrames"/> CONTINUATION frames switches the connection to pass-through, so what
/// is held back stays bounded (about two frames) and each frame header is scanned once however the block arrives.
/// Anything malformed (a frame over the maximum size, a bad pad length, a CONTINUATION missing, invalid HPACK) switches
/// the connection to plain pass-through: Kestrel sees the original octets and answers with its own error.
/// </para>
/// Kestrel's frame reader consumes whole frames and examines what it is given, which is what this relies on to make
/// progress; positions handed back must come from the last read (as for any <see cref="PipeReader"/>). Single consumer,
/// not thread-safe, like the inner reader.
/// </summary>
internal sealed class Http2AuthorityRewritingReader : PipeReader
{
    /// <summary>SETTINGS_MAX_FRAME_SIZE's initial value and Kestrel's default (RFC 7540 §6.5.2).</summary>
    public const int DefaultMaxFrameSize = 16_384;

    /// <summary>
    /// Most CONTINUATION frames of one header block held back to be reassembled. Clients split a block only when it
    /// exceeds the frame size (its fragments are capped at one frame here anyway), so a legitimate block needs a few; a
    /// longer run (a flood of empty CONTINUATION frames, which Kestrel itself refuses) switches the connection to
    /// pass-through. Bounds what is held back to one HEADERS frame plus this many CONTINUATION frames whose fragments
    /// add up to at most one frame: about 2 × (9 + max frame size) + 9 × this octets.
    /// </summary>
    public const int MaxContinuationFrames = 32;

    private const int PrefaceLength = 24;
    private const int FrameHeaderLength = 9;
    private const int PriorityLength = 5;
    private const byte HeadersType = 0x1;
    private const byte ContinuationType = 0x9;
    private const byte EndStreamFlag = 0x1;
    private const byte EndHeadersFlag = 0x4;
    private const byte PaddedFlag = 0x8;
    private const byte PriorityFlag = 0x20;

    private readonly PipeReader _inner;
    private readonly int _maxFrameSize;

    // Offsets count octets from the first octet of the preface.
    private long _bufferStart;   // the inner reader's first unconsumed octet
    private long _nextFrame;     // the first frame not yet classified; every octet before it is handed out as it is
    private long _examined;      // the furthest point reported examined to the inner reader (a Pipe must not go back)
    private bool _passThrough;   // something was malformed: stop looking at frames
    private ReadOnlySequence<byte> _innerBuffer; // the inner reader's buffer at the current read
    private ReadOnlySequence<byte> _handedOut;   // what the current read returned
    private Handout _handout;

    private byte[]? _substitute; // a rewritten HEADERS frame that replaces the block at _nextFrame (== _bufferStart when handed out)
    private int _substituteLength;
    private int _substituteOffset;
    private long _substitutedLength;

    private PendingBlock _pendingBlock; // how far the incomplete header block at _nextFrame has been scanned

    /// <summary>
    /// CONTINUATION frame headers looked at while scanning held-back header blocks, over the connection: each is looked at once
    /// (a block arriving in many reads is not rescanned), so this stays proportional to the frames received.
    /// </summary>
    internal long FrameHeadersScanned { get; private set; }

    /// <summary>
    /// Wraps <paramref name="inner"/>, positioned at the connection preface (nothing of it consumed).
    /// <paramref name="maxFrameSize"/> is the server's SETTINGS_MAX_FRAME_SIZE in octets.
    /// </summary>
    public Http2AuthorityRewritingReader(PipeReader inner, int maxFrameSize = DefaultMaxFrameSize)
    {
        _inner = inner;
        _maxFrameSize = maxFrameSize;
        _nextFrame = PrefaceLength;
    }

    private enum Handout
    {
        None,
        InnerPrefix,
        Substitute,
    }

    /// <inheritdoc />
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var pending = _inner.ReadAsync(cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            if (TryHandOut(pending.Result, out var handedOut))
                return new ValueTask<ReadResult>(handedOut);
            pending = _inner.ReadAsync(cancellationToken);
        }

        return ReadSlowAsync(pending, cancellationToken);
    }

    /// <inheritdoc />
    public override bool TryRead(out ReadResult result)
    {
        if (_inner.TryRead(out var innerResult) && TryHandOut(innerResult, out result))
            return true;
        result = default;
        return false;
    }

    /// <inheritdoc />
    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    /// <inheritdoc />
    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var handout = _handout;
        _handout = Handout.None;
        switch (handout)
        {
            case Handout.InnerPrefix:
            {
                var consumedTo = _bufferStart + OffsetIn(_innerBuffer, consumed);
                // All of it examined while an incomplete header block is held back: wait for more octets.
                var waitsForMore = examined.Equals(_handedOut.End) && _handedOut.Length < _innerBuffer.Length && _substitute is null;
                var examinedTo = _bufferStart + (waitsForMore ? _innerBuffer.Length : OffsetIn(_innerBuffer, examined));
                AdvanceInner(consumedTo, examinedTo);
                break;
            }
            case Handout.Substitute:
            {
                _substituteOffset += (int)OffsetIn(_handedOut, consumed);
                if (_substituteOffset == _substituteLength)
                {
                    var blockEnd = _bufferStart + _substitutedLength;
                    ReturnSubstitute();
                    _nextFrame = blockEnd;
                    AdvanceInner(blockEnd, blockEnd);
                }
                else
                {
                    var waitsForMore = examined.Equals(_handedOut.End);
                    AdvanceInner(_bufferStart, _bufferStart + (waitsForMore ? _innerBuffer.Length : 0));
                }

                break;
            }
            default:
                throw new InvalidOperationException("AdvanceTo called without a preceding read.");
        }

        _innerBuffer = default;
        _handedOut = default;
    }

    /// <inheritdoc />
    public override void CancelPendingRead() => _inner.CancelPendingRead();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null)
    {
        ReturnSubstitute();
        _inner.Complete(exception);
    }

    private async ValueTask<ReadResult> ReadSlowAsync(ValueTask<ReadResult> pending, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await pending.ConfigureAwait(false);
            if (TryHandOut(result, out var handedOut))
                return handedOut;
            pending = _inner.ReadAsync(cancellationToken);
        }
    }

    /// <summary>Turns an inner read into this reader's result; false (inner reader advanced) when nothing can be handed out yet.</summary>
    private bool TryHandOut(ReadResult result, out ReadResult handedOut)
    {
        var buffer = result.Buffer;
        _innerBuffer = buffer;
        if (_substitute is null && !_passThrough)
            Classify(buffer);

        if (_substitute is not null && _bufferStart == _nextFrame && !result.IsCanceled)
        {
            _handedOut = new ReadOnlySequence<byte>(_substitute, _substituteOffset, _substituteLength - _substituteOffset);
            _handout = Handout.Substitute;
            handedOut = new ReadResult(_handedOut, isCanceled: false, isCompleted: false);
            return true;
        }

        var approved = _passThrough ? buffer.Length : Math.Min(buffer.Length, _nextFrame - _bufferStart);
        if (approved < buffer.Length && result.IsCompleted && _substitute is null)
            approved = buffer.Length; // the connection ended inside a header block: hand over what there is
        var holdsBack = approved < buffer.Length;
        if (approved == 0 && holdsBack && !result.IsCanceled)
        {
            // Only the start of a header block so far.
            AdvanceInner(_bufferStart, _bufferStart + buffer.Length);
            handedOut = default;
            return false;
        }

        _handedOut = holdsBack ? buffer.Slice(0, approved) : buffer;
        _handout = Handout.InnerPrefix;
        handedOut = new ReadResult(_handedOut, result.IsCanceled, result.IsCompleted && !holdsBack);
        return true;
    }

    /// <summary>Moves <see cref="_nextFrame"/> over the frames in <paramref name="buffer"/> that pass as they are.</summary>
    private void Classify(in ReadOnlySequence<byte> buffer)
    {
        var offset = _nextFrame - _bufferStart;
        if (offset >= buffer.Length)
            return;
        // Frames are walked in the current segment's span; sequences are sliced only where a frame crosses segments.
        var reader = new SequenceReader<byte>(buffer.Slice(offset));
        Span<byte> copiedHeader = stackalloc byte[FrameHeaderLength];
        while (reader.Remaining >= FrameHeaderLength)
        {
            var unread = reader.UnreadSpan;
            scoped ReadOnlySpan<byte> header;
            if (unread.Length >= FrameHeaderLength)
            {
                header = unread[..FrameHeaderLength];
            }
            else
            {
                reader.TryCopyTo(copiedHeader);
                header = copiedHeader;
            }

            long passed = FrameHeaderLength + FramePayloadLength(header);
            if (header[3] == HeadersType)
            {
                passed = unread.Length >= passed && (header[4] & EndHeadersFlag) != 0 && passed <= FrameHeaderLength + _maxFrameSize
                    ? ClassifyHeadersFrame(unread[..(int)passed], reader.UnreadSequence)
                    : ClassifyHeaderBlock(reader.UnreadSequence, header);
                if (passed == 0)
                    return;
            }

            _nextFrame += passed;
            if (reader.Remaining <= passed)
                return;
            reader.Advance(passed);
        }
    }

    /// <summary>
    /// The common case of <see cref="ClassifyHeaderBlock"/>: a whole HEADERS frame with END_HEADERS in one span, scanned
    /// in place; the sequence path takes over for anything to rewrite or malformed.
    /// </summary>
    private long ClassifyHeadersFrame(ReadOnlySpan<byte> frame, in ReadOnlySequence<byte> rest)
    {
        var flags = frame[4];
        var fragmentStart = FrameHeaderLength;
        var fragmentEnd = frame.Length;
        if ((flags & PaddedFlag) != 0)
        {
            fragmentEnd -= frame.Length > FrameHeaderLength ? frame[FrameHeaderLength] : fragmentEnd;
            fragmentStart++;
        }

        if ((flags & PriorityFlag) != 0)
            fragmentStart += PriorityLength;
        return fragmentEnd >= fragmentStart && AuthorityHeaderBlockRewriter.Scan(frame[fragmentStart..fragmentEnd]) == HeaderBlockRewrite.Unchanged
            ? frame.Length
            : ClassifyHeaderBlock(rest, frame[..FrameHeaderLength]); // to rewrite, or malformed
    }

    /// <summary>
    /// Looks at the header block starting at the HEADERS frame at the start of <paramref name="rest"/>: returns how many
    /// octets pass as they are, or 0 when it must wait for more octets, has set up a substitute, or switched to pass-through.
    /// </summary>
    private long ClassifyHeaderBlock(in ReadOnlySequence<byte> rest, ReadOnlySpan<byte> header)
    {
        var length = FramePayloadLength(header);
        var flags = header[4];
        if (length > _maxFrameSize)
            return StopRewriting(); // Kestrel: FRAME_SIZE_ERROR
        if (rest.Length < FrameHeaderLength + length)
            return 0;

        var headersFrame = rest.Slice(0, FrameHeaderLength + length);
        var fragmentStart = FrameHeaderLength;
        var fragmentEnd = FrameHeaderLength + length;
        if ((flags & PaddedFlag) != 0)
        {
            if (length < 1)
                return StopRewriting();
            fragmentEnd -= ReadOctet(headersFrame, FrameHeaderLength);
            fragmentStart++;
        }

        var priorityStart = fragmentStart;
        if ((flags & PriorityFlag) != 0)
            fragmentStart += PriorityLength;
        if (fragmentEnd < fragmentStart)
            return StopRewriting(); // Kestrel: PROTOCOL_ERROR

        // Find the rest of the block: CONTINUATION frames of the same stream up to END_HEADERS (RFC 7540 §6.10). A block
        // that arrives over many reads is scanned once: each read resumes after the last complete CONTINUATION frame.
        long blockLength = headersFrame.Length;
        var fragmentsLength = fragmentEnd - fragmentStart;
        var continuationCount = 0;
        var pending = _pendingBlock;
        _pendingBlock = default;
        if ((flags & EndHeadersFlag) == 0)
        {
            if (pending.Start == _nextFrame && pending.Length > 0)
                (blockLength, fragmentsLength, continuationCount) = (pending.Length, pending.Fragments, pending.Continuations);
            Span<byte> continuation = stackalloc byte[FrameHeaderLength];
            var cursor = rest.Slice(blockLength);
            while (true)
            {
                if (cursor.Length < FrameHeaderLength)
                    return WaitForMore(blockLength, fragmentsLength, continuationCount);
                ReadFrameHeader(cursor, continuation);
                FrameHeadersScanned++;
                var continuationLength = FramePayloadLength(continuation);
                if (continuation[3] != ContinuationType || !continuation[5..].SequenceEqual(header[5..]) || continuationLength > _maxFrameSize)
                    return StopRewriting();
                if (continuationCount == MaxContinuationFrames)
                    return StopRewriting(); // a flood of (empty) CONTINUATION frames: hold nothing back, Kestrel applies its own limits
                if (fragmentsLength + continuationLength > _maxFrameSize)
                    return headersFrame.Length; // too large to reassemble: the CONTINUATION frames follow as they are
                if (cursor.Length < FrameHeaderLength + continuationLength)
                    return WaitForMore(blockLength, fragmentsLength, continuationCount);
                fragmentsLength += continuationLength;
                blockLength += FrameHeaderLength + continuationLength;
                continuationCount++;
                if ((continuation[4] & EndHeadersFlag) != 0)
                    break;
                cursor = cursor.Slice(FrameHeaderLength + continuationLength);
            }
        }

        byte[]? reassembled = null;
        byte[]? substitute = null;
        try
        {
            ReadOnlySpan<byte> block;
            if (continuationCount == 0 && headersFrame.IsSingleSegment)
            {
                block = headersFrame.FirstSpan[fragmentStart..fragmentEnd];
            }
            else
            {
                reassembled = ArrayPool<byte>.Shared.Rent(fragmentsLength);
                Reassemble(rest.Slice(0, blockLength), headersFrame.Slice(fragmentStart, fragmentEnd - fragmentStart), reassembled);
                block = reassembled.AsSpan(0, fragmentsLength);
            }

            var outcome = AuthorityHeaderBlockRewriter.Scan(block);
            if (outcome == HeaderBlockRewrite.Unparsable)
                return StopRewriting(); // Kestrel: COMPRESSION_ERROR
            if (outcome == HeaderBlockRewrite.Unchanged)
                return blockLength;

            var prefixLength = (flags & PriorityFlag) != 0 ? PriorityLength : 0;
            substitute = ArrayPool<byte>.Shared.Rent(FrameHeaderLength + _maxFrameSize);
            outcome = AuthorityHeaderBlockRewriter.Rewrite(block, substitute.AsSpan(FrameHeaderLength + prefixLength, _maxFrameSize - prefixLength), out var written);
            if (outcome == HeaderBlockRewrite.Unparsable)
                return StopRewriting();
            if (outcome == HeaderBlockRewrite.Unchanged)
                return blockLength; // the rewritten block would not fit one frame

            var payloadLength = prefixLength + written;
            substitute[0] = (byte)(payloadLength >> 16);
            substitute[1] = (byte)(payloadLength >> 8);
            substitute[2] = (byte)payloadLength;
            substitute[3] = HeadersType;
            substitute[4] = (byte)((flags & (EndStreamFlag | PriorityFlag)) | EndHeadersFlag);
            header[5..].CopyTo(substitute.AsSpan(5));
            if (prefixLength > 0)
                headersFrame.Slice(priorityStart, PriorityLength).CopyTo(substitute.AsSpan(FrameHeaderLength));

            _substitute = substitute;
            _substituteLength = FrameHeaderLength + payloadLength;
            _substituteOffset = 0;
            _substitutedLength = blockLength;
            substitute = null;
            return 0;
        }
        finally
        {
            if (substitute is not null)
                ArrayPool<byte>.Shared.Return(substitute);
            if (reassembled is not null)
                ArrayPool<byte>.Shared.Return(reassembled);
        }
    }

    /// <summary>Copies the HEADERS fragment, then each CONTINUATION payload of <paramref name="frames"/>, into <paramref name="destination"/>.</summary>
    private static void Reassemble(in ReadOnlySequence<byte> frames, in ReadOnlySequence<byte> headersFragment, byte[] destination)
    {
        headersFragment.CopyTo(destination);
        var written = (int)headersFragment.Length;
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        ReadFrameHeader(frames, header);
        var cursor = frames.Slice(FrameHeaderLength + FramePayloadLength(header));
        while (cursor.Length > 0)
        {
            ReadFrameHeader(cursor, header);
            var length = FramePayloadLength(header);
            cursor.Slice(FrameHeaderLength, length).CopyTo(destination.AsSpan(written));
            written += length;
            cursor = cursor.Slice(FrameHeaderLength + length);
        }
    }

    /// <summary>Remembers how far the held-back block at <see cref="_nextFrame"/> is scanned; returns 0 (wait for more octets).</summary>
    private long WaitForMore(long blockLength, int fragmentsLength, int continuationCount)
    {
        _pendingBlock = new PendingBlock(_nextFrame, blockLength, fragmentsLength, continuationCount);
        return 0;
    }

    private long StopRewriting()
    {
        _passThrough = true;
        return 0;
    }

    private void AdvanceInner(long consumedTo, long examinedTo)
    {
        examinedTo = Math.Max(examinedTo, Math.Max(_examined, consumedTo));
        _inner.AdvanceTo(_innerBuffer.GetPosition(consumedTo - _bufferStart), _innerBuffer.GetPosition(examinedTo - _bufferStart));
        _bufferStart = consumedTo;
        _examined = examinedTo;
    }

    private void ReturnSubstitute()
    {
        if (_substitute is { } substitute)
        {
            _substitute = null;
            ArrayPool<byte>.Shared.Return(substitute);
        }
    }

    /// <summary>An incomplete header block: where it starts, its complete frames' octets, fragment octets and CONTINUATION count.</summary>
    private readonly record struct PendingBlock(long Start, long Length, int Fragments, int Continuations);

    private static void ReadFrameHeader(in ReadOnlySequence<byte> frames, Span<byte> header)
    {
        var first = frames.FirstSpan;
        if (first.Length >= FrameHeaderLength)
            first[..FrameHeaderLength].CopyTo(header);
        else
            frames.Slice(0, FrameHeaderLength).CopyTo(header);
    }

    private static long OffsetIn(in ReadOnlySequence<byte> buffer, SequencePosition position) =>
        buffer.GetOffset(position) - buffer.GetOffset(buffer.Start);

    private static int FramePayloadLength(ReadOnlySpan<byte> header) => (header[0] << 16) | (header[1] << 8) | header[2];

    private static byte ReadOctet(in ReadOnlySequence<byte> frames, int offset)
    {
        var first = frames.FirstSpan;
        return offset < first.Length ? first[offset] : frames.Slice(offset, 1).FirstSpan[0];
    }
}
