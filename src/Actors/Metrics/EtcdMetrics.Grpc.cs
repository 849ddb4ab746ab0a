using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

public static partial class EtcdMetrics
{
    private static readonly string[] GrpcLabels = ["grpc_type", "grpc_service", "grpc_method"];
    private static readonly string[] GrpcCodeLabels = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];

    /// <summary>gRPC status code names as grpc-go prints them, which <c>grpc_code</c> carries (index = code).</summary>
    public static readonly IReadOnlyList<string> GrpcCodeNames =
    [
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
        "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable",
        "DataLoss", "Unauthenticated",
    ];

    /// <summary><c>grpc_server_started_total{grpc_type,grpc_service,grpc_method}</c> (counter, go-grpc-prometheus): calls started.</summary>
    public static readonly Counter GrpcStarted = Factory.CreateCounter("grpc_server_started_total",
        "Total number of RPCs started on the server.", GrpcLabels);

    /// <summary><c>grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}</c> (counter): calls completed, by status code name.</summary>
    public static readonly Counter GrpcHandled = Factory.CreateCounter("grpc_server_handled_total",
        "Total number of RPCs completed on the server, regardless of success or failure.", GrpcCodeLabels);

    /// <summary><c>grpc_server_msg_received_total{...}</c> (counter): request messages received.</summary>
    public static readonly Counter GrpcMessagesReceived = Factory.CreateCounter("grpc_server_msg_received_total",
        "Total number of RPC stream messages received on the server.", GrpcLabels);

    /// <summary><c>grpc_server_msg_sent_total{...}</c> (counter): response messages sent.</summary>
    public static readonly Counter GrpcMessagesSent = Factory.CreateCounter("grpc_server_msg_sent_total",
        "Total number of gRPC stream messages sent by the server.", GrpcLabels);

    /// <summary>
    /// <c>grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}</c> (histogram, Prometheus' default buckets
    /// 5 ms … 10 s): time from a call's start to its status, in seconds. etcd 3.4 exports it with
    /// <c>--metrics=extensive</c>; here always, since etcd's alerts (etcdGRPCRequestsSlow) query it.
    /// </summary>
    public static readonly Histogram GrpcHandlingDuration = Factory.CreateHistogram("grpc_server_handling_seconds",
        "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
        new HistogramConfiguration
        {
            LabelNames = GrpcLabels,
            Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        });

    /// <summary>
    /// Creates the series of one gRPC method at zero (started, handled for every code, messages, handling time), as
    /// go-grpc-prometheus's <c>Register</c> does for every method of the server, so that rates over them exist before
    /// the first call.
    /// </summary>
    /// <param name="type">"unary", "client_stream", "server_stream" or "bidi_stream".</param>
    /// <param name="service">Full service name, e.g. "etcdserverpb.KV".</param>
    /// <param name="method">Method name, e.g. "Range".</param>
    public static void DescribeGrpcMethod(string type, string service, string method)
    {
        GrpcStarted.WithLabels(type, service, method);
        GrpcMessagesReceived.WithLabels(type, service, method);
        GrpcMessagesSent.WithLabels(type, service, method);
        GrpcHandlingDuration.WithLabels(type, service, method);
        foreach (var code in GrpcCodeNames)
            GrpcHandled.WithLabels(type, service, method, code);
    }
}
