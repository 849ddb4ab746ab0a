using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// The client side of one call: sends the request, then reads response messages and finally the status
/// (trailers, or the headers of a trailers-only response). Maps failures to <see cref="EtcdException"/>:
/// the server's status, DEADLINE_EXCEEDED when the deadline passes, UNAVAILABLE for transport errors; the caller's
/// own cancellation surfaces as <see cref="OperationCanceledException"/>. Reads are not thread-safe.
/// </summary>
internal sealed class GrpcClientCall : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _callerToken;
    private readonly int _maxReceiveMessageBytes;
    private readonly Task<HttpResponseMessage> _responseTask;
    private HttpResponseMessage? _response;
    private PipeReader? _body;
    private GrpcMessageReader? _reader;
    private bool _finished;
    private int _disposed;

    public GrpcClientCall(HttpClient http, HttpRequestMessage request, DateTime? deadline, int maxReceiveMessageBytes,
        CancellationToken cancellationToken)
    {
        _callerToken = cancellationToken;
        _maxReceiveMessageBytes = maxReceiveMessageBytes;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (deadline is { } d)
        {
            var remaining = d.ToUniversalTime() - DateTime.UtcNow;
            request.Headers.TryAddWithoutValidation(GrpcTimeout.HeaderName, GrpcTimeout.Format(remaining));
            _cts.CancelAfter(ClampTimeout(remaining));
        }

        _responseTask = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _cts.Token);
    }

    /// <summary>Fires on caller cancellation, deadline, or <see cref="Dispose"/>.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>
    /// The next response message, or null once the stream ended with status OK. Throws <see cref="EtcdException"/>
    /// for any other status.
    /// </summary>
    public async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser) where T : class, IMessage<T>
    {
        if (_finished)
            return null;
        try
        {
            if (_reader is null)
            {
                var response = _response = await _responseTask.ConfigureAwait(false);
                if (CheckResponseHeaders(response))
                {
                    _finished = true;
                    return null;
                }

                var stream = await response.Content.ReadAsStreamAsync(Token).ConfigureAwait(false);
                _body = PipeReader.Create(stream);
                response.Headers.TryGetValues(GrpcHeaders.Encoding, out var encodings);
                _reader = new GrpcMessageReader(_body, _maxReceiveMessageBytes, encodings?.FirstOrDefault());
            }

            var message = await _reader.ReadAsync(parser, Token).ConfigureAwait(false);
            if (message is not null)
                return message;

            _finished = true;
            ThrowIfNotOk(_response!.TrailingHeaders, "trailers");
            return null;
        }
        catch (Exception e) when (e is not EtcdException)
        {
            throw MapFailure(e);
        }
    }

    /// <summary>Converts a transport or cancellation failure of this call into what the caller should see.</summary>
    public Exception MapFailure(Exception e)
    {
        if (e is EtcdException)
            return e;
        if (_callerToken.IsCancellationRequested)
            return new OperationCanceledException("The gRPC call was cancelled.", e, _callerToken);
        if (_cts.IsCancellationRequested && Volatile.Read(ref _disposed) == 0)
            return new EtcdException(RpcStatusCode.DeadlineExceeded, "context deadline exceeded", e);
        if (e is OperationCanceledException or ObjectDisposedException)
            return new EtcdException(RpcStatusCode.Cancelled, "context canceled", e);
        return new EtcdException(RpcStatusCode.Unavailable, e.Message, e);
    }

    /// <summary>Cancels the call if still running (RST_STREAM) and releases the response.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _cts.Cancel();
        _body?.Complete();
        _response?.Dispose();
        if (!_responseTask.IsCompleted)
            _responseTask.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        else if (_responseTask.IsCompletedSuccessfully && _response is null)
            _responseTask.Result.Dispose();
        _cts.Dispose();
    }

    /// <summary>Validates the response headers; true when they carry a trailers-only OK status (no messages).</summary>
    private static bool CheckResponseHeaders(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var code = response.StatusCode switch
            {
                HttpStatusCode.BadRequest => RpcStatusCode.Internal,
                HttpStatusCode.Unauthorized => RpcStatusCode.Unauthenticated,
                HttpStatusCode.Forbidden => RpcStatusCode.PermissionDenied,
                HttpStatusCode.NotFound => RpcStatusCode.Unimplemented,
                HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable
                    or HttpStatusCode.GatewayTimeout => RpcStatusCode.Unavailable,
                _ => RpcStatusCode.Unknown,
            };
            throw new EtcdException(code,
                $"unexpected HTTP status code received from server: {(int)response.StatusCode} ({response.ReasonPhrase})");
        }

        if (response.Headers.Contains(GrpcHeaders.Status))
        {
            ThrowIfNotOk(response.Headers, "headers");
            return true;
        }

        var contentType = response.Content.Headers.ContentType?.MediaType;
        if (!GrpcHeaders.IsGrpcContentType(contentType))
            throw new EtcdException(RpcStatusCode.Internal, $"transport: received unexpected content-type \"{contentType}\"");
        return false;
    }

    private static void ThrowIfNotOk(System.Net.Http.Headers.HttpHeaders headers, string where)
    {
        if (!headers.TryGetValues(GrpcHeaders.Status, out var statuses))
            throw new EtcdException(RpcStatusCode.Internal, $"server closed the stream without a grpc-status in its {where}");
        var statusText = statuses.FirstOrDefault();
        if (!int.TryParse(statusText, NumberStyles.None, CultureInfo.InvariantCulture, out var status))
            throw new EtcdException(RpcStatusCode.Internal, $"transport: malformed grpc-status: {statusText}");
        if (status == 0)
            return;
        var message = headers.TryGetValues(GrpcHeaders.Message, out var messages)
            ? GrpcStatusMessage.Decode(messages.FirstOrDefault() ?? string.Empty)
            : string.Empty;
        throw new EtcdException((RpcStatusCode)status, message);
    }

    private static TimeSpan ClampTimeout(TimeSpan timeout)
    {
        var max = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);
        return timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout > max ? max : timeout;
    }
}
