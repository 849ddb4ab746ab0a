using System.Collections.Concurrent;
using System.Net;
using Akka.Etcd.Actors.Transport;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Api.Peer;

/// <summary>
/// The <see cref="IRaftTransport"/> over our gRPC layer (see <see cref="PeerProtocol"/> for the wire contract). Outgoing:
/// one <see cref="RemotePeer"/> per peer with a bounded queue, a reconnecting message stream and snapshot sends. Incoming:
/// the member hosts a <see cref="PeerService"/> for this transport on its peer listener (<see cref="EtcdPeerApi"/>, bound to
/// <c>--listen-peer-urls</c>). Thread-safe; see <see cref="IRaftTransport"/> for the threading rules.
/// </summary>
/// <remarks>
/// Stop the transport before disposing the peer listener: that ends the incoming streams, which would otherwise hold the
/// listener's graceful shutdown.
/// </remarks>
public sealed class PeerTransport : IRaftTransport
{
    private readonly ConcurrentDictionary<ulong, RemotePeer> _peers = new();
    private readonly List<Task> _retiring = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _ownsHttpClient;
    private readonly object _lifecycle = new();
    private int _state; // 0 created, 1 running, 2 stopped

    /// <summary>Creates a stopped transport; call <see cref="Start"/>.</summary>
    /// <param name="options">IDs, queue and snapshot settings; validated here (throws <see cref="ArgumentException"/>).</param>
    /// <param name="logger">Where connection changes and drops are logged.</param>
    /// <param name="httpClient">An HTTP/2 client to share (not disposed here); null creates one with keep-alive pings.</param>
    public PeerTransport(RaftTransportOptions options, ILogger logger, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Logger = logger;
        _ownsHttpClient = httpClient is null;
        HttpClient = httpClient ?? CreateHttpClient(options);
    }

    /// <inheritdoc />
    public ulong LocalId => Options.LocalId;

    /// <inheritdoc />
    public event Action<Message>? Received;

    /// <inheritdoc />
    public event Action<ulong>? Unreachable;

    /// <inheritdoc />
    public event Action<ulong, bool>? SnapshotStatus;

    /// <inheritdoc />
    public event Action<ulong>? RemovedFromCluster;

    /// <summary>
    /// The outgoing stream to the peer with this ID connected (true) or went down (false); raised on transport threads.
    /// Not raised for peers removed or at stop.
    /// </summary>
    public event Action<ulong, bool>? ActiveChanged;

    /// <inheritdoc />
    public Func<Message, Stream>? OpenSnapshot { get; set; }

    /// <inheritdoc />
    public Func<Message, string, Task>? SnapshotReceived { get; set; }

