using Akka.Etcd.Protos.Errors;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// The one place where a service's failure becomes the status its client sees, as etcd's v3rpc togRPCError does:
/// an <see cref="EtcdException"/> (etcd's rpctypes errors, see <see cref="EtcdErrors"/>) becomes its code and exact text;
/// the generated bases' UNIMPLEMENTED for a method we do not override gets grpc-go's "unknown method M for service S";
/// any failure after the client went away or the deadline passed becomes CANCELLED "context canceled"; any other
/// exception is logged and sent as UNKNOWN with its message (what a Go error returned from a handler looks like).
/// <see cref="RpcException"/>s pass unchanged. Installed by <see cref="EtcdGrpcEndpoints.AddEtcdGrpc"/>; stateless.
/// </summary>
public sealed class EtcdErrorInterceptor : Interceptor
{
    private readonly ILogger _logger;

    /// <summary>Creates the interceptor; unexpected exceptions are logged to <paramref name="logger"/> at error level.</summary>
    public EtcdErrorInterceptor(ILogger<EtcdErrorInterceptor> logger) => _logger = logger;

    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            throw status;
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            throw status;
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            throw status;
        }
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            throw status;
        }
    }

    /// <summary>The status to send instead of <paramref name="e"/>; null to let it pass as it is.</summary>
    private RpcException? Translate(Exception e, ServerCallContext context)
    {
        switch (e)
        {
            case EtcdException etcd:
                return new RpcException(new Status((StatusCode)etcd.Code, etcd.Message));
            case RpcException { StatusCode: StatusCode.Unimplemented, Status.Detail: "" }:
                return EtcdGrpcEndpoints.TrySplitPath(context.Method, out var service, out var method)
                    ? new RpcException(new Status(StatusCode.Unimplemented, $"unknown method {method} for service {service}"))
                    : null;
            case RpcException:
                return null;
            case not RpcException when context.CancellationToken.IsCancellationRequested:
                // The client went away (RST_STREAM, closed connection) or its deadline passed: whatever the read or
                // write under the handler threw then, nobody waits for more than the cancellation.
                return new RpcException(new Status(StatusCode.Cancelled, "context canceled"));
            default:
                _logger.LogError(e, "gRPC handler {Method} failed", context.Method);
                return new RpcException(new Status(StatusCode.Unknown, e.Message));
        }
    }
}
