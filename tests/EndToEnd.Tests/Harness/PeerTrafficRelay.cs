using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// A TCP relay between the members of a test cluster that can cut one member's peer traffic off, in both directions,
/// without iptables or root. Each member listens on its listen peer port and advertises another one
/// (<c>--initial-advertise-peer-urls</c>, the port of its Akka address); the relay listens on the advertised port
/// (<see cref="Route"/>) and forwards to the listen port, so every connection between members passes it.
/// <para>
/// A connection through member B's route belongs to B and to the member that opened it. Akka.Remote classic (what the
/// members speak, over DotNetty TCP) frames every PDU with a 4-byte little-endian length, and the first PDU of a
/// connection is the opener's ASSOCIATE, which carries its Akka address (<c>akka.tcp://akka-etcd@127.0.0.1:PORT</c>,
/// its advertised peer port): the relay reads that frame before it connects onwards and so knows both ends. A
/// connection whose first bytes are not an ASSOCIATE (TLS, another protocol) belongs to its route's member only.
/// </para>
/// <para>
/// <see cref="Cut"/> models a network that drops every packet to and from the member, as a firewall rule or a
/// pulled cable does, with TCP's retransmission behind it: the relay stops reading every connection of the member, in
/// both directions, so nothing it sends arrives and nothing reaches it; the senders' TCP stacks back up (their send
/// buffers fill, as they do while retransmissions go unanswered), and a close (FIN) is not passed on either. A new
/// connection of the member is accepted (the kernel does that) and its ASSOCIATE read, but nothing is connected
/// onwards: to Akka it is a handshake that never gets an answer, which times out like a connect whose SYNs are lost;
/// if its opener closes it before the heal, it is dropped and never reaches the other member.
/// Dropping or resetting the connections instead would model a crash or a refused port, a different failure: Akka
/// would see its connections fail at once rather than go silent, and only its failure detectors notice silence.
/// </para>
/// <para>
/// <see cref="Heal"/> lets the held bytes flow again, in order, followed by any close that was held: what TCP's
/// retransmissions deliver once the path works again (a side that gave up on a connection meanwhile still has its
/// unacknowledged data and FIN retransmitted by its kernel). A connection opened during the cut that its opener still
/// holds open is connected onwards then, as a connect whose SYN is retransmitted after the heal completes.
/// </para>
/// Thread-safe. Dispose stops the listeners and resets every relayed connection.
/// </summary>
public sealed class PeerTrafficRelay : IAsyncDisposable
{
    /// <summary>The largest first frame read as a possible ASSOCIATE (bytes); a longer one is forwarded unparsed.</summary>
    private const int MaxAssociateBytes = 64 * 1024;

    private const int BufferBytes = 64 * 1024;

    private readonly ConcurrentDictionary<int, MemberRoute> _routes = new();
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly ConcurrentQueue<PeerConnection> _connections = new();
    private readonly ConcurrentBag<Task> _tasks = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly LogCapture _log = new();

    /// <summary>
    /// Listens on 127.0.0.1:<paramref name="advertisedPort"/> and forwards every connection to
    /// 127.0.0.1:<paramref name="listenPort"/>. Call before the member starts.
    /// </summary>
    /// <exception cref="SocketException">The advertised port is taken.</exception>
    /// <exception cref="InvalidOperationException">A route on <paramref name="advertisedPort"/> exists already.</exception>
    public void Route(int advertisedPort, int listenPort)
    {
        var listener = new TcpListener(IPAddress.Loopback, advertisedPort);
        var route = new MemberRoute(advertisedPort, listenPort, listener);
        if (!_routes.TryAdd(advertisedPort, route)) throw new InvalidOperationException($"port {advertisedPort} is routed already");
        listener.Start(backlog: 64);
        _tasks.Add(Task.Run(() => AcceptAsync(route)));
        Note($"route 127.0.0.1:{advertisedPort} -> 127.0.0.1:{listenPort}");
    }

