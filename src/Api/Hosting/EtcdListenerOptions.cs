namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// Settings of one etcd listener (<c>--listen-client-urls</c> or <c>--listen-peer-urls</c>): the Kestrel endpoints that
/// serve gRPC (h2c with prior knowledge) and HTTP/1.1 on each URL, and their HTTP/2 limits. Read once, by
/// <see cref="EtcdWebHost.AddEtcdListener"/>.
/// </summary>
public sealed class EtcdListenerOptions
{
    /// <summary>
    /// URLs to listen on: <c>http://IP:port</c> (port 0 picks a free port, see <see cref="EtcdWebHost.GetBoundUrls"/>),
    /// <c>http://localhost:port</c> (loopback) or <c>unix://path</c>, or the same with <c>https://</c> / <c>unixs://</c>
    /// (TLS with <see cref="Tls"/>). Default <c>http://127.0.0.1:2379</c>.
    /// </summary>
    public IList<string> ListenUrls { get; set; } = ["http://127.0.0.1:2379"];

    /// <summary>Concurrent HTTP/2 streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS); etcd leaves it unlimited.</summary>
    public int MaxStreamsPerConnection { get; set; } = int.MaxValue;

    /// <summary>HTTP/2 connection-level receive window in bytes (default 16 MiB, for throughput over many streams).</summary>
    public int InitialConnectionWindowSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>HTTP/2 per-stream receive window in bytes (default 4 MiB, above the largest request message).</summary>
    public int InitialStreamWindowSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Idle time before the server pings a connection (etcd's <c>--grpc-keepalive-interval</c>, default 2 h).</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How long a ping may go unanswered before the connection is closed (etcd's <c>--grpc-keepalive-timeout</c>, default 20 s).</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The TLS of the <c>https://</c> and <c>unixs://</c> URLs (<see cref="Tls.EtcdTlsOptions.Load"/>); null when
    /// there are none. <c>http://</c> URLs stay cleartext (etcd ignores cert files and client cert auth for them).
    /// </summary>
    public Tls.LoadedTls? Tls { get; set; }

    /// <summary>How long a new connection may take to send its first 24 bytes (HTTP/2 preface detection), default 30 s.</summary>
    public TimeSpan PrefaceTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
