using System.Net;
using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Benchmark.Cli;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Benchmark.Connections;

/// <summary>
/// <c>--conns</c> HTTP/2 connections and <c>--clients</c> gRPC clients spread over them round-robin, as etcd's
/// benchmark does with grpc ClientConns: connection i dials endpoint i % endpoints, client j uses connection
/// j % conns. Each connection is its own <see cref="SocketsHttpHandler"/> with multiple HTTP/2 connections
/// disabled, so it is exactly one TCP connection carrying all its clients' streams. Thread-safe after construction.
/// </summary>
internal sealed class ConnectionPool : IDisposable
{
    private readonly HttpClient[] _connections;
    private readonly GrpcClient[] _clients;

    /// <summary>Creates the connections (lazily dialled; call <see cref="WarmUpAsync"/> before timing).</summary>
    public ConnectionPool(GlobalSettings settings)
    {
        _connections = new HttpClient[settings.Conns];
        for (var i = 0; i < _connections.Length; i++)
        {
            var handler = new SocketsHttpHandler
            {
                // One handler = one HTTP/2 connection, like one grpc-go ClientConn.
                EnableMultipleHttp2Connections = false,
                InitialHttp2StreamWindowSize = 4 * 1024 * 1024,
                ConnectTimeout = settings.DialTimeout,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                UseProxy = false,
            };
            _connections[i] = new HttpClient(handler)
            {
                DefaultRequestVersion = HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }

        _clients = new GrpcClient[settings.Clients];
        for (var j = 0; j < _clients.Length; j++)
        {
            var conn = j % _connections.Length;
            _clients[j] = new GrpcClient(settings.Endpoints[conn % settings.Endpoints.Count], _connections[conn]);
        }
    }

    /// <summary>Number of clients (workers).</summary>
    public int ClientCount => _clients.Length;

    /// <summary>Client <paramref name="index"/> modulo the client count.</summary>
    public GrpcClient Client(int index) => _clients[index % _clients.Length];

    /// <summary>
    /// Dials every connection and warms the call path with one serializable count-only Range each (so connection
    /// set-up and JIT are not in the measured latencies). Throws the first failure (e.g. UNAVAILABLE when no server).
    /// </summary>
    public Task WarmUpAsync(CancellationToken cancellationToken)
    {
        var probe = new RangeRequest { Key = ByteString.CopyFromUtf8("\0"), Serializable = true, CountOnly = true };
        var calls = new List<Task>();
        for (var conn = 0; conn < _connections.Length; conn++)
            calls.Add(_clients[conn].UnaryAsync(EtcdPaths.Range, probe, RangeResponse.Parser, cancellationToken: cancellationToken));
        return Task.WhenAll(calls);
    }

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        foreach (var client in _clients)
            client.Dispose();
        foreach (var connection in _connections)
            connection.Dispose();
    }
}
