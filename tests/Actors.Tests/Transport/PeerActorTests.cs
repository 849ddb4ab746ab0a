using Akka.Actor;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Transport;

/// <summary>
/// The peer actor over real Akka.Remote on loopback: Raft messages arrive in order and batched, only from current
/// members of the same cluster, removed members are told so, requests carry the peer's answers and errors, snapshots
/// travel in acknowledged chunks under a size cap, and a silent peer costs a bounded window, not memory.
/// </summary>
public sealed class PeerActorTests
{
    [Fact]
    public async Task Raft_messages_to_a_peer_arrive_in_order_many_per_remote_message()
    {
        await using var a = PeerNode.Start(1);
        await using var b = PeerNode.Start(2);
        a.Knows(b);
        b.Knows(a);
        await a.AttachAsync();
        await b.AttachAsync();

        const int bursts = 20, perBurst = 100;
        for (var burst = 0; burst < bursts; burst++)
            a.Send(Enumerable.Range(0, perBurst).Select(i => a.App(b, (ulong)(burst * perBurst + i + 1))).ToArray());

        var indexes = new List<ulong>();
        while (indexes.Count < bursts * perBurst)
            indexes.Add((await b.Member.NextAsync<ReceivedEvent>()).Message.Index);
        Assert.Equal(Enumerable.Range(1, bursts * perBurst).Select(i => (ulong)i), indexes);
        var received = (await b.StatsAsync()).Peers.Single();
        Assert.Equal(bursts * perBurst, received.MessagesReceived);
        // Pings and acknowledgements count as batches too; Raft messages still travel many to a batch.
        Assert.True(received.BatchesReceived < bursts * perBurst / 20, $"{received.BatchesReceived} batches for {bursts * perBurst} messages");
        // Monitoring's counters: every batch is one remote message, and its bytes include every Raft message carried.
        Assert.Equal(received.BatchesReceived, received.RemoteMessagesReceived);
        var payload = a.App(b, 1).CalculateSize();
        Assert.True(received.BytesReceived >= bursts * perBurst * payload, $"{received.BytesReceived} bytes received");
        var sent = (await a.StatsAsync()).Peers.Single();
        Assert.True(sent.RemoteMessagesSent >= sent.BatchesSent && sent.BytesSent >= bursts * perBurst * payload,
            $"{sent.RemoteMessagesSent} remote messages, {sent.BytesSent} bytes sent");
    }

    [Fact]
    public async Task Messages_from_a_non_member_a_spoofed_member_or_another_cluster_are_dropped()
    {
        await using var a = PeerNode.Start(1);
        await using var b = PeerNode.Start(2);
        await using var stranger = PeerNode.Start(3);
        await using var otherCluster = PeerNode.Start(4);
        b.Knows(a, otherCluster);
        a.Knows(b);
        stranger.Knows(b);
        otherCluster.Knows(b);
        await b.AttachAsync();
        await a.AttachAsync();
        await stranger.AttachAsync();
        await otherCluster.AttachAsync(clusterId: 0xbad);

        stranger.Send(stranger.App(b, 1));
        stranger.Send(new Message { Type = MessageType.MsgApp, From = a.Id, To = b.Id, Index = 2 }); // claims to be a
        otherCluster.Send(otherCluster.App(b, 3));
        await stranger.StatsAsync();
        await otherCluster.StatsAsync();
        a.Send(a.App(b, 4));

        // Messages of one link keep their order, so the first to arrive is the member's; the others were dropped.
        var first = await b.Member.NextAsync<ReceivedEvent>();
        Assert.Equal((a.Id, 4UL), (first.Message.From, first.Message.Index));
        var stats = (await b.StatsAsync()).Peers;
        Assert.Equal(0, stats.Single(p => p.PeerId == otherCluster.Id).MessagesReceived);
        Assert.DoesNotContain(b.Member.Drain(), e => e is ReceivedEvent);
    }

    [Fact]
    public async Task A_removed_member_that_sends_is_told_it_was_removed()
    {
        await using var a = PeerNode.Start(1);
        await using var removed = PeerNode.Start(3);
        a.Member.Removed.Add(removed.Id);
        removed.Knows(a);
        await a.AttachAsync();
        await removed.AttachAsync();

        removed.Send(removed.App(a, 1));

        Assert.Equal(a.Id, (await removed.Member.NextAsync<RemovedEvent>()).PeerId);
    }

