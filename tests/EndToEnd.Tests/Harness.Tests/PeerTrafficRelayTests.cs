using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Google.Protobuf;

namespace Akka.Etcd.EndToEnd.Tests.Harness.Tests;

/// <summary>
/// <see cref="PeerTrafficRelay"/> on loopback sockets standing in for two members A and B (no member processes): it
/// attributes a connection to the member whose Akka ASSOCIATE opened it, delivers what was held during a cut once
/// healed, and drops a connection whose opener gave up during the cut. That nothing passes during a cut is shown by the
/// members themselves (<c>AkkaClusterTests</c>: each side logs the other unreachable).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class PeerTrafficRelayTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly PeerTrafficRelay _relay = new();
    private readonly TcpListener _memberB = new(IPAddress.Loopback, 0);
    private int _advertisedA;
    private int _advertisedB;

    public Task InitializeAsync()
    {
        var ports = LoopbackPorts.Free(3);
        (_advertisedA, _advertisedB) = (ports[0], ports[1]);
        _memberB.Start();
        _relay.Route(_advertisedA, ports[2]);
        _relay.Route(_advertisedB, ((IPEndPoint)_memberB.LocalEndpoint).Port);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _memberB.Stop();
        await _relay.DisposeAsync();
    }

    [Fact]
    public async Task A_connection_is_attributed_to_the_member_whose_associate_opened_it_and_bytes_held_by_a_cut_arrive_after_the_heal()
    {
        using var cancel = new CancellationTokenSource(Deadline);
        using var a = await ConnectAsync(_advertisedB, cancel.Token);
        var associate = Associate(_advertisedA);
        await a.SendAsync(associate, SocketFlags.None, cancel.Token);
        using var b = await _memberB.AcceptSocketAsync(cancel.Token);
        Assert.Equal(associate, await ReceiveAsync(b, associate.Length, cancel.Token));
        var connection = Assert.Single(_relay.Connections);
        Assert.Equal(new PeerConnection(_advertisedB, _advertisedA, $"akka.tcp://akka-etcd@127.0.0.1:{_advertisedA}", connection.OpenedAt),
            connection);

        _relay.Cut(_advertisedA); // the opener's side: what A sends on the connection it opened is held
        await a.SendAsync(Encoding.ASCII.GetBytes("held"), SocketFlags.None, cancel.Token);
        _relay.Heal(_advertisedA);
        await a.SendAsync(Encoding.ASCII.GetBytes("+after"), SocketFlags.None, cancel.Token);
        Assert.Equal("held+after", Encoding.ASCII.GetString(await ReceiveAsync(b, "held+after".Length, cancel.Token)));
    }

    [Fact]
    public async Task A_connection_opened_during_a_cut_and_closed_before_the_heal_never_reaches_the_member()
    {
        using var cancel = new CancellationTokenSource(Deadline);
        _relay.Cut(_advertisedB);
        using (var gaveUp = await ConnectAsync(_advertisedB, cancel.Token))
        {
            await gaveUp.SendAsync(Associate(_advertisedA, uid: 1), SocketFlags.None, cancel.Token);
            await WaitUntilAsync(() => _relay.Connections.Count == 1, cancel.Token);
        }
        await WaitUntilAsync(() => _relay.Log.Contains("its opener gave up during the cut, dropped", StringComparison.Ordinal), cancel.Token);
        _relay.Heal(_advertisedB);

        // The first connection B accepts is the one opened after the heal.
        using var later = await ConnectAsync(_advertisedB, cancel.Token);
        var associate = Associate(_advertisedA, uid: 2);
        await later.SendAsync(associate, SocketFlags.None, cancel.Token);
        using var b = await _memberB.AcceptSocketAsync(cancel.Token);
        Assert.Equal(associate, await ReceiveAsync(b, associate.Length, cancel.Token));
    }

    /// <summary>
    /// An Akka.Remote ASSOCIATE PDU as DotNetty frames it: a 4-byte little-endian length, then the protobuf
    /// <c>AkkaProtocolMessage{instruction: AkkaControlMessage{commandType: ASSOCIATE, handshakeInfo: {origin: AddressData, uid}}}</c>.
    /// </summary>
    private static byte[] Associate(int originPort, ulong uid = 42)
    {
        var origin = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteString("akka-etcd");
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteString("127.0.0.1");
            o.WriteTag(3, WireFormat.WireType.Varint);
            o.WriteUInt32((uint)originPort);
            o.WriteTag(4, WireFormat.WireType.LengthDelimited);
            o.WriteString("tcp");
        });
        var handshake = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(origin);
            o.WriteTag(2, WireFormat.WireType.Fixed64);
            o.WriteFixed64(uid);
        });
        var control = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.Varint);
            o.WriteEnum(1);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(handshake);
        });
        var pdu = Message(o =>
        {
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(control);
        }).ToByteArray();
        var frame = new byte[4 + pdu.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, pdu.Length);
        pdu.CopyTo(frame, 4);
        return frame;
    }

    private static ByteString Message(Action<CodedOutputStream> write)
    {
        using var bytes = new MemoryStream();
        using (var output = new CodedOutputStream(bytes, leaveOpen: true)) write(output);
        return ByteString.CopyFrom(bytes.ToArray());
    }

    private static async Task<Socket> ConnectAsync(int port, CancellationToken cancel)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port, cancel);
        return socket;
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket, int length, CancellationToken cancel)
    {
        var bytes = new byte[length];
        var total = 0;
        while (total < length)
        {
            var read = await socket.ReceiveAsync(bytes.AsMemory(total), SocketFlags.None, cancel);
            if (read == 0) break;
            total += read;
        }
        return bytes[..total];
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancel)
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!condition()) await poll.WaitForNextTickAsync(cancel);
    }
}
