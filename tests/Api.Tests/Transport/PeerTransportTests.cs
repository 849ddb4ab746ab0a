using System.Security.Cryptography;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Api.Peer;
using Akka.Etcd.Api.Tests.Grpc;
using Google.Protobuf;
using Grpc.Core;
using Raftpb;
using static Akka.Etcd.Api.Tests.Transport.PeerMember;

namespace Akka.Etcd.Api.Tests.Transport;

public class PeerTransportTests
{
    private static void Connect(PeerMember from, params PeerMember[] to)
    {
        foreach (var peer in to)
            from.Transport.AddPeer(peer.Id, [peer.Url]);
    }

    private static Task WaitActive(PeerMember member, ulong peer) =>
        member.WaitUntilAsync(() => member.Transport.IsActive(peer), $"{member.Id:x} -> {peer:x} active");

    [Fact]
    public async Task Messages_are_delivered_in_order_per_peer_in_both_directions()
    {
        await using var a = await CreateAsync(1);
        await using var b = await CreateAsync(2);
        Connect(a, b);
        Connect(b, a);
        await WaitActive(a, 2);
        await WaitActive(b, 1);
        Assert.Equal([2UL], a.Transport.ActivePeers);
        Assert.NotNull(a.Transport.ActiveSince(2));

        const int count = 2000;
        for (ulong i = 1; i <= count; i++)
        {
            a.Transport.Send([App(1, 2, i)]);
            b.Transport.Send([App(2, 1, i), App(2, 1, i + count)]);
        }

        await b.WaitUntilAsync(() => b.Received.Length == count, "b received everything");
        await a.WaitUntilAsync(() => a.Received.Length == 2 * count, "a received everything");
        Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), b.Received.Select(m => m.Index));
        Assert.All(b.Received, m => Assert.Equal(MessageType.MsgApp, m.Type));
        var fromB = a.Received.Select(m => m.Index).ToArray();
        Assert.Equal(Enumerable.Range(1, count).SelectMany(i => new[] { (ulong)i, (ulong)(i + count) }), fromB);
        Assert.True(a.UnreachableCount(2) == 0, a.Logs);
        Assert.True(b.UnreachableCount(1) == 0, b.Logs);
    }

    [Fact]
    public async Task A_dead_peer_is_reported_unreachable_and_does_not_delay_the_others_then_reconnects_when_it_starts()
    {
        await using var a = await CreateAsync(1);
        await using var b = await CreateAsync(2);
        await using var c = await CreateAsync(3, start: false);
        Connect(a, b, c);
        await WaitActive(a, 2);
        await a.WaitUntilAsync(() => a.UnreachableCount(3) > 0, "c reported unreachable");
        Assert.False(a.Transport.IsActive(3));
        Assert.Null(a.Transport.ActiveSince(3));

        const int count = 500;
        for (ulong i = 1; i <= count; i++)
            a.Transport.Send([App(1, 3, i), App(1, 2, i)]);
        await b.WaitUntilAsync(() => b.Received.Length == count, "b received everything while c is down");
        Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), b.Received.Select(m => m.Index));
        Assert.Equal(0, a.UnreachableCount(2));

        await c.StartAsync();
        await WaitActive(a, 3);
        a.Transport.Send([App(1, 3, 1000), App(1, 3, 1001)]);
        await c.WaitUntilAsync(() => c.Received.Any(m => m.Index == 1001), "c received after it started");
        var afterStart = c.Received.Select(m => m.Index).SkipWhile(i => i != 1000).ToArray();
        Assert.Equal([1000UL, 1001UL], afterStart);
    }

    [Fact]
    public async Task A_peer_that_stops_goes_inactive_and_unreachable_and_the_stream_comes_back_when_it_restarts()
    {
        await using var a = await CreateAsync(1);
        await using var b = await CreateAsync(2);
        Connect(a, b);
        await WaitActive(a, 2);
        var port = new Uri(b.Url).Port;

        await b.StopAsync();
        await a.WaitUntilAsync(() => !a.Transport.IsActive(2) && a.UnreachableCount(2) > 0, "b inactive and unreachable");
        a.Transport.Send([App(1, 2, 1)]); // dropped or queued for the next attempt, never blocking

        await using var b2 = await CreateAsync(2, start: false);
        await b2.StartAsync(port);
        await WaitActive(a, 2);
        a.Transport.Send([App(1, 2, 7)]);
        await b2.WaitUntilAsync(() => b2.Received.Any(m => m.Index == 7), "restarted b received");
    }

    [Fact]
    public async Task A_full_queue_drops_messages_and_reports_each_drop_as_unreachable()
    {
        await using var a = await CreateAsync(1, configure: o =>
        {
            o.QueueCapacity = 4;
            o.ReconnectMinBackoff = TimeSpan.FromMinutes(10);
            o.ReconnectMaxBackoff = TimeSpan.FromMinutes(10);
        });
        await using var dead = await CreateAsync(2, start: false);
        Connect(a, dead);
        // The first dial fails at once; the stream then waits out its (long) backoff without draining the queue.
        await a.WaitUntilAsync(() => a.UnreachableCount(2) == 1, "first dial failed");

        var sent = new List<Message>();
        for (ulong i = 1; i <= 10; i++)
            sent.Add(App(1, 2, i));
        a.Transport.Send(sent);

        Assert.Equal(1 + 6, a.UnreachableCount(2));
    }

    [Fact]
    public async Task A_snapshot_of_several_MiB_is_streamed_in_chunks_and_installed_intact()
    {
        var data = new byte[5 * 1024 * 1024 + 12345];
        new Random(42).NextBytes(data);
        await using var a = await CreateAsync(1, configure: o => o.SnapshotChunkBytes = 256 * 1024);
        await using var b = await CreateAsync(2);
        a.Transport.OpenSnapshot = _ => new MemoryStream(data, writable: false);
        byte[]? installedHash = null;
        Message? installedHeader = null;
        string? installedPath = null;
        b.Transport.SnapshotReceived = async (message, path) =>
        {
            installedHeader = message;
            installedPath = path;
            await using var file = File.OpenRead(path);
            installedHash = await SHA256.HashDataAsync(file);
        };
        Connect(a, b);

        var snapshot = new Message
        {
            Type = MessageType.MsgSnap,
            From = 1,
            To = 2,
            Term = 3,
            Snapshot = new Snapshot
            {
                Data = ByteString.CopyFromUtf8("membership"),
                Metadata = new SnapshotMetadata { Index = 1234, Term = 3, ConfState = new ConfState { Voters = { 1, 2 } } },
            },
        };
        a.Transport.Send([snapshot]);

        await a.WaitUntilAsync(() => a.SnapshotStatuses.Length == 1, "snapshot status");
        Assert.Equal((2UL, true), a.SnapshotStatuses[0]);
        Assert.Equal(SHA256.HashData(data), installedHash);
        Assert.Equal(snapshot, installedHeader);
        Assert.StartsWith(b.SnapshotDirectory, installedPath);
        Assert.True(File.Exists(installedPath)); // the owner's file now
        Assert.Empty(b.Received); // MsgSnap never goes through Received or the message stream
        Assert.Equal(0, a.UnreachableCount(2));
    }

    [Fact]
    public async Task A_snapshot_the_receiver_fails_to_install_reports_failure_and_leaves_no_file()
    {
        await using var a = await CreateAsync(1);
        await using var b = await CreateAsync(2);
        a.Transport.OpenSnapshot = _ => new MemoryStream(new byte[3 * 1024 * 1024 + 1]);
        b.Transport.SnapshotReceived = (_, _) => throw new InvalidOperationException("disk on fire");
        Connect(a, b);

        a.Transport.Send([new Message { Type = MessageType.MsgSnap, From = 1, To = 2, Snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = 9 } } }]);

        await a.WaitUntilAsync(() => a.SnapshotStatuses.Length == 1, "snapshot status");
        Assert.Equal((2UL, false), a.SnapshotStatuses[0]);
        Assert.True(a.UnreachableCount(2) > 0);
        Assert.Empty(Directory.EnumerateFiles(b.SnapshotDirectory));
    }

    [Fact]
    public async Task A_snapshot_to_a_dead_peer_or_without_data_reports_failure()
    {
        await using var a = await CreateAsync(1);
        await using var dead = await CreateAsync(2, start: false);
        Connect(a, dead);
        var snap = new Message { Type = MessageType.MsgSnap, From = 1, To = 2, Snapshot = new Snapshot() };

        a.Transport.Send([snap]); // no OpenSnapshot callback
        await a.WaitUntilAsync(() => a.SnapshotStatuses.Length == 1, "first snapshot status");

        a.Transport.OpenSnapshot = _ => new MemoryStream(new byte[1024]);
        a.Transport.Send([snap]);
        await a.WaitUntilAsync(() => a.SnapshotStatuses.Length == 2, "second snapshot status");
        Assert.Equal([(2UL, false), (2UL, false)], a.SnapshotStatuses);
    }

    [Fact]
    public async Task A_mismatched_cluster_id_is_rejected_with_failed_precondition()
    {
        await using var a = await CreateAsync(1, clusterId: 0xaaa);
        await using var b = await CreateAsync(2, clusterId: 0xbbb);
        Connect(a, b);
        await a.WaitUntilAsync(() => a.UnreachableCount(2) >= 2, "stream attempts rejected");
        a.Transport.Send([App(1, 2, 1)]);
        Assert.False(a.Transport.IsActive(2));

        using var channel = TestHost.CreateChannel(new Uri(b.Url));
        var client = new Akka.Etcd.Protos.Peer.Peer.PeerClient(channel);
        var headers = new Dictionary<string, string>
        {
            [PeerProtocol.ClusterIdHeader] = "aaa",
            [PeerProtocol.FromHeader] = "1",
            [PeerProtocol.ToHeader] = "2",
        };
        var error = await RejectionAsync(client, headers);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("cluster ID mismatch", error.Status.Detail);

        headers[PeerProtocol.ClusterIdHeader] = "bbb";
        headers[PeerProtocol.ToHeader] = "3";
        error = await RejectionAsync(client, headers);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(PeerProtocol.ToMismatch, error.Status.Detail);

        headers[PeerProtocol.ToHeader] = "2";
        headers.Remove(PeerProtocol.FromHeader);
        error = await RejectionAsync(client, headers);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Empty(b.Received);
    }

    [Fact]
    public async Task A_removed_member_is_rejected_and_learns_it_was_removed()
    {
        await using var a = await CreateAsync(1);
        await using var b = await CreateAsync(2);
        b.Transport.IsMemberRemoved = id => id == 1;
        Connect(a, b);

        await a.WaitUntilAsync(() => a.RemovedBy.Length > 0, "a learns it was removed");
        Assert.Equal(2UL, a.RemovedBy[0]);
        Assert.False(a.Transport.IsActive(2));
    }

    [Fact]
    public async Task Updating_a_peer_url_reconnects_to_the_new_address_and_removing_it_stops_sends()
    {
        await using var a = await CreateAsync(1);
        await using var b = await CreateAsync(2);
        await using var nowhere = await CreateAsync(9, start: false);
        a.Transport.AddPeer(2, [nowhere.Url]);
        await a.WaitUntilAsync(() => a.UnreachableCount(2) > 0, "wrong url unreachable");

        a.Transport.UpdatePeer(2, [b.Url]);
        await WaitActive(a, 2);
        a.Transport.Send([App(1, 2, 5)]);
        await b.WaitUntilAsync(() => b.Received.Length == 1, "b received after the update");

        a.Transport.RemovePeer(2);
        Assert.False(a.Transport.HasPeer(2));
        Assert.False(a.Transport.IsActive(2));
        Assert.Empty(a.Transport.ActivePeers);
        a.Transport.Send([App(1, 2, 6)]); // ignored: unknown peer
    }

    [Fact]
    public async Task Several_urls_are_tried_in_turn()
    {
        await using var a = await CreateAsync(1);
        await using var b = await CreateAsync(2);
        await using var nowhere = await CreateAsync(9, start: false);
        a.Transport.AddPeer(2, [nowhere.Url, b.Url]);

        await WaitActive(a, 2);
        a.Transport.Send([App(1, 2, 1)]);
        await b.WaitUntilAsync(() => b.Received.Length == 1, "b received through its second url");
    }

    /// <summary>The status a stream call rejected by the server ends with.</summary>
    private static async Task<RpcException> RejectionAsync(Akka.Etcd.Protos.Peer.Peer.PeerClient client, Dictionary<string, string> headers)
    {
        var metadata = new Metadata();
        foreach (var (name, value) in headers)
            metadata.Add(name, value);
        using var call = client.Stream(metadata);
        // The opening link message, as PeerTransport sends it.
        _ = call.RequestStream.WriteAsync(new Message()).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        return await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext()).WaitAsync(PeerMember.Timeout);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new RaftTransportOptions { LocalId = 1 }.Validate());
        Assert.Throws<ArgumentException>(() => new RaftTransportOptions { SnapshotDirectory = "x" }.Validate());
        Assert.Throws<ArgumentException>(() => new RaftTransportOptions { LocalId = 1, SnapshotDirectory = "x", QueueCapacity = 0 }.Validate());
        new RaftTransportOptions { LocalId = 1, SnapshotDirectory = "x" }.Validate();
        Assert.Equal("8e9e05c52164694d", PeerProtocol.FormatId(0x8e9e05c52164694d));
        Assert.True(PeerProtocol.TryParseId("8e9e05c52164694d", out var id));
        Assert.Equal(0x8e9e05c52164694dUL, id);
    }
}
