using System.Net;
using Akka.Etcd.Benchmark.Cli;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;

namespace Akka.Etcd.Benchmark.Connections;

/// <summary>The generated gRPC clients one benchmark worker calls, all on one channel (one HTTP/2 connection).</summary>
/// <param name="Kv">etcdserverpb.KV.</param>
/// <param name="Watch">etcdserverpb.Watch.</param>
/// <param name="Lease">etcdserverpb.Lease.</param>
internal sealed record EtcdClient(KV.KVClient Kv, Watch.WatchClient Watch, Lease.LeaseClient Lease);

/// <summary>
/// <c>--conns</c> HTTP/2 connections and <c>--clients</c> gRPC clients spread over them round-robin, as etcd's
/// benchmark does with grpc ClientConns: connection i dials endpoint i % endpoints, client j uses connection
/// j % conns. Each connection is a Grpc.Net.Client channel over its own <see cref="SocketsHttpHandler"/> with multiple
/// HTTP/2 connections disabled, so it is exactly one TCP connection carrying all its clients' streams. No message size
/// limits on either side (as clientv3's defaults for receiving). Thread-safe after construction.
/// </summary>
internal sealed class ConnectionPool : IDisposable
{
    private readonly GrpcChannel[] _connections;
    private readonly EtcdClient[] _clients;

    /// <summary>Creates the connections (lazily dialled; call <see cref="WarmUpAsync"/> before timing).</summary>
    public ConnectionPool(GlobalSettings settings)
    {
        _connections = new GrpcChannel[settings.Conns];
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
            _connections[i] = GrpcChannel.ForAddress(settings.Endpoints[i % settings.Endpoints.Count], new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
                MaxReceiveMessageSize = null,
                MaxSendMessageSize = null,
            });
        }

        _clients = new EtcdClient[settings.Clients];
        for (var j = 0; j < _clients.Length; j++)
        {
            var channel = _connections[j % _connections.Length];
            _clients[j] = new EtcdClient(new KV.KVClient(channel), new Watch.WatchClient(channel), new Lease.LeaseClient(channel));
        }
    }

    /// <summary>Number of clients (workers).</summary>
    public int ClientCount => _clients.Length;

    /// <summary>Client <paramref name="index"/> modulo the client count.</summary>
    public EtcdClient Client(int index) => _clients[index % _clients.Length];

    /// <summary>
    /// Dials every connection and warms the call path with one serializable count-only Range each (so connection
    /// set-up and JIT are not in the measured latencies). Throws the first failure (an RpcException UNAVAILABLE when no server).
    /// </summary>
    public Task WarmUpAsync(CancellationToken cancellationToken)
    {
        var probe = new RangeRequest { Key = ByteString.CopyFromUtf8("\0"), Serializable = true, CountOnly = true };
        var calls = new List<Task>();
        for (var conn = 0; conn < _connections.Length; conn++)
            calls.Add(_clients[conn].Kv.RangeAsync(probe, cancellationToken: cancellationToken).ResponseAsync);
        return Task.WhenAll(calls);
    }

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        foreach (var connection in _connections)
            connection.Dispose();
    }
}
