using System.Buffers;
using System.Net;
using Google.Protobuf;

namespace Akka.Etcd.Api.Grpc;

/// <summary>Request body holding exactly one framed message (unary and server-streaming calls).</summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly IMessage _message;
    private readonly int _size;

    public UnaryRequestContent(IMessage message)
    {
        _message = message;
        _size = message.CalculateSize();
        Headers.TryAddWithoutValidation("Content-Type", GrpcHeaders.ContentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = GrpcFrame.RentFramed(_message, _size, out var length);
        try
        {
            await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = GrpcFrame.HeaderLength + (long)_size;
        return true;
    }
}

/// <summary>
/// Request body of a duplex call: hands the HTTP/2 request stream to the writer and stays open until the client
/// half-closes (<see cref="Complete"/>) or the call ends.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent() => Headers.TryAddWithoutValidation("Content-Type", GrpcHeaders.ContentType);

    /// <summary>The request stream, once the handler starts sending the body.</summary>
    public Task<Stream> Stream => _stream.Task;

    /// <summary>Ends the request body (END_STREAM).</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>Fails anyone waiting for the stream (the call ended before the body started).</summary>
    public void Abort(Exception error) => _stream.TrySetException(error);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // HttpClient sends the request HEADERS frame only on the first write or flush of the body: flush now, so a
        // duplex call whose client waits for the server before writing anything is not held back.
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        _stream.TrySetResult(stream);
        await _completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
