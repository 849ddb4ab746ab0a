using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// The <see cref="IRaftTransport"/> over Akka.Remote: a thin facade over the member's <see cref="PeerActor"/>
/// (<c>/user/peer</c>), which does the work (batches, acknowledgements, snapshots, checks, the Akka cluster). Calls are
/// tells; the status getters read what the actor last published. Also the edge's way to ask other members
/// (<see cref="IPeerRequests"/>). Thread-safe; see <see cref="IRaftTransport"/> for the threading rules of the events,
/// which run on the peer actor's thread.
/// </summary>
public sealed class RemoteRaftTransport : IRaftTransport, IPeerRequests, IPeerMember
{
    private readonly IActorRef _peerActor;
    private readonly ConcurrentDictionary<ulong, string> _peers = new();
    private ImmutableDictionary<ulong, DateTime> _active = ImmutableDictionary<ulong, DateTime>.Empty;
    private int _state; // 0 created, 1 running, 2 stopped

    /// <summary>Creates a stopped transport for member <paramref name="localId"/> of cluster <paramref name="clusterId"/>.</summary>
    /// <param name="peerActor">The ActorSystem's <see cref="PeerActor"/>.</param>
    /// <param name="localId">This member's ID.</param>
    /// <param name="clusterId">The cluster ID (checked on every inbound message).</param>
    public RemoteRaftTransport(IActorRef peerActor, ulong localId, ulong clusterId)
    {
        _peerActor = peerActor;
        LocalId = localId;
        ClusterId = clusterId;
    }

    /// <inheritdoc />
    public ulong LocalId { get; }

    /// <summary>The cluster ID.</summary>
    public ulong ClusterId { get; }

    /// <summary>The peer actor this transport drives (accepts <see cref="PeerProtocol.AskPeer"/>).</summary>
    public IActorRef PeerActor => _peerActor;

    /// <inheritdoc />
    public event Action<Message>? Received;

    /// <inheritdoc />
    public event Action<ulong>? Unreachable;

    /// <inheritdoc />
    public event Action<ulong, bool>? SnapshotStatus;

    /// <inheritdoc />
    public event Action<ulong>? RemovedFromCluster;

    /// <inheritdoc />
    public Func<Message, Stream>? OpenSnapshot { get; set; }

    /// <inheritdoc />
    public Func<Message, string, Task>? SnapshotReceived { get; set; }

    /// <inheritdoc />
    public Func<ulong, bool>? IsMemberRemoved { get; set; }

    /// <inheritdoc />
    public Func<ulong, IMessage, CancellationToken, Task<IMessage>>? Serve { get; set; }

    /// <summary>
    /// True while this member leads the Raft cluster (its peer actor then downs removed members in the Akka cluster);
    /// null: never.
    /// </summary>
    public Func<bool>? IsRaftLeader { get; set; }

    /// <inheritdoc />
    public IReadOnlyList<ulong> ActivePeers => Volatile.Read(ref _active).Keys.Where(_peers.ContainsKey).ToArray();

