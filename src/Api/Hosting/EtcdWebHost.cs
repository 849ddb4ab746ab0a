using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Akka.Etcd.Api.Hosting.Tls;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// Building blocks of a member's ASP.NET Core hosts. A member runs two: the peer listener (<c>--listen-peer-urls</c>,
/// started before the member waits for a leader) and the client listener (<c>--listen-client-urls</c>, started once it
/// is ready). Each is an ordinary <see cref="WebApplicationBuilder"/>: <see cref="CreateBuilder"/> (or any builder the
/// caller owns), <see cref="AddEtcdListener"/> for Kestrel, then the API's <c>AddEtcd…Api</c>/<c>MapEtcd…Api</c>
/// extensions (Akka.Etcd.Api.Services.EtcdClientApi, Akka.Etcd.Api.Peer.EtcdPeerApi); other registrations (an actor
/// system through Akka.Hosting, say) compose on the same builder.
/// </summary>
public static class EtcdWebHost
{
    /// <summary>
    /// How long an HTTP/2 connection with no open stream stays up: a year, i.e. "never", as etcd's client port (grpc-go
    /// closes idle connections only with MaxConnectionIdle, which etcd does not set). Not <see cref="TimeSpan.MaxValue"/>:
    /// Kestrel adds the timeout to a monotonic timestamp, the sum overflows, and every connection whose preface is still
    /// unread at the next 1 s heartbeat is then closed with GOAWAY(NO_ERROR) ("the connection is draining" in grpc-go).
    /// </summary>
    internal static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromDays(365);

