namespace Akka.Etcd.Protos.Errors;

/// <summary>
/// An error that reaches the client as a gRPC status: <see cref="Code"/> goes into the
/// <c>grpc-status</c> trailer and <see cref="Exception.Message"/> into <c>grpc-message</c>.
/// etcd clients map errors back by their exact message text, so use the instances in
/// <see cref="EtcdErrors"/> (etcd's etcdserver/api/v3rpc/rpctypes/error.go) wherever one fits.
/// </summary>
public sealed class EtcdException : Exception
{
    /// <summary>Creates an error with a gRPC status code and the message sent to the client.</summary>
    public EtcdException(RpcStatusCode code, string message) : base(message) => Code = code;

    /// <summary>Creates an error that wraps a cause; the cause is logged, never sent.</summary>
    public EtcdException(RpcStatusCode code, string message, Exception inner) : base(message, inner) => Code = code;

    /// <summary>The gRPC status code sent to the client.</summary>
    public RpcStatusCode Code { get; }

    /// <summary>A fresh exception with the same code and message (exceptions are not shared when thrown).</summary>
    public EtcdException Clone() => new(Code, Message);
}
