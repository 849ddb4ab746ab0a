using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Cluster;

/// <summary>
/// The peer port belongs to one process at a time. Akka.Remote's <c>tcp-reuse-addr</c> would let a second member
/// process bind the peer port while an earlier one is still stopping (.NET sets <c>SO_REUSEPORT</c> with
/// <c>SO_REUSEADDR</c> on Linux, so the kernel spreads the peers' connections over both), and the peers would then see
/// two incarnations (UIDs) of one address alternate: each one that associates quarantines the other, and whichever
/// was quarantined last stays cut off for good once the old process exits. So the member binds its peer port
/// exclusively (<see cref="PeerRemoting"/> turns <c>tcp-reuse-addr</c> off) and, before it starts remoting, waits here
/// until no other process listens on the port: an earlier incarnation still leaving the Akka cluster (which takes up to
/// about ten seconds when the whole cluster stops) releases it soon; anything else holding it fails the start with
/// etcd's message.
/// </summary>
public static class PeerPort
{
    /// <summary>
    /// How long <see cref="WaitUntilFreeAsync"/> waits by default: longer than a member's own graceful stop can take
    /// (client listeners 5 s, leadership transfer, leaving the Akka cluster at most 15 s).
    /// </summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True when a listener could bind <paramref name="host"/>:<paramref name="port"/> now, as Akka.Remote's DotNetty
    /// transport binds it (a dual-mode TCP socket, no <c>SO_REUSEPORT</c>); false when another socket listens on it.
    /// Connections in TIME_WAIT do not count (.NET binds TCP sockets with <c>SO_REUSEADDR</c> on Unix).
    /// </summary>
    /// <param name="host">The listen peer URL's host: an IP address or a name (resolved; the first address is used,
    /// IPv4 first, as DotNetty binds).</param>
    /// <param name="port">The TCP port (1..65535).</param>
    /// <exception cref="SocketException">The host does not resolve, or the bind failed for another reason than the
    /// address being in use (e.g. an address this machine does not have).</exception>
    public static bool IsFree(string host, int port)
    {
        var address = Resolve(host);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return false;
        }
    }

    /// <summary>
    /// Returns once <see cref="IsFree"/> holds for the peer port, logging a warning when it has to wait (and every five
    /// seconds while it waits), polling every 200 ms.
    /// </summary>
    /// <param name="host">The listen peer URL's host.</param>
    /// <param name="port">The listen peer URL's port.</param>
    /// <param name="wait">How long to wait for the port at most (<see cref="DefaultWait"/> at start).</param>
    /// <param name="log">Where the wait is reported (the node's <c>etcdmain/main</c> logger).</param>
    /// <param name="cancel">Stops the wait (SIGINT/SIGTERM): <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="IOException">The port is still in use after <paramref name="wait"/>; the message is etcd's
    /// (<c>listen tcp 127.0.0.1:2380: bind: address already in use</c>).</exception>
    public static async Task WaitUntilFreeAsync(string host, int port, TimeSpan wait, ILogger log, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(log);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var lastLog = TimeSpan.MinValue;
        while (!IsFree(host, port))
        {
            if (clock.Elapsed >= wait)
                throw new IOException($"listen tcp {host}:{port}: bind: address already in use");
            if (lastLog == TimeSpan.MinValue || clock.Elapsed - lastLog >= LogInterval)
            {
                lastLog = clock.Elapsed;
                log.LogWarning("peer port {host}:{port} is in use (an earlier member process still stopping?); waiting up to {wait} s for it",
                    host, port, (int)wait.TotalSeconds);
            }
            await Task.Delay(PollInterval, cancel).ConfigureAwait(false);
        }
        if (lastLog != TimeSpan.MinValue)
            log.LogInformation("peer port {host}:{port} is free after {took} ms", host, port, clock.ElapsedMilliseconds);
    }

    private static IPAddress Resolve(string host)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
            return address;
        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
    }
}
