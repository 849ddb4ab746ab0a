using System.Buffers;
using System.Net;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// A gRPC client over HTTP/2 cleartext (h2c with prior knowledge) for our peers, CLI and benchmark. Thread-safe: one
/// instance serves any number of concurrent calls, multiplexed over the shared <see cref="HttpClient"/>'s connections.
/// Non-OK statuses throw <see cref="EtcdException"/> with the server's code and (decoded) message; a deadline that
/// passes throws DEADLINE_EXCEEDED "context deadline exceeded"; transport failures throw UNAVAILABLE; cancelling the
/// caller's token throws <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class GrpcClient : IDisposable
{
    private readonly Uri _endpoint;
    private readonly HttpClient _http;
    private readonly bool _ownsHttpClient;

    /// <summary>Creates a client for <paramref name="endpoint"/> (e.g. <c>http://127.0.0.1:2379</c>).</summary>
    /// <param name="endpoint">Base address; method paths are appended.</param>
    /// <param name="httpClient">A shared client from <see cref="CreateHttpClient"/> (not disposed here); null creates and owns one.</param>
    /// <param name="maxReceiveMessageBytes">Largest response message accepted, in bytes (default int.MaxValue, as etcd's clientv3).</param>
    public GrpcClient(Uri endpoint, HttpClient? httpClient = null, int maxReceiveMessageBytes = int.MaxValue)
    {
        _endpoint = endpoint;
        _ownsHttpClient = httpClient is null;
        _http = httpClient ?? CreateHttpClient();
        MaxReceiveMessageBytes = maxReceiveMessageBytes;
    }

    /// <summary>Largest response message accepted, in bytes; bigger ones fail with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; }

    /// <summary>
    /// An <see cref="HttpClient"/> set up for gRPC: HTTP/2 only (h2c prior knowledge on http://), several connections
    /// when the server's stream limit is reached, 4 MiB stream receive window, no overall timeout (streams are long-lived;
    /// use deadlines). Share one per process.
    /// </summary>
    public static HttpClient CreateHttpClient(TimeSpan? connectTimeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            InitialHttp2StreamWindowSize = 4 * 1024 * 1024,
            ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>
    /// Calls a unary method (e.g. <c>/etcdserverpb.KV/Range</c>) and returns its response.
    /// <paramref name="headers"/> become gRPC metadata (e.g. <c>token</c>); <paramref name="deadline"/> (UTC or local)
    /// is sent as <c>grpc-timeout</c> and enforced locally.
    /// </summary>
    public async Task<TResp> UnaryAsync<TReq, TResp>(string path, TReq request, MessageParser<TResp> parser,
        IDictionary<string, string>? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
        where TReq : IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        using var call = StartCall(path, new UnaryRequestContent(request), headers, deadline, cancellationToken);
        var response = await call.ReadAsync(parser).ConfigureAwait(false)
            ?? throw new EtcdException(RpcStatusCode.Internal, "grpc: the server sent status OK without a response message");
        // Drain to the trailers so a non-OK status after the message is not missed.
        if (await call.ReadAsync(parser).ConfigureAwait(false) is not null)
            throw new EtcdException(RpcStatusCode.Internal, "grpc: the server sent more than one response message to a unary call");
        return response;
    }

    /// <summary>Starts a server-streaming call (e.g. <c>/etcdserverpb.Maintenance/Snapshot</c>); dispose it to cancel.</summary>
    public ServerStreamingCall<TResp> ServerStreaming<TReq, TResp>(string path, TReq request, MessageParser<TResp> parser,
        IDictionary<string, string>? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
        where TReq : IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        var call = StartCall(path, new UnaryRequestContent(request), headers, deadline, cancellationToken);
        return new ServerStreamingCall<TResp>(call, parser);
    }

    /// <summary>Starts a bidirectional-streaming call (e.g. <c>/etcdserverpb.Watch/Watch</c>); dispose it to cancel.</summary>
    public DuplexStreamingCall<TReq, TResp> DuplexStreaming<TReq, TResp>(string path, MessageParser<TResp> parser,
        IDictionary<string, string>? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
        where TReq : IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        var content = new StreamingRequestContent();
        var call = StartCall(path, content, headers, deadline, cancellationToken);
        return new DuplexStreamingCall<TReq, TResp>(call, content, parser);
    }

    /// <summary>Disposes the <see cref="HttpClient"/> if this client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttpClient)
            _http.Dispose();
    }

    private GrpcClientCall StartCall(string path, HttpContent content, IDictionary<string, string>? headers, DateTime? deadline,
        CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoint, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
                request.Headers.TryAddWithoutValidation(name, value);
        }

        return new GrpcClientCall(_http, request, deadline, MaxReceiveMessageBytes, cancellationToken);
    }
}

/// <summary>Writes the request messages of a client-side stream and half-closes it.</summary>
/// <typeparam name="T">The request message type.</typeparam>
public interface IClientStreamWriter<in T>
{
    /// <summary>
    /// Sends one message and flushes it. Safe to call from several tasks at once (writes are serialized). Throws
    /// <see cref="InvalidOperationException"/> after <see cref="CompleteAsync"/>, and <see cref="EtcdException"/>
    /// when the call has failed.
    /// </summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends <paramref name="messages"/> (in order, each its own length-prefixed gRPC message) with one write and one
    /// flush: one HTTP/2 DATA burst instead of one per message. Same threading and errors as <see cref="WriteAsync"/>.
    /// </summary>
    Task WriteBatchAsync(IReadOnlyList<T> messages, CancellationToken cancellationToken = default);