    [Fact]
    public async Task Requests_are_answered_by_the_peers_handler_and_its_errors_keep_their_code_and_text()
    {
        await using var a = PeerNode.Start(1);
        await using var b = PeerNode.Start(2);
        a.Knows(b);
        b.Knows(a);
        b.Member.Handler = (from, request) => request switch
        {
            LeaseKeepAliveRequest renew when from == a.Id => Task.FromResult<IMessage>(new LeaseKeepAliveResponse { ID = renew.ID, TTL = 7 }),
            _ => Task.FromException<IMessage>(EtcdErrors.LeaseNotFound),
        };
        await a.AttachAsync();
        await b.AttachAsync();
        var timeout = TimeSpan.FromSeconds(10);

        var answer = await a.Peer.Ask<IMessage>(new PeerProtocol.AskPeer(b.Id, new LeaseKeepAliveRequest { ID = 5 }, timeout), timeout);
        var error = await Assert.ThrowsAsync<EtcdException>(() =>
            a.Peer.Ask<IMessage>(new PeerProtocol.AskPeer(b.Id, new LeaseTimeToLiveRequest { ID = 5 }, timeout), timeout));
        var unknown = await Assert.ThrowsAsync<EtcdException>(() =>
            a.Peer.Ask<IMessage>(new PeerProtocol.AskPeer(0x99, new LeaseTimeToLiveRequest { ID = 5 }, timeout), timeout));

        Assert.Equal(new LeaseKeepAliveResponse { ID = 5, TTL = 7 }, answer);
        Assert.Equal((EtcdErrors.LeaseNotFound.Code, EtcdErrors.LeaseNotFound.Message), (error.Code, error.Message));
        Assert.Equal(RpcStatusCode.Unavailable, unknown.Code);
    }

    [Fact]
    public async Task A_joining_member_gets_the_member_list_only_at_the_address_it_was_added_with()
    {
        await using var b = PeerNode.Start(2);
        await using var joiner = PeerNode.Start(5);
        await using var stranger = PeerNode.Start(6);
        b.Knows(joiner);
        b.Member.Handler = (_, _) => Task.FromResult<IMessage>(new MemberListResponse { Header = new ResponseHeader { ClusterId = PeerNode.ClusterId } });
        await b.AttachAsync();
        var timeout = TimeSpan.FromSeconds(10);

        var list = await joiner.Peer.Ask<IMessage>(new PeerProtocol.AskPeerUrl(b.Url, new MemberListRequest(), timeout), timeout);
        var refused = await Assert.ThrowsAsync<EtcdException>(() =>
            stranger.Peer.Ask<IMessage>(new PeerProtocol.AskPeerUrl(b.Url, new MemberListRequest(), timeout), timeout));

        Assert.Equal(PeerNode.ClusterId, ((MemberListResponse)list).Header.ClusterId);
        Assert.Equal(RpcStatusCode.FailedPrecondition, refused.Code);
    }

    [Fact]
    public async Task A_snapshot_travels_in_acknowledged_chunks_and_is_installed_with_its_bytes()
    {
        var options = new RaftTransportOptions { SnapshotChunkBytes = 256 * 1024, SnapshotWindowChunks = 2 };
        await using var a = PeerNode.Start(1, options);
        await using var b = PeerNode.Start(2, options);
        a.Knows(b);
        b.Knows(a);
        var db = new byte[2_500_000];
        new Random(7).NextBytes(db);
        a.Member.Snapshot = _ => new MemoryStream(db, writable: false);
        await a.AttachAsync();
        await b.AttachAsync();

        a.Send(SnapshotMessage(a, b, index: 42));

        var installed = await b.Member.NextAsync<InstalledEvent>();
        Assert.Equal(42UL, installed.Message.Snapshot.Metadata.Index);
        Assert.Equal(db, installed.Bytes);
        Assert.Equal(new SnapshotStatusEvent(b.Id, true), await a.Member.NextAsync<SnapshotStatusEvent>());
    }

    [Fact]
    public async Task A_snapshot_over_the_receivers_size_cap_is_refused_and_reported_failed()
    {
        await using var a = PeerNode.Start(1);
        await using var b = PeerNode.Start(2, new RaftTransportOptions { MaxSnapshotBytes = 1024 * 1024 });
        a.Knows(b);
        b.Knows(a);
        a.Member.Snapshot = _ => new MemoryStream(new byte[2 * 1024 * 1024], writable: false);
        await a.AttachAsync();
        await b.AttachAsync();

        a.Send(SnapshotMessage(a, b, index: 7));

        Assert.Equal(new SnapshotStatusEvent(b.Id, false), await a.Member.NextAsync<SnapshotStatusEvent>());
        Assert.DoesNotContain(b.Member.Drain(), e => e is InstalledEvent);
    }

    [Fact]
    public async Task Messages_to_a_silent_peer_are_dropped_once_its_window_is_full_and_it_is_reported_unreachable()
    {
        await using var a = PeerNode.Start(1, new RaftTransportOptions { WindowBatches = 4, AckTimeout = TimeSpan.FromMinutes(5) });
        await using var silent = PeerNode.Start(2); // never attached: it accepts nothing and acknowledges nothing
        a.Knows(silent);
        await a.AttachAsync();

        for (ulong i = 1; i <= 6; i++)
        {
            a.Send(a.App(silent, i));
            await a.StatsAsync(); // the flush of this send ran before the answer
        }

        Assert.Equal(silent.Id, (await a.Member.NextAsync<UnreachableEvent>()).PeerId);
        var link = (await a.StatsAsync()).Peers.Single();
        Assert.Equal(4, link.InFlight);
        Assert.True(link.MessagesDropped >= 2, $"dropped {link.MessagesDropped}");
    }

    private static Message SnapshotMessage(PeerNode from, PeerNode to, ulong index) => new()
    {
        Type = MessageType.MsgSnap,
        From = from.Id,
        To = to.Id,
        Term = 1,
        Snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = index, Term = 1, ConfState = new ConfState { Voters = { from.Id, to.Id } } } },
    };
}
