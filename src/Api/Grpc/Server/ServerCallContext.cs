using Microsoft.AspNetCore.Http;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// What a handler knows about its call. Valid only until the handler's task completes; safe to read from any thread.
/// </summary>
public sealed class ServerCallContext
{
    private readonly HttpContext _httpContext;

    internal ServerCallContext(HttpContext httpContext, string method, DateTime deadline, CancellationToken cancellationToken)
    {
        _httpContext = httpContext;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method path, e.g. <c>/etcdserverpb.KV/Range</c>.</summary>
    public string Method { get; }

    /// <summary>When the call must finish (UTC), from the <c>grpc-timeout</c> header; <see cref="DateTime.MaxValue"/> without one.</summary>
    public DateTime Deadline { get; }

    /// <summary>Fires when the client cancels (RST_STREAM, disconnect) or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The request headers (gRPC metadata such as <c>token</c> or <c>hasleader</c>; names are lower-case).</summary>
    public IHeaderDictionary RequestHeaders => _httpContext.Request.Headers;

    /// <summary>The client's address as <c>ip:port</c> (empty when unknown, e.g. on a unix socket).</summary>
    public string Peer
    {
        get
        {
            var connection = _httpContext.Connection;
            return connection.RemoteIpAddress is { } ip ? $"{ip}:{connection.RemotePort}" : string.Empty;
        }
    }

    /// <summary>The first value of a metadata key (e.g. <c>token</c>), or null when absent.</summary>
    public string? GetRequestHeader(string name)
    {
        var values = _httpContext.Request.Headers[name];
        return values.Count == 0 ? null : values[0];
    }
}