    /// <summary>Half-closes the request stream (END_STREAM); the responses keep flowing. Idempotent.</summary>
    Task CompleteAsync();
}

/// <summary>A running server-streaming call. Dispose cancels it if it has not finished (RST_STREAM).</summary>
/// <typeparam name="TResp">The response message type.</typeparam>
public sealed class ServerStreamingCall<TResp> : IDisposable where TResp : class, IMessage<TResp>
{
    private readonly GrpcClientCall _call;

    internal ServerStreamingCall(GrpcClientCall call, MessageParser<TResp> parser)
    {
        _call = call;
        ResponseStream = new ClientResponseReader<TResp>(call, parser);
    }

    /// <summary>The responses; <c>MoveNext</c> returns false after status OK and throws <see cref="EtcdException"/> otherwise.</summary>
    public IAsyncStreamReader<TResp> ResponseStream { get; }

    /// <summary>Cancels the call if still running and releases it.</summary>
    public void Dispose() => _call.Dispose();
}

/// <summary>
/// A running bidirectional-streaming call: write requests and read responses independently (one reader task, any
/// number of writer tasks). Dispose cancels it if it has not finished (RST_STREAM).
/// </summary>
/// <typeparam name="TReq">The request message type.</typeparam>
/// <typeparam name="TResp">The response message type.</typeparam>
public sealed class DuplexStreamingCall<TReq, TResp> : IDisposable
    where TReq : IMessage<TReq>
    where TResp : class, IMessage<TResp>
{
    private readonly GrpcClientCall _call;
    private readonly StreamingRequestContent _content;

    internal DuplexStreamingCall(GrpcClientCall call, StreamingRequestContent content, MessageParser<TResp> parser)
    {
        _call = call;
        _content = content;
        RequestStream = new ClientRequestWriter<TReq>(call, content);
        ResponseStream = new ClientResponseReader<TResp>(call, parser);
    }

    /// <summary>The request side.</summary>
    public IClientStreamWriter<TReq> RequestStream { get; }

    /// <summary>The responses; <c>MoveNext</c> returns false after status OK and throws <see cref="EtcdException"/> otherwise.</summary>
    public IAsyncStreamReader<TResp> ResponseStream { get; }

    /// <summary>Cancels the call if still running and releases it.</summary>
    public void Dispose()
    {
        _content.Abort(new ObjectDisposedException(nameof(DuplexStreamingCall<TReq, TResp>)));
        _call.Dispose();
        _content.Complete();
    }
}

/// <summary>Reads the response messages of a client call.</summary>
internal sealed class ClientResponseReader<T> : IAsyncStreamReader<T> where T : class, IMessage<T>
{
    private readonly GrpcClientCall _call;
    private readonly MessageParser<T> _parser;
    private T? _current;

    public ClientResponseReader(GrpcClientCall call, MessageParser<T> parser)
    {
        _call = call;
        _parser = parser;
    }

    public T Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            _current = await _call.ReadAsync(_parser).ConfigureAwait(false);
            return _current is not null;
        }

        // Cancelling one read cancels the call, as in grpc-go (a stream cannot resume mid-message).
        await using (cancellationToken.UnsafeRegister(static s => ((GrpcClientCall)s!).Dispose(), _call).ConfigureAwait(false))
        {
            try
            {
                _current = await _call.ReadAsync(_parser).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }

        return _current is not null;
    }
}

/// <summary>Writes framed request messages into the HTTP/2 request stream, one at a time.</summary>
internal sealed class ClientRequestWriter<T> : IClientStreamWriter<T> where T : IMessage<T>
{
    private readonly GrpcClientCall _call;
    private readonly StreamingRequestContent _content;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private const int MaxRetainedBatchBytes = 1 << 20;
    private ArrayBufferWriter<byte>? _batch;
    private bool _completed;

    public ClientRequestWriter(GrpcClientCall call, StreamingRequestContent content)
    {
        _call = call;
        _content = content;
    }

    public async Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        var buffer = GrpcFrame.RentFramed(message, message.CalculateSize(), out var length);
        try
        {
            await SendAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task WriteBatchAsync(IReadOnlyList<T> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count == 0)
            return;
        // Framed outside the write lock, like WriteAsync; the buffer is reused unless a burst grew it past the cap.
        var batch = Interlocked.Exchange(ref _batch, null) ?? new ArrayBufferWriter<byte>();
        batch.ResetWrittenCount();
        foreach (var message in messages)
            GrpcFrame.WriteMessage(batch, message, message.CalculateSize());
        await SendAsync(batch.WrittenMemory, cancellationToken).ConfigureAwait(false);
        if (batch.Capacity <= MaxRetainedBatchBytes)
            _batch = batch; // A burst of large MsgApps: do not keep its buffer for the life of the stream.
    }

    /// <summary>Writes already framed messages and flushes them, one writer at a time.</summary>
    private async Task SendAsync(ReadOnlyMemory<byte> frames, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_completed)
                throw new InvalidOperationException("The request stream has been completed; no more messages can be written.");
            var stream = await _content.Stream.WaitAsync(cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(frames, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            throw _call.MapFailure(e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task CompleteAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _completed = true;
            _content.Complete();
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
