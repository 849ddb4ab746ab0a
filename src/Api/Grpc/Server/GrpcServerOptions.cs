namespace Akka.Etcd.Api.Grpc;

/// <summary>Limits of the gRPC server, as grpc-go's server options that etcd sets.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>
    /// Largest request message accepted, in bytes. etcd sets it to <c>--max-request-bytes</c> + 512 KiB
    /// (etcd embed/serve.go); the default is 1.5 MiB + 512 KiB. Bigger messages get RESOURCE_EXHAUSTED.
    /// </summary>
    public int MaxReceiveMessageBytes { get; set; } = (int)(1.5 * 1024 * 1024) + 512 * 1024;

    /// <summary>Largest response message sent, in bytes (default <see cref="int.MaxValue"/>, like etcd).</summary>
    public int MaxSendMessageBytes { get; set; } = int.MaxValue;

    /// <summary>The receive limit etcd derives from <c>--max-request-bytes</c>: that value + 512 KiB, capped at int.MaxValue.</summary>
    public static int ReceiveLimitFor(long maxRequestBytes) => (int)Math.Min(int.MaxValue, maxRequestBytes + 512L * 1024);
}
