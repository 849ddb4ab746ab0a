namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// The message limits a listener's gRPC services enforce, as the grpc-go server options etcd sets (etcd embed/serve.go).
/// Applied per mapped service by <see cref="EtcdGrpcEndpoints.MapEtcdGrpcService{TService}"/>; the response size is not
/// limited (int.MaxValue, like etcd).
/// </summary>
public sealed class GrpcServerOptions
{
    /// <summary>
    /// Largest request message accepted, in bytes (the 5-byte gRPC prefix not counted). etcd sets it to
    /// <c>--max-request-bytes</c> + 512 KiB; the default is 1.5 MiB + 512 KiB. A bigger message is refused from its
    /// prefix, before its body is buffered, with RESOURCE_EXHAUSTED "grpc: received message larger than max (N vs. M)".
    /// </summary>
    public int MaxReceiveMessageBytes { get; set; } = (int)(1.5 * 1024 * 1024) + 512 * 1024;

    /// <summary>The receive limit etcd derives from <c>--max-request-bytes</c> (bytes): that value + 512 KiB, capped at int.MaxValue.</summary>
    public static int ReceiveLimitFor(long maxRequestBytes) => (int)Math.Min(int.MaxValue, maxRequestBytes + 512L * 1024);
}