    /// <summary>
    /// Cuts the member whose advertised peer port is <paramref name="advertisedPort"/> off: every connection into it
    /// and every connection it opened to another routed member stops passing bytes (see the class summary) until
    /// <see cref="Heal"/>. No-op if cut already.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No route on that port.</exception>
    public void Cut(int advertisedPort)
    {
        _routes[advertisedPort].Gate.Close();
        Note($"cut 127.0.0.1:{advertisedPort} off");
    }

    /// <summary>Lets the member's traffic flow again, held bytes first (see the class summary). No-op if not cut.</summary>
    /// <exception cref="KeyNotFoundException">No route on that port.</exception>
    public void Heal(int advertisedPort)
    {
        _routes[advertisedPort].Gate.Open();
        Note($"healed 127.0.0.1:{advertisedPort}");
    }

    /// <summary>Every connection relayed so far (open or closed), in the order their first frame was read.</summary>
    public IReadOnlyList<PeerConnection> Connections => _connections.ToArray();

    /// <summary>What the relay did (routes, cuts, heals, connections and how they ended), one timestamped line each.</summary>
    public string Log => _log.Text;

    /// <summary>The last <paramref name="lines"/> lines of <see cref="Log"/>, for failure messages.</summary>
    public string LogTail(int lines = 40) => _log.Tail(lines);

