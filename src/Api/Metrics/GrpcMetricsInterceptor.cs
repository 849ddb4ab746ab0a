using System.Diagnostics;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Akka.Etcd.Api.Metrics;

/// <summary>
/// go-grpc-prometheus's server metrics for every client call (<c>grpc_server_started_total</c>,
/// <c>grpc_server_handled_total</c> by status code name, <c>grpc_server_msg_received_total</c>,
/// <c>grpc_server_msg_sent_total</c>, <c>grpc_server_handling_seconds</c>), etcd's
/// <c>etcd_network_client_grpc_received_bytes_total</c> / <c>_sent_bytes_total</c> (protobuf message sizes) and
/// <c>etcd_server_client_requests_total</c> (by "unary"/"stream" and the client's <c>client-api-version</c> metadata).
/// Runs inside <see cref="Hosting.EtcdErrorInterceptor"/>, so it maps a failure to its status code the same way: an
/// <see cref="EtcdException"/> to its code, an <see cref="RpcException"/> to its status, anything after the client went
/// away to Canceled, anything else to Unknown. Stateless.
/// </summary>
public sealed class GrpcMetricsInterceptor : Interceptor
{
    private static int _described;

    /// <summary>
    /// Creates the series of every method of etcd's client services at zero (go-grpc-prometheus's Register), once per
    /// process, so that dashboards see rates of 0 rather than no data before the first call.
    /// </summary>
    public static void DescribeEtcdMethods()
    {
        if (Interlocked.Exchange(ref _described, 1) != 0)
            return;
        var files = new[]
        {
            Etcdserverpb.RpcReflection.Descriptor, V3Lockpb.V3LockReflection.Descriptor, V3Electionpb.V3ElectionReflection.Descriptor,
            global::Grpc.Health.V1.HealthReflection.Descriptor,
        };
        foreach (var service in files.SelectMany(file => file.Services))
        {
            foreach (var method in service.Methods)
                EtcdMetrics.DescribeGrpcMethod(TypeOf(method.IsClientStreaming, method.IsServerStreaming), service.FullName, method.Name);
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call.Start(context, "unary");
        call.Received(request);
        try
        {
            var response = await continuation(request, context).ConfigureAwait(false);
            call.Sent(response);
            call.Done(StatusCode.OK);
            return response;
        }
        catch (Exception e)
        {
            call.Done(CodeOf(e, context));
            throw;
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call.Start(context, "client_stream");
        try
        {
            var response = await continuation(new CountingReader<TRequest>(requestStream, call), context).ConfigureAwait(false);
            call.Sent(response);
            call.Done(StatusCode.OK);
            return response;
        }
        catch (Exception e)
        {
            call.Done(CodeOf(e, context));
            throw;
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call.Start(context, "server_stream");
        call.Received(request);
        try
        {
            await continuation(request, new CountingWriter<TResponse>(responseStream, call), context).ConfigureAwait(false);
            call.Done(StatusCode.OK);
        }
        catch (Exception e)
        {
            call.Done(CodeOf(e, context));
            throw;
        }
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var call = Call.Start(context, "bidi_stream");
        try
        {
            await continuation(new CountingReader<TRequest>(requestStream, call), new CountingWriter<TResponse>(responseStream, call), context)
                .ConfigureAwait(false);
            call.Done(StatusCode.OK);
        }
        catch (Exception e)
        {
            call.Done(CodeOf(e, context));
            throw;
        }
    }

    private static string TypeOf(bool clientStreaming, bool serverStreaming) => (clientStreaming, serverStreaming) switch
    {
        (false, false) => "unary",
        (true, false) => "client_stream",
        (false, true) => "server_stream",
        _ => "bidi_stream",
    };

    private static StatusCode CodeOf(Exception e, ServerCallContext context) => e switch
    {
        EtcdException etcd => (StatusCode)etcd.Code,
        RpcException rpc => rpc.StatusCode,
        _ when context.CancellationToken.IsCancellationRequested => StatusCode.Cancelled,
        _ => StatusCode.Unknown,
    };

    /// <summary>One call's labels and clock.</summary>
    private sealed class Call
    {
        private readonly string _type;
        private readonly string _service;
        private readonly string _method;
        private readonly long _started = Stopwatch.GetTimestamp();

        private Call(string type, string service, string method)
        {
            _type = type;
            _service = service;
            _method = method;
        }

        public static Call Start(ServerCallContext context, string type)
        {
            var path = context.Method;
            var slash = path.LastIndexOf('/');
            var call = slash > 0 ? new Call(type, path[1..slash], path[(slash + 1)..]) : new Call(type, path, path);
            EtcdMetrics.GrpcStarted.WithLabels(type, call._service, call._method).Inc();
            var version = context.RequestHeaders.GetValue("client-api-version") ?? "unknown";
            EtcdMetrics.ClientRequests.WithLabels(type == "unary" ? "unary" : "stream", version).Inc();
            return call;
        }

        public void Received(object message)
        {
            EtcdMetrics.GrpcMessagesReceived.WithLabels(_type, _service, _method).Inc();
            if (message is IMessage protobuf)
                EtcdMetrics.ClientGrpcReceivedBytes.Inc(protobuf.CalculateSize());
        }

        public void Sent(object message)
        {
            EtcdMetrics.GrpcMessagesSent.WithLabels(_type, _service, _method).Inc();
            if (message is IMessage protobuf)
                EtcdMetrics.ClientGrpcSentBytes.Inc(protobuf.CalculateSize());
        }

        public void Done(StatusCode code)
        {
            var name = (int)code < EtcdMetrics.GrpcCodeNames.Count ? EtcdMetrics.GrpcCodeNames[(int)code] : code.ToString();
            EtcdMetrics.GrpcHandled.WithLabels(_type, _service, _method, name).Inc();
            var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            EtcdMetrics.GrpcHandlingDuration.WithLabels(_type, _service, _method).Observe(seconds);
            if (_type == "unary")
                RequestLatencyStats.Record(seconds, code != StatusCode.OK);
        }
    }

    private sealed class CountingReader<T>(IAsyncStreamReader<T> inner, Call call) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken).ConfigureAwait(false))
                return false;
            call.Received(inner.Current!);
            return true;
        }
    }

    private sealed class CountingWriter<T>(IServerStreamWriter<T> inner, Call call) : IServerStreamWriter<T>
    {
        public WriteOptions? WriteOptions
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        public Task WriteAsync(T message)
        {
            call.Sent(message!);
            return inner.WriteAsync(message);
        }

        public Task WriteAsync(T message, CancellationToken cancellationToken)
        {
            call.Sent(message!);
            return inner.WriteAsync(message, cancellationToken);
        }
    }
}
