using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Akka.Etcd.Api.Gateway;

/// <summary>
/// The gateway's gRPC connection to its own member, as etcd's grpc-gateway dials the member's client listener
/// (embed/serve.go registerGateway): every JSON call becomes a real gRPC call through the same services, interceptors
/// (errors, metrics, and auth once it exists) and limits as any client's. Opened at the first gateway request, to the
/// first address the client listener bound (a wildcard host becomes loopback; <c>unix://</c> sockets are dialled as
/// such). For an <c>https</c> listener the member's own certificate is trusted without verification and presented as
/// the client certificate, as etcd's gateway dials with the listener's TLS config (<c>InsecureSkipVerify</c>, the
/// server's certificate as its own): a listener under <c>--client-cert-auth</c> accepts it when it is signed by the
/// trusted CA and allows client authentication (extended key usage clientAuth), as etcd requires too.
/// Thread-safe; disposed with the host.
/// </summary>
/// <param name="server">The host's Kestrel server, whose first bound address is dialled.</param>
/// <param name="listener">The listener's settings registered by <see cref="Hosting.EtcdWebHost.AddEtcdListener"/>
/// (their TLS certificate); null on a host without one.</param>
public sealed class GatewayChannel(IServer server, Hosting.EtcdListenerOptions? listener = null) : IDisposable
{
    private readonly Lazy<GrpcChannel> _channel = new(() => Open(server, listener?.Tls), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The call invoker over the member's client listener.</summary>
    public global::Grpc.Core.CallInvoker Invoker => _channel.Value.CreateCallInvoker();

    /// <summary>The address dialled, e.g. <c>http://127.0.0.1:2379</c>.</summary>
    public Uri Target => Address(server).Uri;

    private static GrpcChannel Open(IServer server, Hosting.Tls.LoadedTls? tls)
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
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            if (tls is not null)
                handler.SslOptions.ClientCertificates = new X509CertificateCollection { tls.Certificate };
        }
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