    /// <summary>Stops the listeners, resets every relayed connection and waits for the relay's tasks to end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var route in _routes.Values) route.Listener.Stop();
        foreach (var socket in _sockets.Keys) Reset(socket);
        try
        {
            await Task.WhenAll(_tasks);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The relay's own tasks end this way once their sockets are gone.
        }
        _stop.Dispose();
    }

    private async Task AcceptAsync(MemberRoute route)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await route.Listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            _sockets.TryAdd(client, 0);
            _tasks.Add(Task.Run(() => RelayAsync(route, client)));
        }
    }

    private async Task RelayAsync(MemberRoute route, Socket client)
    {
        var cancel = _stop.Token;
        Socket? server = null;
        var name = $"connection to :{route.AdvertisedPort}";
        try
        {
            client.NoDelay = true;
            var (head, origin) = await ReadAssociateAsync(client, cancel);
            if (head.Length == 0) return;
            var from = origin?.Port is { } port && _routes.TryGetValue(port, out var opener) ? opener : null;
            name = $"connection {origin?.Address ?? "from an unknown opener"} -> :{route.AdvertisedPort}";
            _connections.Enqueue(new PeerConnection(route.AdvertisedPort, from?.AdvertisedPort, origin?.Address, DateTime.UtcNow));
            Gate[] gates = from is null ? [route.Gate] : [route.Gate, from.Gate];
            if (gates.Any(g => g.Closed is not null))
            {
                Note($"{name}: opened during a cut, held");
                (head, var gone) = await HoldAsync(client, head, gates, cancel);
                if (gone)
                {
                    Note($"{name}: its opener gave up during the cut, dropped");
                    return;
                }
            }
            server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _sockets.TryAdd(server, 0);
            await server.ConnectAsync(IPAddress.Loopback, route.ListenPort, cancel);
            await WaitOpenAsync(gates, cancel); // cut while connecting: the first frame waits like any other bytes
            await SendAllAsync(server, head, cancel);
            Note($"{name}: relayed");
            await Task.WhenAll(PumpAsync(client, server, gates, cancel), PumpAsync(server, client, gates, cancel));
            Note($"{name}: closed");
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (!cancel.IsCancellationRequested) Note($"{name}: ended ({e.GetType().Name}: {e.Message})");
        }
        finally
        {
            Reset(client);
            if (server is not null) Reset(server);
        }
    }

    /// <summary>
    /// Holds a connection opened during a cut until its gates open: appends to <paramref name="head"/> what its opener
    /// sends meanwhile, and tells whether the opener closed it before the heal (checked every 50 ms): then none of it
    /// ever reaches the other member.
    /// </summary>
    private static async Task<(byte[] Head, bool Gone)> HoldAsync(Socket client, byte[] head, Gate[] gates,
        CancellationToken cancel)
    {
        var bytes = new List<byte>(head);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (true)
        {
            while (client.Poll(0, SelectMode.SelectRead))
            {
                var buffer = new byte[Math.Max(1, client.Available)];
                var read = client.Available == 0 ? 0 : client.Receive(buffer); // data is there: returns at once
                if (read == 0) return (bytes.ToArray(), true);
                bytes.AddRange(buffer.AsSpan(0, read));
            }
            if (gates.Select(g => g.Closed).FirstOrDefault(t => t is not null) is not { } closed) return (bytes.ToArray(), false);
            await Task.WhenAny(closed, poll.WaitForNextTickAsync(cancel).AsTask());
            cancel.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Copies <paramref name="from"/> to <paramref name="to"/> while every gate is open; an end of stream is passed on as
    /// a half close, a failure resets both sockets (so the other direction ends too).
    /// </summary>
    private async Task PumpAsync(Socket from, Socket to, Gate[] gates, CancellationToken cancel)
    {
        var buffer = new byte[BufferBytes];
        try
        {
            while (true)
            {
                await WaitOpenAsync(gates, cancel); // cut: stop reading, so the sender backs up
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancel);
                await WaitOpenAsync(gates, cancel); // a read already pending when the cut began holds its bytes
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await SendAllAsync(to, buffer.AsMemory(0, read), cancel);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Reset(from);
            Reset(to);
        }
    }

    /// <summary>
    /// Reads the connection's first Akka.Remote frame and the opener's address in it, if it is an ASSOCIATE. Returns the
    /// bytes read (empty when the opener closed at once) and the origin, or null.
    /// </summary>
    private static async Task<(byte[] Head, AkkaOrigin? Origin)> ReadAssociateAsync(Socket client, CancellationToken cancel)
    {
        var prefix = new byte[4];
        var got = await ReadAsync(client, prefix, cancel);
        if (got < prefix.Length) return (prefix[..got], null);
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length <= 0 || length > MaxAssociateBytes) return (prefix, null);
        var frame = new byte[4 + length];
        prefix.CopyTo(frame, 0);
        got = await ReadAsync(client, frame.AsMemory(4), cancel);
        if (got < length) return (frame[..(4 + got)], null);
        return (frame, AkkaOrigin.FromAssociate(frame.AsSpan(4).ToArray()));
    }

    private static async Task<int> ReadAsync(Socket socket, Memory<byte> into, CancellationToken cancel)
    {
        var total = 0;
        while (total < into.Length)
        {
            var read = await socket.ReceiveAsync(into[total..], SocketFlags.None, cancel);
            if (read == 0) break;
            total += read;
        }
        return total;
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancel)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, cancel);
            bytes = bytes[sent..];
        }
    }

    private static async Task WaitOpenAsync(Gate[] gates, CancellationToken cancel)
    {
        while (gates.Select(g => g.Closed).FirstOrDefault(t => t is not null) is { } closed)
            await closed.WaitAsync(cancel);
    }

    /// <summary>Closes the socket with a reset (linger 0), so its peer's next read or write fails at once.</summary>
    private void Reset(Socket socket)
    {
        _sockets.TryRemove(socket, out _);
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed already.
        }
        socket.Dispose();
    }

    private void Note(string line)
    {
        _log.Append(DateTime.UtcNow.ToString("HH:mm:ss.fff") + " relay " + line);
    }

    /// <summary>Whether a routed member is cut off; a connection waits on the gates of both its ends.</summary>
    private sealed class Gate
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource? _closed;

        /// <summary>A task that completes when the gate opens, or null while it is open.</summary>
        public Task? Closed
        {
            get
            {
                lock (_lock) return _closed?.Task;
            }
        }

        /// <summary>Closes the gate (no-op if closed).</summary>
        public void Close()
        {
            lock (_lock) _closed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        /// <summary>Opens the gate and wakes everything waiting on it (no-op if open).</summary>
        public void Open()
        {
            TaskCompletionSource? closed;
            lock (_lock)
            {
                closed = _closed;
                _closed = null;
            }
            closed?.TrySetResult();
        }
    }

    /// <summary>One member's route through the relay: its advertised port (listened on), its listen port, its gate.</summary>
    private sealed record MemberRoute(int AdvertisedPort, int ListenPort, TcpListener Listener)
    {
        /// <summary>Closed while the member is cut off.</summary>
        public Gate Gate { get; } = new();
    }

    /// <summary>The opener's Akka address from an ASSOCIATE PDU.</summary>
    private sealed record AkkaOrigin(string Address, int Port)
    {
        /// <summary>
        /// Parses Akka.Remote's wire format (WireFormats.proto): <c>AkkaProtocolMessage.instruction</c> (2), an
        /// <c>AkkaControlMessage</c> whose <c>commandType</c> (1) is ASSOCIATE (1) and whose <c>handshakeInfo</c> (2)
        /// holds <c>origin</c> (1), an <c>AddressData</c> (system 1, hostname 2, port 3, protocol 4). Null when the PDU is
        /// anything else.
        /// </summary>
        public static AkkaOrigin? FromAssociate(byte[] pdu)
        {
            try
            {
                var instruction = Field(ByteString.CopyFrom(pdu), 2);
                if (instruction is null || Varint(instruction, 1) != 1) return null;
                var handshake = Field(instruction, 2);
                var origin = handshake is null ? null : Field(handshake, 1);
                if (origin is null) return null;
                string system = "", host = "", protocol = "";
                uint port = 0;
                var input = origin.CreateCodedInput();
                uint tag;
                while ((tag = input.ReadTag()) != 0)
                {
                    switch (WireFormat.GetTagFieldNumber(tag))
                    {
                        case 1: system = input.ReadString(); break;
                        case 2: host = input.ReadString(); break;
                        case 3: port = input.ReadUInt32(); break;
                        case 4: protocol = input.ReadString(); break;
                        default: input.SkipLastField(); break;
                    }
                }
                // Akka.NET writes the transport's scheme ("tcp", "ssl.tcp") without Akka's "akka." prefix.
                var scheme = protocol.StartsWith("akka.", StringComparison.Ordinal) ? protocol : "akka." + protocol;
                return port == 0 ? null : new AkkaOrigin($"{scheme}://{system}@{host}:{port}", (int)port);
            }
            catch (InvalidProtocolBufferException)
            {
                return null;
            }
        }

        private static ByteString? Field(ByteString message, int number)
        {
            var input = message.CreateCodedInput();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == number &&
                    WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                    return input.ReadBytes();
                input.SkipLastField();
            }
            return null;
        }

        private static ulong? Varint(ByteString message, int number)
        {
            var input = message.CreateCodedInput();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == number && WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint)
                    return input.ReadUInt64();
                input.SkipLastField();
            }
            return null;
        }
    }
}

/// <summary>
/// One connection a <see cref="PeerTrafficRelay"/> relayed (or held): the advertised peer port it was opened to, the
/// advertised peer port of the routed member that opened it (null when the opener is unknown: no ASSOCIATE, or not a
/// routed member), the opener's Akka address as its ASSOCIATE gave it (null when none), and when its first frame was read (UTC).
/// </summary>
/// <param name="ToPort">Advertised peer port of the member the connection goes to.</param>
/// <param name="FromPort">Advertised peer port of the routed member that opened it, or null.</param>
/// <param name="Origin">The opener's Akka address from its ASSOCIATE, e.g. <c>akka.tcp://akka-etcd@127.0.0.1:2380</c>, or null.</param>
/// <param name="OpenedAt">When the relay read its first frame (UTC).</param>
public sealed record PeerConnection(int ToPort, int? FromPort, string? Origin, DateTime OpenedAt);
