using System.Net.Sockets;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Akka.Etcd.Api.Gateway;

/// <summary>
/// The gateway's gRPC connection to its own member, as etcd's grpc-gateway dials the member's client listener
/// (embed/serve.go registerGateway): every JSON call becomes a real gRPC call through the same services, interceptors
/// (errors, metrics, and auth once it exists) and limits as any client's. Opened at the first gateway request, to the
/// first address the client listener bound (a wildcard host becomes loopback; <c>unix://</c> sockets are dialled as
/// such). For an <c>https</c> listener the member's own certificate is trusted without verification, as etcd's gateway
/// does (<c>InsecureSkipVerify</c>); a listener that demands client certificates needs <see cref="ConfigureHandler"/>.
/// Thread-safe; disposed with the host.
/// </summary>
public sealed class GatewayChannel(IServer server) : IDisposable
{
    private readonly Lazy<GrpcChannel> _channel = new(() => Open(server), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Lets the client-TLS setup give the gateway's handler a client certificate (etcd dials with the member's own);
    /// called once, before the first call.
    /// </summary>
    public static Action<SocketsHttpHandler>? ConfigureHandler { get; set; }

    /// <summary>The call invoker over the member's client listener.</summary>
    public global::Grpc.Core.CallInvoker Invoker => _channel.Value.CreateCallInvoker();

    /// <summary>The address dialled, e.g. <c>http://127.0.0.1:2379</c>.</summary>
    public Uri Target => Address(server).Uri;

    private static GrpcChannel Open(IServer server)
    {
        var (uri, socketPath) = Address(server);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (socketPath is not null)
        {
            handler.ConnectCallback = async (_, cancel) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancel).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            };
        }
        if (uri.Scheme == Uri.UriSchemeHttps)
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        ConfigureHandler?.Invoke(handler);
        return GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            DisposeHttpClient = true,
        });
    }

    private static (Uri Uri, string? SocketPath) Address(IServer server)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("the client listener has no addresses yet");
        var first = addresses.FirstOrDefault() ?? throw new InvalidOperationException("the client listener has no addresses yet");
        if (first.StartsWith("http://unix:", StringComparison.Ordinal) || first.StartsWith("https://unix:", StringComparison.Ordinal))
        {
            var secure = first.StartsWith("https", StringComparison.Ordinal);
            var path = first[(first.IndexOf("unix:", StringComparison.Ordinal) + 5)..];
            return (new Uri(secure ? "https://localhost" : "http://localhost"), path);
        }
        var uri = new Uri(first.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://[::]:", "://[::1]:", StringComparison.Ordinal)
            .Replace("://+:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://*:", "://127.0.0.1:", StringComparison.Ordinal));
        return (uri, null);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_channel.IsValueCreated)
            _channel.Value.Dispose();
    }
}
