using System.Threading.Channels;
using Akka.Actor;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.TestDoubles;
using Etcdserverpb;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Transport;

/// <summary>What a <see cref="FakePeerMember"/> saw, in order.</summary>
public abstract record PeerEvent;

/// <summary>A Raft message arrived.</summary>
public sealed record ReceivedEvent(Message Message) : PeerEvent;

/// <summary>A peer was reported unreachable.</summary>
public sealed record UnreachableEvent(ulong PeerId) : PeerEvent;

/// <summary>A snapshot send ended.</summary>
public sealed record SnapshotStatusEvent(ulong PeerId, bool Succeeded) : PeerEvent;

/// <summary>A peer said this member was removed.</summary>
public sealed record RemovedEvent(ulong PeerId) : PeerEvent;

/// <summary>A snapshot was handed over for installation (the file's bytes read at once).</summary>
public sealed record InstalledEvent(Message Message, byte[] Bytes) : PeerEvent;

/// <summary>
/// A member as the peer actor sees it, recording every callback as a <see cref="PeerEvent"/>; what it serves and which
/// members count as removed is set by the test.
/// </summary>
public sealed class FakePeerMember : IPeerMember
{
    private readonly Channel<PeerEvent> _events = Channel.CreateUnbounded<PeerEvent>();

    public Func<Message, Stream> Snapshot { get; set; } = _ => throw new InvalidOperationException("no snapshot");

    public Func<ulong, IMessage, Task<IMessage>> Handler { get; set; } =
        (_, _) => Task.FromException<IMessage>(new EtcdException(RpcStatusCode.Unimplemented, "not served"));

    public HashSet<ulong> Removed { get; } = [];

    public bool IsLeader { get; set; }

    /// <summary>The next event, or a failed test after <paramref name="deadline"/>.</summary>
    public async Task<PeerEvent> NextAsync(TimeSpan? deadline = null) =>
        await _events.Reader.ReadAsync().AsTask().WaitAsync(deadline ?? TimeSpan.FromSeconds(20));

    /// <summary>The next event of type <typeparamref name="T"/>, skipping others (e.g. Unreachable reports while connecting).</summary>
    public async Task<T> NextAsync<T>(TimeSpan? deadline = null) where T : PeerEvent
    {
        using var cancel = new CancellationTokenSource(deadline ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if (await _events.Reader.ReadAsync(cancel.Token) is T match)
                return match;
        }
    }

    /// <summary>Every event recorded so far.</summary>
    public List<PeerEvent> Drain()
    {
        var all = new List<PeerEvent>();
        while (_events.Reader.TryRead(out var e)) all.Add(e);
        return all;
    }

    public void OnReceived(Message message) => _events.Writer.TryWrite(new ReceivedEvent(message));

    public void OnUnreachable(ulong peerId) => _events.Writer.TryWrite(new UnreachableEvent(peerId));

    public void OnSnapshotStatus(ulong peerId, bool succeeded) => _events.Writer.TryWrite(new SnapshotStatusEvent(peerId, succeeded));

    public void OnRemovedFromCluster(ulong peerId) => _events.Writer.TryWrite(new RemovedEvent(peerId));

    public void OnActivityChanged(ulong peerId, DateTime? since)
    {
    }

    public bool IsMemberRemoved(ulong memberId) => Removed.Contains(memberId);

    public Stream OpenSnapshot(Message message) => Snapshot(message);

    public Task InstallSnapshotAsync(Message message, string dbPath)
    {
        _events.Writer.TryWrite(new InstalledEvent(message, File.ReadAllBytes(dbPath)));
        File.Delete(dbPath);
        return Task.CompletedTask;
    }

    public Task<IMessage> ServeAsync(ulong from, IMessage request, CancellationToken cancel) => Handler(from, request);
}

/// <summary>One member's ActorSystem with remoting on a loopback port and its peer actor, serving a <see cref="FakePeerMember"/>.</summary>
public sealed class PeerNode : IAsyncDisposable
{
    private readonly string _snapshots;

    private PeerNode(ulong id, int port, RaftTransportOptions? options)
    {
        Id = id;
        Url = $"http://127.0.0.1:{port}";
        _snapshots = Path.Combine(Path.GetTempPath(), $"akka-etcd-peer-test-{Guid.NewGuid():N}");
        System = ActorSystem.Create(PeerAddress.SystemName, RemotingTestConfig.ForPort(port, cluster: false));
        Peer = System.ActorOf(PeerActor.Props((options ?? new RaftTransportOptions()) with { SnapshotDirectory = _snapshots }),
            PeerAddress.PeerActorName);
    }

    public ulong Id { get; }

    public string Url { get; }

    public ActorSystem System { get; }

    public IActorRef Peer { get; }

    public FakePeerMember Member { get; } = new();

    public const ulong ClusterId = 0xc1;

    public static PeerNode Start(ulong id, RaftTransportOptions? options = null) =>
        new(id, RemotingTestConfig.FreePorts(1)[0], options);

    public PeerNode Knows(params PeerNode[] peers)
    {
        foreach (var peer in peers) Peer.Tell(new PeerProtocol.AddPeer(peer.Id, peer.Url));
        return this;
    }

    public Task AttachAsync(ulong clusterId = ClusterId) =>
        Peer.Ask<PeerProtocol.Attached>(new PeerProtocol.Attach(Id, clusterId, Member), TimeSpan.FromSeconds(10));

    public void Send(params Message[] messages) => Peer.Tell(new PeerProtocol.Send(messages));

    public Task<PeerProtocol.PeerStats> StatsAsync() =>
        Peer.Ask<PeerProtocol.PeerStats>(PeerProtocol.GetPeerStats.Instance, TimeSpan.FromSeconds(10));

    /// <summary>A small Raft message from this node to <paramref name="to"/>, numbered by <paramref name="index"/>.</summary>
    public Message App(PeerNode to, ulong index) =>
        new() { Type = MessageType.MsgApp, From = Id, To = to.Id, Index = index, Term = 1, Entries = { new Entry { Index = index, Data = ByteString.CopyFromUtf8("v" + index) } } };

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        try
        {
            Directory.Delete(_snapshots, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
