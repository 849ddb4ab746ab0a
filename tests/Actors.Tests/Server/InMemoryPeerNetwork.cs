using System.Collections.Concurrent;
using Akka.Etcd.Actors.Transport;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>
/// In-process peer transports for several <c>LocalMember</c>s of one test: a message is handed to the receiving
/// member's <see cref="IRaftTransport.Received"/> inline on the sender's thread (so per-peer FIFO holds). A peer counts
/// as connected (<see cref="IRaftTransport.ActiveSince"/>) from when it was added until its transport stops. MsgSnap is
/// not carried (reported failed). <see cref="Drop"/> loses chosen messages. Thread-safe.
/// </summary>
internal sealed class InMemoryPeerNetwork
{
    private readonly ConcurrentDictionary<ulong, Transport> _members = new();

    /// <summary>Returns true for a message that must be lost on the way (silently). Called on the sender's thread.</summary>
    public Func<Message, bool>? Drop { get; set; }

    /// <summary>A transport for member <paramref name="localId"/>; pass it as <c>LocalMember.OpenAsync</c>'s factory result.</summary>
    public IRaftTransport Create(ulong localId) => _members[localId] = new Transport(this, localId);

    /// <summary>The transport factory shape of <c>LocalMember.OpenAsync</c> (member ID, cluster ID).</summary>
    public IRaftTransport Create(ulong localId, ulong clusterId) => Create(localId);

    private bool TryRunning(ulong id, out Transport transport) =>
        _members.TryGetValue(id, out transport!) && transport.Running;

    private sealed class Transport(InMemoryPeerNetwork network, ulong localId) : IRaftTransport
    {
        private readonly ConcurrentDictionary<ulong, DateTime> _peers = new();
        private volatile bool _running;

        public bool Running => _running;

        public ulong LocalId => localId;

        public event Action<Message>? Received;

        public event Action<ulong>? Unreachable;

        public event Action<ulong, bool>? SnapshotStatus;

        public event Action<ulong>? RemovedFromCluster
        {
            add { }
            remove { }
        }

        public Func<Message, Stream>? OpenSnapshot { get; set; }

        public Func<Message, string, Task>? SnapshotReceived { get; set; }

        public Func<ulong, bool>? IsMemberRemoved { get; set; }

        public void Start() => _running = true;

        public Task StopAsync()
        {
            _running = false;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => new(StopAsync());

        public void Send(IReadOnlyList<Message> messages)
        {
            if (!_running)
            {
                return;
            }
            foreach (var message in messages)
            {
                if (!_peers.ContainsKey(message.To) || network.Drop?.Invoke(message) == true)
                {
                    continue;
                }
                if (message.Type == MessageType.MsgSnap)
                {
                    SnapshotStatus?.Invoke(message.To, false);
                }
                else if (network.TryRunning(message.To, out var peer))
                {
                    peer.Received?.Invoke(message.Clone());
                }
                else
                {
                    Unreachable?.Invoke(message.To);
                }
            }
        }

        public void AddPeer(ulong id, IReadOnlyList<string> peerUrls)
        {
            if (id != localId)
            {
                _peers.TryAdd(id, DateTime.UtcNow);
            }
        }

        public void RemovePeer(ulong id) => _peers.TryRemove(id, out _);

        public void UpdatePeer(ulong id, IReadOnlyList<string> peerUrls)
        {
        }

        public bool HasPeer(ulong id) => _peers.ContainsKey(id);

        public IReadOnlyList<ulong> ActivePeers => _peers.Keys.Where(IsActive).ToList();

        public bool IsActive(ulong id) => ActiveSince(id) is not null;

        public DateTime? ActiveSince(ulong id) =>
            _running && _peers.TryGetValue(id, out var since) && network.TryRunning(id, out _) ? since : null;
    }
}
