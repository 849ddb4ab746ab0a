using Google.Protobuf;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// The table of gRPC methods served, keyed by full path <c>/&lt;package&gt;.&lt;Service&gt;/&lt;Method&gt;</c>
/// (e.g. <c>/etcdserverpb.KV/Range</c>). Register everything before the host starts: registration is not
/// thread-safe, lookups (after registration) are.
/// </summary>
public sealed class GrpcServiceRegistry
{
    private readonly Dictionary<string, GrpcMethod> _methods = new(StringComparer.Ordinal);
    private readonly HashSet<string> _services = new(StringComparer.Ordinal);

    /// <summary>Registers a unary method (one request, one response). Throws <see cref="ArgumentException"/> for a bad or duplicate path.</summary>
    public GrpcServiceRegistry AddUnary<TReq, TResp>(string path, MessageParser<TReq> parser,
        Func<TReq, ServerCallContext, ValueTask<TResp>> handler)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
        => Add(path, new UnaryMethod<TReq, TResp>(parser, handler));

    /// <summary>Registers a server-streaming method (one request, a stream of responses, e.g. Maintenance.Snapshot).</summary>
    public GrpcServiceRegistry AddServerStreaming<TReq, TResp>(string path, MessageParser<TReq> parser,
        Func<TReq, IServerStreamWriter<TResp>, ServerCallContext, Task> handler)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
        => Add(path, new ServerStreamingMethod<TReq, TResp>(parser, handler));

    /// <summary>Registers a bidirectional-streaming method (e.g. Watch.Watch, Lease.LeaseKeepAlive).</summary>
    public GrpcServiceRegistry AddDuplexStreaming<TReq, TResp>(string path, MessageParser<TReq> parser,
        Func<IAsyncStreamReader<TReq>, IServerStreamWriter<TResp>, ServerCallContext, Task> handler)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
        => Add(path, new DuplexStreamingMethod<TReq, TResp>(parser, handler));

    /// <summary>True when a method is registered at <paramref name="path"/>.</summary>
    public bool Contains(string path) => _methods.ContainsKey(path);

    internal bool TryGetMethod(string path, out GrpcMethod method) => _methods.TryGetValue(path, out method!);

    internal bool ContainsService(string service) => _services.Contains(service);

    private GrpcServiceRegistry Add(string path, GrpcMethod method)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!TrySplitPath(path, out var service, out _))
            throw new ArgumentException($"gRPC method path must look like /package.Service/Method, got \"{path}\".", nameof(path));
        if (!_methods.TryAdd(path, method))
            throw new ArgumentException($"A gRPC method is already registered at \"{path}\".", nameof(path));
        _services.Add(service);
        return this;
    }

    /// <summary>Splits <c>/svc/method</c> into its parts; false when the path is not of that shape.</summary>
    internal static bool TrySplitPath(string path, out string service, out string method)
    {
        service = method = string.Empty;
        if (path.Length < 4 || path[0] != '/')
            return false;
        var slash = path.IndexOf('/', 1);
        if (slash <= 1 || slash == path.Length - 1 || path.IndexOf('/', slash + 1) >= 0)
            return false;
        service = path[1..slash];
        method = path[(slash + 1)..];
        return true;
    }
}
