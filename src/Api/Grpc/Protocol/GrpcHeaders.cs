namespace Akka.Etcd.Api.Grpc;

/// <summary>Header names and values of the gRPC HTTP/2 mapping (grpc/doc/PROTOCOL-HTTP2.md).</summary>
public static class GrpcHeaders
{
    /// <summary>The content type every gRPC request and response carries.</summary>
    public const string ContentType = "application/grpc";
    /// <summary>Status code trailer (decimal <see cref="Akka.Etcd.Protos.Errors.RpcStatusCode"/>).</summary>
    public const string Status = "grpc-status";
    /// <summary>Status message trailer, percent-encoded (see <see cref="GrpcStatusMessage"/>).</summary>
    public const string Message = "grpc-message";
    /// <summary>Message compression of the request (only "identity" is supported here).</summary>
    public const string Encoding = "grpc-encoding";
    /// <summary>Compressions the sender accepts; we advertise "identity" only.</summary>
    public const string AcceptEncoding = "grpc-accept-encoding";

    /// <summary>
    /// True for <c>application/grpc</c> and its sub-types such as <c>application/grpc+proto</c>
    /// (case-insensitive, parameters after ';' allowed).
    /// </summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
            return false;
        if (contentType.Length == ContentType.Length)
            return true;
        var next = contentType[ContentType.Length];
        return next is '+' or ';';
    }
}
