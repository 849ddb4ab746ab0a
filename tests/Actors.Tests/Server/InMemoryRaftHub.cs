using Akka.Etcd.Actors.Transport;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>
/// Connects in-process members: a message sent by one is handed to the addressee's <see cref="IRaftTransport.Received"/>
/// at once (on the sender's thread; the receiver only enqueues it). <see cref="Drop"/> decides which messages are lost.
/// </summary>
internal sealed class InMemoryRaftHub
{
    private readonly Dictionary<ulong, Transport> _members = [];
    private readonly object _gate = new();

    /// <summary>Returns true for a message that must be lost on the way. Called on the sender's thread.</summary>
    public Func<Message, bool>? Drop { get; set; }

    /// <summary>A transport factory for <see cref="Akka.Etcd.Actors.Server.EtcdServer.OpenAsync"/>.</summary>
    public IRaftTransport Create(ulong memberId, ulong clusterId)
    {
        var transport = new Transport(this, memberId);
        lock (_gate)
        {
            _members[memberId] = transport;
        }
        return transport;
    }

    private void Deliver(IReadOnlyList<Message> messages)
    {
        foreach (var message in messages)
        {
            Transport? target;
            lock (_gate)
            {
                _members.TryGetValue(message.To, out target);
            }
            if (target is null || target.Stopped || Drop?.Invoke(message) == true)
            {
                continue;
            }
            target.Receive(message.Clone());
        }
    }

    private sealed class Transport(InMemoryRaftHub hub, ulong localId) : IRaftTransport
    {
        private readonly HashSet<ulong> _peers = [];
        private readonly DateTime _started = DateTime.UtcNow;

        public bool Stopped { get; private set; }

        public ulong LocalId { get; } = localId;

        public event Action<Message>? Received;

        public event Action<ulong>? Unreachable
        {
            add { }
            remove { }
        }

        public event Action<ulong, bool>? SnapshotStatus
        {
            add { }
            remove { }
        }

        public event Action<ulong>? RemovedFromCluster
        {
            add { }
            remove { }
        }

        public Func<Message, Stream>? OpenSnapshot { get; set; }

        public Func<Message, string, Task>? SnapshotReceived { get; set; }

        public Func<ulong, bool>? IsMemberRemoved { get; set; }

        public IReadOnlyList<ulong> ActivePeers
        {
            get
            {
                lock (_peers)
                {
                    return [.. _peers];
                }
            }
        }

        public void Receive(Message message) => Received?.Invoke(message);

        public void Start()
        {
        }

        public Task StopAsync()
        {
            Stopped = true;
            return Task.CompletedTask;
        }

        public void Send(IReadOnlyList<Message> messages)
        {
            if (!Stopped)
            {
                hub.Deliver(messages);
            }
        }

        public void AddPeer(ulong id, IReadOnlyList<string> peerUrls)
        {
            lock (_peers)
            {
                _peers.Add(id);
            }
        }

        public void RemovePeer(ulong id)
        {
            lock (_peers)
            {
                _peers.Remove(id);
            }
        }

        public void UpdatePeer(ulong id, IReadOnlyList<string> peerUrls)
        {
        }

        public bool HasPeer(ulong id)
        {
            lock (_peers)
            {
                return _peers.Contains(id);
            }
        }

        public bool IsActive(ulong id) => HasPeer(id);

        public DateTime? ActiveSince(ulong id) => HasPeer(id) ? _started : null;

        public ValueTask DisposeAsync()
        {
            Stopped = true;
            return ValueTask.CompletedTask;
        }
    }
}
