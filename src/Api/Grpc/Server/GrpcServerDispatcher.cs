using Akka.Etcd.Protos.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// Serves gRPC requests (HTTP/2, content type <c>application/grpc</c>) from a <see cref="GrpcServiceRegistry"/> as an
/// ASP.NET Core request delegate: one handler call per request on the request's own task. Maps the outcome to the
/// <c>grpc-status</c>/<c>grpc-message</c> trailers: OK on success, an <see cref="EtcdException"/>'s code and text,
/// DEADLINE_EXCEEDED "context deadline exceeded" when the <c>grpc-timeout</c> passes, UNKNOWN with the message (and a
/// log entry) for any other exception, UNIMPLEMENTED for unknown paths. Thread-safe; one instance serves all requests.
/// </summary>
public sealed class GrpcServerDispatcher
{
    private readonly GrpcServiceRegistry _registry;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a dispatcher; the registry must not change after requests start.</summary>
    public GrpcServerDispatcher(GrpcServiceRegistry registry, GrpcServerOptions options, ILogger logger)
    {
        _registry = registry;
        _options = options;
        _logger = logger;
    }

    /// <summary>Handles one gRPC request; completes when the response (with its trailers) has been handed to the server.</summary>
    public async Task DispatchAsync(HttpContext httpContext)
    {
        var request = httpContext.Request;
        var response = httpContext.Response;
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Upgrade = "h2c";
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcHeaders.ContentType;
        // Streams such as Watch live for hours and idle for minutes: no body size cap, no minimum data rate.
        if (httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
            bodySize.MaxRequestBodySize = null;
        if (httpContext.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } minRate)
            minRate.MinDataRate = null;

        var path = request.Path.Value ?? string.Empty;
        if (!_registry.TryGetMethod(path, out var method))
        {
            WriteTrailersOnly(response, RpcStatusCode.Unimplemented, UnknownMethodMessage(path));
            return;
        }

        var deadline = DateTime.MaxValue;
        var token = httpContext.RequestAborted;
        CancellationTokenSource? deadlineCts = null;
        CancellationTokenSource? linkedCts = null;
        var timeoutHeader = request.Headers[GrpcTimeout.HeaderName];
        if (timeoutHeader.Count > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader[0], out var timeout))
            {
                WriteTrailersOnly(response, RpcStatusCode.Internal, $"transport: malformed grpc-timeout: {timeoutHeader[0]}");
                return;
            }

            var now = DateTime.UtcNow;
            deadline = timeout >= DateTime.MaxValue - now ? DateTime.MaxValue : now + timeout;
            deadlineCts = new CancellationTokenSource();
            linkedCts = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, deadlineCts.Token);
            token = linkedCts.Token;
        }

        var call = new GrpcServerCall(httpContext, _options, new ServerCallContext(httpContext, path, deadline, token));
        DeadlineExpiry? deadlineExpiry = null;
        CancellationTokenRegistration deadlineRegistration = default;
        if (deadlineCts is not null)
        {
            deadlineExpiry = new DeadlineExpiry(call);
            // Registered after the linked source, so it runs first: the status is settled before the handler sees the cancel.
            deadlineRegistration = deadlineCts.Token.UnsafeRegister(static s => ((DeadlineExpiry)s!).Expire(), deadlineExpiry);
            deadlineCts.CancelAfter(ClampTimeout(deadline - DateTime.UtcNow));
        }

        var code = RpcStatusCode.OK;
        string? message = null;
        try
        {
            await method.InvokeAsync(call).ConfigureAwait(false);
        }
        catch (EtcdException e)
        {
            code = e.Code;
            message = e.Message;
        }
        catch (Exception) when (deadlineCts is { IsCancellationRequested: true })
        {
            code = RpcStatusCode.DeadlineExceeded;
            message = "context deadline exceeded";
        }
        catch (Exception) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            code = RpcStatusCode.Cancelled;
            message = "context canceled";
        }
        catch (Exception e)
        {
            _logger.LogError(e, "gRPC handler {Method} failed", path);
            code = RpcStatusCode.Unknown;
            message = e.Message;
        }
        finally
        {
            await deadlineRegistration.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await call.CompleteAsync(code, message).ConfigureAwait(false);
            if (deadlineExpiry?.Completion is { } expired)
                await expired.ConfigureAwait(false);
        }
        catch (Exception e) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            _logger.LogDebug(e, "gRPC call {Method} ended after the client went away", path);
        }
        finally
        {
            linkedCts?.Dispose();
            deadlineCts?.Dispose();
        }
    }

    private string UnknownMethodMessage(string path)
    {
        if (!GrpcServiceRegistry.TrySplitPath(path, out var service, out var method))
            return $"malformed method name: \"{path}\"";
        return _registry.ContainsService(service)
            ? $"unknown method {method} for service {service}"
            : $"unknown service {service}";
    }

    private static void WriteTrailersOnly(HttpResponse response, RpcStatusCode code, string message)
    {
        response.Headers[GrpcHeaders.Status] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers[GrpcHeaders.Message] = GrpcStatusMessage.Encode(message);
    }

    private static TimeSpan ClampTimeout(TimeSpan timeout)
    {
        // CancelAfter accepts at most uint.MaxValue - 1 milliseconds.
        var max = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);
        return timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout > max ? max : timeout;
    }

    /// <summary>Completes the call with DEADLINE_EXCEEDED from the timer, even if the handler is still running.</summary>
    private sealed class DeadlineExpiry
    {
        private readonly GrpcServerCall _call;

        public DeadlineExpiry(GrpcServerCall call) => _call = call;

        public Task? Completion { get; private set; }

        public void Expire() => Completion = _call.CompleteAsync(RpcStatusCode.DeadlineExceeded, "context deadline exceeded");
    }
}