    /// <inheritdoc />
    public void Start()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) == 0)
        {
            _peerActor.Tell(new PeerProtocol.Attach(LocalId, ClusterId, this));
        }
    }

    /// <inheritdoc />
    public async Task StopAsync()
    {
        var previous = Interlocked.Exchange(ref _state, 2);
        if (previous != 1)
        {
            return;
        }
        try
        {
            await _peerActor.Ask<PeerProtocol.Detached>(PeerProtocol.Detach.Instance, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
        {
            // The actor system is going away; nothing more will be delivered either way.
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(StopAsync());

    /// <inheritdoc />
    public void Send(IReadOnlyList<Message> messages)
    {
        if (messages is { Count: > 0 } && Volatile.Read(ref _state) != 2)
        {
            _peerActor.Tell(new PeerProtocol.Send(messages));
        }
    }

    /// <inheritdoc />
    /// <remarks>Only the first URL is used: a member has exactly one peer URL (Akka.Remote binds one address).</remarks>
    public void AddPeer(ulong id, IReadOnlyList<string> peerUrls)
    {
        if (id == 0 || id == LocalId || peerUrls.Count == 0 || !_peers.TryAdd(id, peerUrls[0]))
        {
            return;
        }
        _peerActor.Tell(new PeerProtocol.AddPeer(id, peerUrls[0]));
    }

    /// <inheritdoc />
    public void RemovePeer(ulong id)
    {
        if (_peers.TryRemove(id, out _))
        {
            ImmutableInterlocked.TryRemove(ref _active, id, out _);
            _peerActor.Tell(new PeerProtocol.RemovePeer(id));
        }
    }

    /// <inheritdoc />
    public void UpdatePeer(ulong id, IReadOnlyList<string> peerUrls)
    {
        if (peerUrls.Count > 0 && _peers.ContainsKey(id))
        {
            _peers[id] = peerUrls[0];
            ImmutableInterlocked.TryRemove(ref _active, id, out _);
            _peerActor.Tell(new PeerProtocol.UpdatePeer(id, peerUrls[0]));
        }
    }

    /// <inheritdoc />
    public bool HasPeer(ulong id) => _peers.ContainsKey(id);

    /// <inheritdoc />
    public bool IsActive(ulong id) => ActiveSince(id) is not null;

    /// <inheritdoc />
    public DateTime? ActiveSince(ulong id) =>
        _peers.ContainsKey(id) && Volatile.Read(ref _active).TryGetValue(id, out var since) ? since : null;

    /// <inheritdoc />
    public async Task<IMessage> AskAsync(ulong memberId, IMessage request, TimeSpan timeout, CancellationToken cancel)
    {
        if (Volatile.Read(ref _state) != 1)
        {
            throw EtcdErrors.Stopped;
        }
        try
        {
            // The actor answers at the deadline; the ask's own timeout only guards against a stopped actor system.
            return await _peerActor.Ask<IMessage>(new PeerProtocol.AskPeer(memberId, request, timeout), timeout + TimeSpan.FromSeconds(2), cancel)
                .ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            throw new EtcdException(RpcStatusCode.DeadlineExceeded, "peer request timed out");
        }
    }

    void IPeerMember.OnReceived(Message message) => Received?.Invoke(message);

    void IPeerMember.OnUnreachable(ulong peerId) => Unreachable?.Invoke(peerId);

    void IPeerMember.OnSnapshotStatus(ulong peerId, bool succeeded) => SnapshotStatus?.Invoke(peerId, succeeded);

    void IPeerMember.OnRemovedFromCluster(ulong peerId) => RemovedFromCluster?.Invoke(peerId);

    void IPeerMember.OnActivityChanged(ulong peerId, DateTime? since)
    {
        if (since is { } at)
        {
            ImmutableInterlocked.AddOrUpdate(ref _active, peerId, at, (_, _) => at);
        }
        else
        {
            ImmutableInterlocked.TryRemove(ref _active, peerId, out _);
        }
    }

    bool IPeerMember.IsMemberRemoved(ulong memberId) => IsMemberRemoved?.Invoke(memberId) == true;

    bool IPeerMember.IsLeader => IsRaftLeader?.Invoke() == true;

    Stream IPeerMember.OpenSnapshot(Message message) =>
        (OpenSnapshot ?? throw new InvalidOperationException("no OpenSnapshot callback is set to read the snapshot's db file"))(message);

    Task IPeerMember.InstallSnapshotAsync(Message message, string dbPath) =>
        SnapshotReceived is { } install ? install(message, dbPath)
            : Task.FromException(new InvalidOperationException("this member does not accept snapshots"));

    Task<IMessage> IPeerMember.ServeAsync(ulong from, IMessage request, CancellationToken cancel) =>
        Serve is { } serve ? serve(from, request, cancel) : Task.FromException<IMessage>(EtcdErrors.Stopped);
}
