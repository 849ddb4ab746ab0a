using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Tests.Grpc;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Mvccpb;

namespace Akka.Etcd.Api.Tests.Hosting;

/// <summary>One listener built by <see cref="EtcdWebHost"/>: h2c gRPC and HTTP/1.1 on one port, unix sockets, Kestrel limits.</summary>
public class ClientHostTests
{
    /// <summary>Range answers key = bar at revision 3.</summary>
    internal sealed class FixedKv : KV.KVBase
    {
        public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context) => Task.FromResult(new RangeResponse
        {
            Header = new ResponseHeader { ClusterId = 1, MemberId = 2, Revision = 3, RaftTerm = 4 },
            Kvs = { new KeyValue { Key = request.Key, Value = ByteString.CopyFromUtf8("bar"), CreateRevision = 2, ModRevision = 3, Version = 1 } },
            Count = 1,
        });
    }

    private static Task<TestHost> StartAsync(Action<Microsoft.AspNetCore.Routing.IEndpointRouteBuilder>? routes = null) =>
        TestHost.StartAsync(new FixedKv(), routes: routes);

    private static Task<RangeResponse> GetFooAsync(TestHost host) =>
        new KV.KVClient(host.Channel).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("foo") }).ResponseAsync.WaitAsync(TestHost.Timeout);

    private static void MapHealth(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder routes) =>
        routes.MapGet("/health", (HttpContext context) => Results.Text("{\"health\":\"true\",\"reason\":\"\"}", "application/json"));

    [Fact]
    public async Task Http1_routes_and_grpc_share_one_cleartext_port()
    {
        await using var host = await StartAsync(MapHealth);

        using var http1 = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Endpoint, "/health"))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await http1.SendAsync(request).WaitAsync(TestHost.Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("{\"health\":\"true\",\"reason\":\"\"}", await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("Server"));

        var range = await GetFooAsync(host);
        Assert.Equal("bar", range.Kvs[0].Value.ToStringUtf8());

        // Non-gRPC HTTP/2 requests (curl --http2-prior-knowledge) reach the routes too.
        using var h2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var h2Health = await h2.GetStringAsync(new Uri(host.Endpoint, "/health")).WaitAsync(TestHost.Timeout);
        Assert.Contains("\"health\":\"true\"", h2Health);
        using var missing = await http1.GetAsync(new Uri(host.Endpoint, "/nope")).WaitAsync(TestHost.Timeout);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Preface_and_http1_request_sent_in_small_tcp_writes_are_both_recognised()
    {
        await using var host = await StartAsync(MapHealth);

        // HTTP/2: the preface trickles in, then the server must answer with its SETTINGS frame (type 0x4).
        using (var socket = await ConnectAsync(host.Endpoint))
        {
            var preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
            foreach (var piece in new[] { preface[..1], preface[1..7], preface[7..23], preface[23..] })
                await SendPieceAsync(socket, piece);
            await socket.SendAsync(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }); // empty client SETTINGS
            var frameHeader = await ReceiveExactlyAsync(socket, 9);
            Assert.Equal(4, frameHeader[3]);
        }

        // HTTP/1.1: a request whose first bytes ("P") look like the preface for a moment.
        using (var socket = await ConnectAsync(host.Endpoint))
        {
            var requestBytes = Encoding.ASCII.GetBytes("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            foreach (var piece in new[] { requestBytes[..1], requestBytes[1..3], requestBytes[3..] })
                await SendPieceAsync(socket, piece);
            var status = Encoding.ASCII.GetString(await ReceiveExactlyAsync(socket, 12));
            Assert.StartsWith("HTTP/1.1 ", status); // 405: /health is mapped for GET only, but HTTP/1.1 answered
        }
    }

    [Fact]
    public async Task Unix_socket_listen_url_serves_grpc()
    {
        var path = Path.Combine(Path.GetTempPath(), $"akka-etcd-{Guid.NewGuid():N}.sock");
        try
        {
            await using var host = await TestHost.StartAsync(services => services.AddSingleton(new FixedKv()),
                app => app.MapEtcdGrpcService<FixedKv>(new GrpcServerOptions()), options => options.ListenUrls = [$"unix://{path}"]);
            Assert.Equal([$"unix://{path}"], host.App.GetBoundUrls());

            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            using var channel = TestHost.CreateChannel(new Uri("http://localhost"), handler);
            var response = await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("foo") })
                .ResponseAsync.WaitAsync(TestHost.Timeout);
            Assert.Equal("bar", response.Kvs[0].Value.ToStringUtf8());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("https://127.0.0.1:0")]
    [InlineData("http://example.com:2379")]
    [InlineData("ftp://127.0.0.1:21")]
    public void Unsupported_listen_urls_are_rejected(string url)
    {
        var builder = EtcdWebHost.CreateBuilder(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        Assert.Throws<ArgumentException>(() => builder.AddEtcdListener(new EtcdListenerOptions { ListenUrls = [url] }));
    }

    [Fact]
    public async Task Real_etcdctl_get_reads_through_the_layer()
    {
        await using var host = await StartAsync();

        var start = new ProcessStartInfo("etcdctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ETCDCTL_API"] = "3";
        foreach (var arg in new[] { $"--endpoints={host.Endpoint.GetLeftPart(UriPartial.Authority)}", "--dial-timeout=5s", "--command-timeout=5s", "get", "foo" })
            start.ArgumentList.Add(arg);

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(process.ExitCode == 0, $"etcdctl exited {process.ExitCode}: {await stderr}");
        Assert.Equal("foo\nbar\n", await stdout);
    }

    [Fact]
    public async Task Idle_http2_connection_is_not_sent_goaway_by_kestrels_heartbeat()
    {
        // Regression: KeepAliveTimeout = TimeSpan.MaxValue overflowed Kestrel's timeout timestamp, so its 1 s heartbeat
        // closed every HTTP/2 connection that had no open stream (GOAWAY NO_ERROR: grpc-go's "the connection is
        // draining"). A connection idle across several heartbeats must stay open and keep answering.
        await using var host = await StartAsync(MapHealth);
        using var socket = await ConnectAsync(host.Endpoint);
        await socket.SendAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await socket.SendAsync(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }); // empty client SETTINGS

        var idleFor = TimeSpan.FromSeconds(2.5); // Kestrel's heartbeat runs every second: at least two of them.
        var frameTypes = new List<byte>();
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < idleFor)
        {
            using var quiet = new CancellationTokenSource(idleFor - stopwatch.Elapsed);
            byte[] header;
            try
            {
                header = await ReceiveExactlyAsync(socket, 9, quiet.Token);
            }
            catch (OperationCanceledException)
            {
                break; // Nothing more arrived while idle: what we want.
            }

            frameTypes.Add(header[3]);
            await ReceiveExactlyAsync(socket, (header[0] << 16) | (header[1] << 8) | header[2]);
        }

        Assert.DoesNotContain((byte)7, frameTypes); // 0x7 = GOAWAY

        // Still usable: a PING is answered with a PING ACK.
        await socket.SendAsync(new byte[] { 0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 });
        while (true)
        {
            var header = await ReceiveExactlyAsync(socket, 9);
            var payload = await ReceiveExactlyAsync(socket, (header[0] << 16) | (header[1] << 8) | header[2]);
            Assert.NotEqual(7, header[3]);
            if (header[3] == 6 && (header[4] & 1) == 1)
            {
                Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, payload);
                break;
            }
        }
    }

    private static async Task<Socket> ConnectAsync(Uri endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, endpoint.Port);
        return socket;
    }

    private static async Task SendPieceAsync(Socket socket, byte[] piece) => await socket.SendAsync(piece);

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[count];
        var read = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TestHost.Timeout);
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.True(n > 0, "connection closed");
            read += n;
        }

        return buffer;
    }
}
