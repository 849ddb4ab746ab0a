using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// One server-side call: its request reader, its serialized response writes and its completion (status sent once,
/// as trailers, or trailers-only when no message was written). Writes and completion take the same lock, so
/// handler tasks and the deadline timer may race safely.
/// </summary>
internal sealed class GrpcServerCall
{
    private readonly HttpContext _httpContext;
    private readonly GrpcServerOptions _options;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _messageWritten;
    private bool _completed;

    public GrpcServerCall(HttpContext httpContext, GrpcServerOptions options, ServerCallContext context)
    {
        _httpContext = httpContext;
        _options = options;
        Context = context;
        Reader = new GrpcMessageReader(httpContext.Request.BodyReader, options.MaxReceiveMessageBytes,
            httpContext.Request.Headers[GrpcHeaders.Encoding]);
    }

    public ServerCallContext Context { get; }

    public GrpcMessageReader Reader { get; }

    /// <summary>Frames one message into the response body; flushes when <paramref name="flush"/>.</summary>
    public async Task WriteMessageAsync(IMessage message, bool flush, CancellationToken cancellationToken)
    {
        var size = message.CalculateSize();
        if (size > _options.MaxSendMessageBytes)
            throw new EtcdException(RpcStatusCode.ResourceExhausted,
                $"grpc: trying to send message larger than max ({size} vs. {_options.MaxSendMessageBytes})");

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_completed)
                throw new InvalidOperationException("The gRPC call has already completed; no more messages can be written.");
            var body = _httpContext.Response.BodyWriter;
            GrpcFrame.WriteMessage(body, message, size);
            _messageWritten = true;
            if (flush)
                await body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends the status and ends the response (END_STREAM). Only the first completion counts; later ones return false.
    /// </summary>
    public async Task<bool> CompleteAsync(RpcStatusCode code, string? message)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed)
                return false;
            _completed = true;
            var response = _httpContext.Response;
            var status = StatusText(code);
            var encodedMessage = string.IsNullOrEmpty(message) ? null : GrpcStatusMessage.Encode(message);
            if (!_messageWritten && !response.HasStarted)
            {
                // Trailers-only: the status rides in the only HEADERS frame.
                response.Headers[GrpcHeaders.Status] = status;
                if (encodedMessage is not null)
                    response.Headers[GrpcHeaders.Message] = encodedMessage;
            }
            else
            {
                response.AppendTrailer(GrpcHeaders.Status, status);
                if (encodedMessage is not null)
                    response.AppendTrailer(GrpcHeaders.Message, encodedMessage);
            }

            if (!_httpContext.RequestAborted.IsCancellationRequested)
                await response.CompleteAsync().ConfigureAwait(false);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static string StatusText(RpcStatusCode code) => code switch
    {
        RpcStatusCode.OK => "0",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>The server side of <see cref="IServerStreamWriter{T}"/>: frames and flushes each message under the call's lock.</summary>
internal sealed class ServerStreamWriter<T> : IServerStreamWriter<T> where T : IMessage<T>
{
    private readonly GrpcServerCall _call;

    public ServerStreamWriter(GrpcServerCall call) => _call = call;

    public Task WriteAsync(T message, CancellationToken cancellationToken = default) =>
        _call.WriteMessageAsync(message, flush: true, cancellationToken);

    public Task WriteAsync(T message, bool flush, CancellationToken cancellationToken = default) =>
        _call.WriteMessageAsync(message, flush, cancellationToken);
}

/// <summary>The server side of <see cref="IAsyncStreamReader{T}"/> over the request body.</summary>
internal sealed class ServerStreamReader<T> : IAsyncStreamReader<T> where T : class, IMessage<T>
{
    private readonly GrpcServerCall _call;
    private readonly MessageParser<T> _parser;
    private T? _current;

    public ServerStreamReader(GrpcServerCall call, MessageParser<T> parser)
    {
        _call = call;
        _parser = parser;
    }

    public T Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        _current = await _call.Reader.ReadAsync(_parser, cancellationToken).ConfigureAwait(false);
        return _current is not null;
    }
}
