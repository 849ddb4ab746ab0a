using System.Net;
using System.Net.Sockets;
using Akka.Etcd.Node.Cluster;
using Akka.Etcd.Node.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Node.Tests.Cluster;

/// <summary>
/// The peer port is one process's alone: remoting binds it exclusively, and a member waits for a port another process
/// still listens on (an earlier incarnation still stopping) instead of sharing it, failing with etcd's message when it
/// stays taken.
/// </summary>
public class PeerPortTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public void Remoting_binds_the_peer_port_without_address_reuse()
    {
        var stderr = new StringWriter();
        var config = MemberConfigParser.Parse(["--listen-peer-urls", "http://127.0.0.1:12380", "--initial-advertise-peer-urls",
            "http://127.0.0.1:12380", "--initial-cluster", "default=http://127.0.0.1:12380"], new Dictionary<string, string>(),
            new StringWriter(), stderr).Config ?? throw new Xunit.Sdk.XunitException(stderr.ToString());

        // Highest precedence: a member's HOCON file cannot turn reuse back on under it.
        var akka = PeerRemoting.Config(config).WithFallback(Akka.Configuration.ConfigurationFactory.ParseString(
            "akka.remote.dot-netty.tcp.tcp-reuse-addr = on"));

        Assert.Equal("off", akka.GetString("akka.remote.dot-netty.tcp.tcp-reuse-addr"));
    }

    [Fact]
    public void A_port_another_socket_listens_on_is_not_free_until_it_closes()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            Assert.False(PeerPort.IsFree("127.0.0.1", port));
            Assert.False(PeerPort.IsFree("localhost", port));
        }
        finally
        {
            listener.Stop();
        }
        Assert.True(PeerPort.IsFree("127.0.0.1", port));
    }

    [Fact]
    public async Task Waiting_for_a_taken_port_ends_when_it_is_released()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var wait = PeerPort.WaitUntilFreeAsync("127.0.0.1", port, Deadline, NullLogger.Instance, CancellationToken.None);
        Assert.False(wait.IsCompleted);

        listener.Stop();

        await wait.WaitAsync(Deadline);
    }

    [Fact]
    public async Task A_port_still_taken_after_the_wait_fails_with_etcds_message()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            var error = await Assert.ThrowsAsync<IOException>(() =>
                PeerPort.WaitUntilFreeAsync("127.0.0.1", port, TimeSpan.Zero, NullLogger.Instance, CancellationToken.None));
            Assert.Equal($"listen tcp 127.0.0.1:{port}: bind: address already in use", error.Message);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task A_stop_signal_ends_the_wait()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            using var stop = new CancellationTokenSource();
            var wait = PeerPort.WaitUntilFreeAsync("127.0.0.1", port, Deadline, NullLogger.Instance, stop.Token);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Deadline));
        }
        finally
        {
            listener.Stop();
        }
    }
}