    /// <summary>
    /// A slim <see cref="WebApplicationBuilder"/> for a member's listener: logs go to <paramref name="loggers"/> (the
    /// node's JSON logs; the factory stays the caller's, it is not disposed with the host) without Kestrel's false
    /// "HTTP/2 is not enabled" start-up warning, no start-up status lines on the console, and no console lifetime: the
    /// process owner decides when to stop (SIGINT/SIGTERM are the node's), by <c>StopAsync</c> on the built app.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        // No reload of appsettings*.json on change: that reload watches the content root (the working directory)
        // recursively, and the default data dir (default.etcd) lies under it, so every WAL and backend write would wake
        // a file watcher thread. The member reads its settings from flags, ETCD_* env, YAML and HOCON, once.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(new KestrelLogFilter(loggers)));
        builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, UnmanagedHostLifetime>());
        builder.WebHost.SuppressStatusMessages(true);
        return builder;
    }

    /// <summary>
    /// Makes Kestrel listen on every URL of <paramref name="options"/> as etcd's listeners do: one cleartext port for
    /// h2c with prior knowledge (what etcdctl and clientv3 speak) and HTTP/1.1, through the connection middleware of
    /// <see cref="Http2PrefaceDetection"/> (which also takes a URL out of grpc-go's <c>:authority</c>); no request body
    /// size or data-rate limits (watch streams live for hours); no server header. Throws <see cref="ArgumentException"/>
    /// for an unsupported URL (hosts must be IP literals or localhost) and for an <c>https://</c> or <c>unixs://</c> URL
    /// without <see cref="EtcdListenerOptions.Tls"/>; a taken port fails when the app starts (<see cref="IOException"/>).
    /// TLS URLs serve the same protocols, ALPN choosing between h2 and http/1.1 (see <see cref="HttpsOptions"/>).
    /// </summary>
    public static WebApplicationBuilder AddEtcdListener(this WebApplicationBuilder builder, EtcdListenerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var listenUrls = options.ListenUrls.Select(ParseListenUrl).ToArray();
        foreach (var url in listenUrls.Where(url => url.Secure && options.Tls is null))
            throw new ArgumentException(
                $"TLS key/cert (--cert-file, --key-file) must be provided for client url {url.Text} with HTTPS scheme");
        // The gateway dials this listener and, under client certificate auth, presents the listener's own certificate.
        builder.Services.AddSingleton(options);
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
            limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            limits.Http2.InitialConnectionWindowSize = options.InitialConnectionWindowSize;
            limits.Http2.InitialStreamWindowSize = options.InitialStreamWindowSize;
            limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            var prefaceTimeout = options.PrefaceTimeout;
            var maxFrameSize = limits.Http2.MaxFrameSize;
            foreach (var url in listenUrls)
            {
                Action<ListenOptions> configure = listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    if (url.Secure)
                        listen.UseHttps(HttpsOptions(options.Tls!));
                    // After TLS: the detection then sees (and keeps) what ALPN chose.
                    listen.Use(next => connection => Http2PrefaceDetection.OnConnectionAsync(connection, next, prefaceTimeout, maxFrameSize));
                };
                if (url.UnixSocketPath is { } socketPath)
                    kestrel.ListenUnixSocket(socketPath, configure);
                else
                    kestrel.Listen(url.Endpoint!, configure);
            }
        });
        return builder;
    }

    /// <summary>
    /// The URLs a started app is bound to, in the form they were given (<c>http://127.0.0.1:34567</c> when port 0 was
    /// asked for, <c>unix://path</c> for sockets). Empty before the app has started.
    /// </summary>
    public static IReadOnlyList<string> GetBoundUrls(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.Select(ToListenUrlForm).ToArray();
    }

    /// <summary>
    /// Kestrel's TLS settings for a listener: the certificate and its chain, TLS 1.2 and 1.3, ALPN h2 and http/1.1
    /// (Kestrel's own, from Http1AndHttp2), the client certificate required and verified as etcd's
    /// RequireAndVerifyClientCert when <see cref="LoadedTls.RequireClientCertificate"/> (a client without one, or with
    /// one the trusted CA did not sign or the CRL lists, fails the handshake), and the cipher suites.
    /// </summary>
    internal static HttpsConnectionAdapterOptions HttpsOptions(LoadedTls tls)
    {
        var policy = tls.CipherSuitesPolicy();
        return new HttpsConnectionAdapterOptions
        {
            ServerCertificate = tls.Certificate,
            ServerCertificateChain = tls.Intermediates,
            SslProtocols = LoadedTls.Protocols,
            CheckCertificateRevocation = false,
            ClientCertificateMode = tls.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
            ClientCertificateValidation = (certificate, chain, _) => tls.ValidateClientCertificate(certificate, chain),
            OnAuthenticate = (_, ssl) =>
            {
                if (policy is not null && !OperatingSystem.IsWindows())
                    ssl.CipherSuitesPolicy = policy;
            },
        };
    }

    private static ListenUrl ParseListenUrl(string url)
    {
        const string unixScheme = "unix://";
        const string unixsScheme = "unixs://";
        if (url.StartsWith(unixScheme, StringComparison.OrdinalIgnoreCase))
            return new ListenUrl(null, url[unixScheme.Length..], false, url);
        if (url.StartsWith(unixsScheme, StringComparison.OrdinalIgnoreCase))
            return new ListenUrl(null, url[unixsScheme.Length..], true, url);

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            throw new ArgumentException($"Invalid listen URL \"{url}\".", nameof(url));
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Listen URL \"{url}\": only http://, https://, unix:// and unixs:// are supported.", nameof(url));

        IPAddress address;
        if (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(uri.Host, out address!))
            throw new ArgumentException($"Listen URL \"{url}\": the host must be an IP address.", nameof(url));
        return new ListenUrl(new IPEndPoint(address, uri.Port), null, uri.Scheme == Uri.UriSchemeHttps, url);
    }

    private static string ToListenUrlForm(string kestrelAddress)
    {
        const string unixPrefix = "http://unix:";
        return kestrelAddress.StartsWith(unixPrefix, StringComparison.OrdinalIgnoreCase)
            ? "unix://" + kestrelAddress[unixPrefix.Length..]
            : kestrelAddress;
    }

    private readonly record struct ListenUrl(IPEndPoint? Endpoint, string? UnixSocketPath, bool Secure, string Text);

    /// <summary>The process owner (the node) decides when to stop: no console Ctrl+C/SIGTERM hooks from this host.</summary>
    private sealed class UnmanagedHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