    /// <inheritdoc />
    public Func<ulong, bool>? IsMemberRemoved { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<ulong> ActivePeers => _peers.Values.Where(p => p.ActiveSince is not null).Select(p => p.Id).ToArray();

    internal RaftTransportOptions Options { get; }

    internal ILogger Logger { get; }

    internal HttpClient HttpClient { get; }

    /// <summary>Fires when the transport stops.</summary>
    internal CancellationToken StopToken => _stop.Token;

    /// <summary>True between <see cref="Start"/> and <see cref="StopAsync"/>.</summary>
    internal bool IsRunning => Volatile.Read(ref _state) == 1;

    /// <inheritdoc />
    public void Start()
    {
        lock (_lifecycle)
        {
            if (_state != 0)
                return;
            _state = 1;
            foreach (var peer in _peers.Values)
                peer.Start();
        }
    }

    /// <inheritdoc />
    public async Task StopAsync()
    {
        RemotePeer[] peers;
        Task[] retiring;
        lock (_lifecycle)
        {
            if (_state == 2)
                return;
            _state = 2;
            peers = _peers.Values.ToArray();
            _peers.Clear();
            retiring = _retiring.ToArray();
            _retiring.Clear();
        }

        _stop.Cancel();
        await Task.WhenAll(peers.Select(p => p.StopAsync()).Concat(retiring)).ConfigureAwait(false);
        if (_ownsHttpClient)
            HttpClient.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(StopAsync());

    /// <inheritdoc />
    public void Send(IReadOnlyList<Message> messages)
    {
        if (messages is null || Volatile.Read(ref _state) == 2)
            return;
        foreach (var message in messages)
        {
            if (message is null || message.To == 0 || !_peers.TryGetValue(message.To, out var peer))
                continue;
            peer.Send(message);
        }
    }

    /// <inheritdoc />
    public void AddPeer(ulong id, IReadOnlyList<string> peerUrls)
    {
        var urls = ParseUrls(peerUrls);
        lock (_lifecycle)
        {
            if (_state == 2 || id == 0 || id == LocalId || _peers.ContainsKey(id))
                return;
            var peer = new RemotePeer(this, id, urls);
            _peers[id] = peer;
            if (_state == 1)
                peer.Start();
        }
    }

    /// <inheritdoc />
    public void RemovePeer(ulong id)
    {
        lock (_lifecycle)
        {
            if (!_peers.TryRemove(id, out var peer))
                return;
            _retiring.RemoveAll(t => t.IsCompleted);
            _retiring.Add(peer.StopAsync());
        }
    }

    /// <inheritdoc />
    public void UpdatePeer(ulong id, IReadOnlyList<string> peerUrls)
    {
        var urls = ParseUrls(peerUrls);
        if (_peers.TryGetValue(id, out var peer))
            peer.UpdateUrls(urls);
    }

    /// <inheritdoc />
    public bool HasPeer(ulong id) => _peers.ContainsKey(id);

    /// <inheritdoc />
    public bool IsActive(ulong id) => ActiveSince(id) is not null;

    /// <inheritdoc />
    public DateTime? ActiveSince(ulong id) => _peers.TryGetValue(id, out var peer) ? peer.ActiveSince : null;

    /// <summary>The metadata every request to <paramref name="to"/> carries.</summary>
    internal Dictionary<string, string> RequestHeaders(ulong to) => new(StringComparer.Ordinal)
    {
        [PeerProtocol.ClusterIdHeader] = PeerProtocol.FormatId(Options.ClusterId),
        [PeerProtocol.FromHeader] = PeerProtocol.FormatId(LocalId),
        [PeerProtocol.ToHeader] = PeerProtocol.FormatId(to),
    };

    internal void OnReceived(Message message) => Received?.Invoke(message);

    internal void OnUnreachable(ulong id)
    {
        if (!_stop.IsCancellationRequested)
            Unreachable?.Invoke(id);
    }

    internal void OnActiveChanged(ulong id, bool active)
    {
        Akka.Etcd.Actors.Metrics.PeerMetrics.Connection(LocalId, id, active);
        if (!_stop.IsCancellationRequested)
            ActiveChanged?.Invoke(id, active);
    }

    internal void OnSnapshotStatus(ulong id, bool succeeded) => SnapshotStatus?.Invoke(id, succeeded);

    internal void OnRemovedFromCluster(ulong id) => RemovedFromCluster?.Invoke(id);

    private static Uri[] ParseUrls(IReadOnlyList<string> peerUrls)
    {
        ArgumentNullException.ThrowIfNull(peerUrls);
        if (peerUrls.Count == 0)
            throw new ArgumentException("A peer needs at least one URL.", nameof(peerUrls));
        return peerUrls.Select(url =>
            Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp
                ? uri
                : throw new ArgumentException($"Invalid peer URL \"{url}\": expected http://host:port.", nameof(peerUrls))).ToArray();
    }

    private static HttpClient CreateHttpClient(RaftTransportOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            InitialHttp2StreamWindowSize = 4 * 1024 * 1024,
            ConnectTimeout = options.DialTimeout,
            KeepAlivePingDelay = options.KeepAliveInterval,
            KeepAlivePingTimeout = options.KeepAliveInterval,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }
}
