using System.Net;
using System.Net.Sockets;
using Akka.Etcd.Api.Tests.Grpc;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Tests.Hosting;

/// <summary>
/// A client that closes its connection while a watch is open gets a clean close (FIN), as from etcd: a plain TCP proxy
/// in front of the member must not see the member reset the connection.
/// </summary>
public class CleanCloseTests
{
    /// <summary>Keeps every watch stream open until the client goes away.</summary>
    private sealed class OpenWatch : Watch.WatchBase
    {
        public override async Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream,
            ServerCallContext context)
        {
            while (await requestStream.MoveNext(context.CancellationToken))
                await responseStream.WriteAsync(new WatchResponse { Created = true }, context.CancellationToken);
        }
    }

    [Fact]
    public async Task Closing_connections_with_an_open_watch_never_resets_the_proxy_in_front()
    {
        const int cycles = 30;
        await using var host = await TestHost.StartAsync(new OpenWatch());
        await using var proxy = TcpForwarder.Start(host.Endpoint.Port);

        for (var i = 0; i < cycles; i++)
        {
            // A client of its own per cycle: one TCP connection, closed with the watch still open.
            using (var channel = TestHost.CreateChannel(new Uri($"http://127.0.0.1:{proxy.Port}"), new SocketsHttpHandler()))
            {
                var call = new Watch.WatchClient(channel).Watch();
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest() });
                Assert.True(await call.ResponseStream.MoveNext().WaitAsync(TestHost.Timeout));
                Assert.True(call.ResponseStream.Current.Created);
            }

            await proxy.WaitForClosedAsync(i + 1).WaitAsync(TestHost.Timeout);
        }

        Assert.Equal(cycles, proxy.Connections);
        Assert.Equal(0, proxy.UpstreamResets);
    }

    /// <summary>
    /// A plain TCP proxy on loopback: each accepted connection is piped to the upstream port both ways; the client's FIN
    /// (or reset) is passed on as a FIN; the upstream side is read to its end and a reset there is counted.
    /// </summary>
    private sealed class TcpForwarder : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _upstreamPort;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _pairs = [];
        private readonly Task _accepting;
        private int _connections;
        private int _closed;
        private int _upstreamResets;

        private TcpForwarder(int upstreamPort)
        {
            _upstreamPort = upstreamPort;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Connections => Volatile.Read(ref _connections);

        public int UpstreamResets => Volatile.Read(ref _upstreamResets);

        public static TcpForwarder Start(int upstreamPort) => new(upstreamPort);

        /// <summary>Completes once <paramref name="count"/> connections have ended on both sides.</summary>
        public async Task WaitForClosedAsync(int count)
        {
            while (Volatile.Read(ref _closed) < count)
                await Task.Delay(5);
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Task[] pairs;
            lock (_pairs)
                pairs = _pairs.ToArray();
            await Task.WhenAll(pairs).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                lock (_pairs)
                    _pairs.Add(ForwardAsync(client));
            }
        }

        private async Task ForwardAsync(Socket client)
        {
            using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort);
                await Task.WhenAll(PumpAsync(client, upstream, fromUpstream: false), PumpAsync(upstream, client, fromUpstream: true));
            }
            finally
            {
                client.Dispose();
                Interlocked.Increment(ref _closed);
            }
        }

        private async Task PumpAsync(Socket from, Socket to, bool fromUpstream)
        {
            var buffer = new byte[16 * 1024];
            var forwarding = true;
            while (true)
            {
                int read;
                try
                {
                    read = await from.ReceiveAsync(buffer, SocketFlags.None);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    if (fromUpstream)
                        Interlocked.Increment(ref _upstreamResets);
                    read = 0;
                }

                if (read == 0)
                {
                    try
                    {
                        to.Shutdown(SocketShutdown.Send);
                    }
                    catch (SocketException)
                    {
                        // The other side is gone already.
                    }

                    return;
                }

                if (!forwarding)
                    continue;
                try
                {
                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                }
                catch (SocketException)
                {
                    forwarding = false; // the client went away: keep reading the upstream to its end
                }
            }
        }
    }
}
