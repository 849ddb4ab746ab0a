using System.Net;
using Akka.Etcd.Api.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// The client-facing listener: a Kestrel server whose cleartext endpoints serve gRPC (h2c with prior knowledge, as
/// etcdctl and clientv3 speak it) and HTTP/1.1 routes (/health, /version, /metrics, the JSON gateway) on the same port.
/// HTTP/2 requests with a gRPC content type go to the <see cref="GrpcServerDispatcher"/>; all others to routing.
/// Lifecycle: construct, <see cref="StartAsync"/> once, <see cref="DisposeAsync"/> once; members are not meant to be
/// called concurrently with each other.
/// </summary>
public sealed class ClientHost : IAsyncDisposable
{
    /// <summary>
    /// How long an HTTP/2 connection with no open stream stays up: a year, i.e. "never", as etcd's client port (grpc-go
    /// closes idle connections only with MaxConnectionIdle, which etcd does not set). Not <see cref="TimeSpan.MaxValue"/>:
    /// Kestrel adds the timeout to a monotonic timestamp, the sum overflows, and every connection whose preface is still
    /// unread at the next 1 s heartbeat is then closed with GOAWAY(NO_ERROR) ("the connection is draining" in grpc-go).
    /// </summary>
    internal static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromDays(365);

    private readonly ClientHostOptions _options;
    private readonly GrpcServiceRegistry _registry;
    private readonly Action<IEndpointRouteBuilder>? _mapRoutes;
    private readonly ILoggerFactory _loggerFactory;
    private WebApplication? _app;
    private IReadOnlyList<string> _boundUrls = [];

    /// <summary>Creates the host; nothing listens until <see cref="StartAsync"/>.</summary>
    /// <param name="options">Listen URLs and limits.</param>
    /// <param name="registry">The gRPC methods served (complete before start).</param>
    /// <param name="mapRoutes">Maps the HTTP/1.1 routes, e.g. <c>routes.MapGet("/health", ...)</c>; may be null.</param>
    /// <param name="loggerFactory">Where Kestrel and the dispatcher log.</param>
    public ClientHost(ClientHostOptions options, GrpcServiceRegistry registry, Action<IEndpointRouteBuilder>? mapRoutes,
        ILoggerFactory loggerFactory)
    {
        _options = options;
        _registry = registry;
        _mapRoutes = mapRoutes;
        _loggerFactory = loggerFactory;
    }

    /// <summary>
    /// The URLs actually bound, in the form given (<c>http://127.0.0.1:34567</c> when port 0 was asked for,
    /// <c>unix://path</c> for sockets). Empty before <see cref="StartAsync"/>.
    /// </summary>
    public IReadOnlyList<string> BoundUrls => _boundUrls;

    /// <summary>
    /// Binds every listen URL and starts serving. Throws <see cref="ArgumentException"/> for an unsupported URL
    /// (https is not supported yet, hosts must be IP literals or localhost) and <see cref="IOException"/> when a port is taken.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
            throw new InvalidOperationException("The client host has already been started.");

        var listenUrls = _options.ListenUrls.Select(ParseListenUrl).ToArray();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(new KestrelLogFilter(_loggerFactory)));
        builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, UnmanagedHostLifetime>());
        builder.WebHost.SuppressStatusMessages(true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // h2c connections carry a TLS feature (see Http2PrefaceDetection): take the scheme from :scheme.
            kestrel.AllowAlternateSchemes = true;
            var limits = kestrel.Limits;
            limits.MaxRequestBodySize = null;
            limits.MinRequestBodyDataRate = null;
            limits.MinResponseDataRate = null;
            limits.KeepAliveTimeout = IdleConnectionTimeout;
            limits.Http2.MaxStreamsPerConnection = _options.MaxStreamsPerConnection;
            limits.Http2.InitialConnectionWindowSize = _options.InitialConnectionWindowSize;
            limits.Http2.InitialStreamWindowSize = _options.InitialStreamWindowSize;
            limits.Http2.KeepAlivePingDelay = _options.KeepAlivePingDelay;
            limits.Http2.KeepAlivePingTimeout = _options.KeepAlivePingTimeout;
            var prefaceTimeout = _options.PrefaceTimeout;
            var maxFrameSize = limits.Http2.MaxFrameSize;
            foreach (var url in listenUrls)
            {
                Action<ListenOptions> configure = listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.Use(next => connection => Http2PrefaceDetection.OnConnectionAsync(connection, next, prefaceTimeout, maxFrameSize));
                };
                if (url.UnixSocketPath is { } socketPath)
                    kestrel.ListenUnixSocket(socketPath, configure);
                else
                    kestrel.Listen(url.Endpoint!, configure);
            }
        });

        var app = builder.Build();
        var dispatcher = new GrpcServerDispatcher(_registry, _options.Grpc, _loggerFactory.CreateLogger(typeof(GrpcServerDispatcher).FullName!));
        app.Use((context, next) =>
            HttpProtocol.IsHttp2(context.Request.Protocol) && GrpcHeaders.IsGrpcContentType(context.Request.ContentType)
                ? dispatcher.DispatchAsync(context)
                : next(context));
        app.UseRouting();
        _mapRoutes?.Invoke(app);

        _app = app;
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        _boundUrls = addresses.Select(ToListenUrlForm).ToArray();
    }

    /// <summary>Stops listening, lets in-flight requests finish briefly, and releases the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await app.StopAsync(stopTimeout.Token).ConfigureAwait(false);
            }
            finally
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static ListenUrl ParseListenUrl(string url)
    {
        const string unixScheme = "unix://";
        if (url.StartsWith(unixScheme, StringComparison.OrdinalIgnoreCase))
            return new ListenUrl(null, url[unixScheme.Length..]);

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            throw new ArgumentException($"Invalid listen URL \"{url}\".", nameof(url));
        if (uri.Scheme != Uri.UriSchemeHttp)
            throw new ArgumentException($"Listen URL \"{url}\": only http:// and unix:// are supported.", nameof(url));

        IPAddress address;
        if (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(uri.Host, out address!))
            throw new ArgumentException($"Listen URL \"{url}\": the host must be an IP address.", nameof(url));
        return new ListenUrl(new IPEndPoint(address, uri.Port), null);
    }

    private static string ToListenUrlForm(string kestrelAddress)
    {
        const string unixPrefix = "http://unix:";
        return kestrelAddress.StartsWith(unixPrefix, StringComparison.OrdinalIgnoreCase)
            ? "unix://" + kestrelAddress[unixPrefix.Length..]
            : kestrelAddress;
    }

    private readonly record struct ListenUrl(IPEndPoint? Endpoint, string? UnixSocketPath);

    /// <summary>The process owner (the node) decides when to stop: no console Ctrl+C/SIGTERM hooks from this host.</summary>
    private sealed class UnmanagedHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
