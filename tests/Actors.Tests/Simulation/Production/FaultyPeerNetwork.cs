using Akka.Etcd.Actors.Transport;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>
/// The peer network of a simulated cluster, on the <see cref="SimulationLoop"/>: every Raft message gets a seeded
/// delay (so messages between a pair reorder), may be dropped or duplicated (a proposal forwarded to the leader,
/// MsgProp, never is: see <see cref="DuplicateRate"/>), and is lost when its directed link is cut
/// at delivery time or its receiver is down. A delivery is a loop timer: the receiver's RaftActor gets the message in
/// virtual time. MsgSnap is reported failed (the simulated members never compact their log, see the simulation's
/// remarks). Single-threaded (the loop's thread).
/// </summary>
internal sealed class FaultyPeerNetwork(SimulationLoop loop)
{
    private static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly Dictionary<ulong, Transport> _transports = new();
    private readonly HashSet<(ulong From, ulong To)> _cut = new();

    /// <summary>Probability that a message is lost.</summary>
    public double DropRate { get; set; }

    /// <summary>
    /// Probability that a message is delivered twice (the copy with its own delay). MsgProp is never duplicated: Raft
    /// tolerates a duplicate of every message but a proposal, which the leader would append (and every member apply)
    /// twice, and neither etcd's rafthttp nor our transport (Akka.Remote, at most once; the PeerActor never resends a
    /// batch) delivers a message twice. A duplicated put applied after another client's write would bring its value
    /// back, which the checker rightly reports but production cannot do.
    /// </summary>
    public double DuplicateRate { get; set; }

    /// <summary>Shortest delivery delay in virtual ms.</summary>
    public int MinDelayMs { get; set; } = 1;

    /// <summary>Longest delivery delay in virtual ms.</summary>
    public int MaxDelayMs { get; set; } = 10;

    /// <summary>Messages sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Messages lost (dropped, cut, or their receiver down).</summary>
    public long Lost { get; private set; }

    /// <summary>The transport of member <paramref name="localId"/> (a new one per incarnation).</summary>
    public IRaftTransport Create(ulong localId) => _transports[localId] = new Transport(this, localId);

    /// <summary>Only members in the same group talk (each direction cut between groups).</summary>
    public void Partition(IReadOnlyList<ulong[]> groups)
    {
        foreach (var a in groups.SelectMany(g => g))
        {
            foreach (var b in groups.SelectMany(g => g))
            {
                if (a != b && !groups.Any(g => g.Contains(a) && g.Contains(b)))
                {
                    _cut.Add((a, b));
                }
            }
        }
    }

    /// <summary>Cuts one direction only (an asymmetric partition).</summary>
    public void CutOneWay(ulong from, ulong to) => _cut.Add((from, to));

    /// <summary>Restores every link.</summary>
    public void Heal() => _cut.Clear();

    /// <summary>The cut links, for traces.</summary>
    public string Describe() => _cut.Count == 0 ? "whole" : string.Join(' ', _cut.OrderBy(c => c).Select(c => $"{c.From % 1000}->{c.To % 1000}"));

    private void Send(Transport from, Message message)
    {
        Sent++;
        if (message.Type == MessageType.MsgSnap)
        {
            loop.At(TimeSpan.FromMilliseconds(1), 0, () => from.Report(message.To));
            return;
        }
        var copies = loop.Random.NextDouble() < DuplicateRate && message.Type != MessageType.MsgProp ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            var dropped = loop.Random.NextDouble() < DropRate;
            var copy = message.Clone();
            loop.At(TimeSpan.FromMilliseconds(loop.Random.Next(MinDelayMs, MaxDelayMs + 1)), 0, () =>
            {
                if (dropped || _cut.Contains((copy.From, copy.To)) || !_transports.TryGetValue(copy.To, out var to) || !to.Running)
                {
                    Lost++;
                    return;
                }
                to.Deliver(copy);
            });
        }
    }

    private sealed class Transport(FaultyPeerNetwork network, ulong localId) : IRaftTransport
    {
        private readonly Dictionary<ulong, DateTime> _peers = new();

        public bool Running { get; private set; }

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

        public void Deliver(Message message) => Received?.Invoke(message);

        public void Report(ulong to) => SnapshotStatus?.Invoke(to, false);

        public void Start() => Running = true;

        /// <summary>The process died or stopped: nothing more goes in or out.</summary>
        public Task StopAsync()
        {
            Running = false;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => new(StopAsync());

        public void Send(IReadOnlyList<Message> messages)
        {
            if (!Running)
            {
                return;
            }
            foreach (var message in messages)
            {
                if (_peers.ContainsKey(message.To))
                {
                    network.Send(this, message);
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
                _peers.TryAdd(id, Epoch + network.LoopNow);
            }
        }

        public void RemovePeer(ulong id) => _peers.Remove(id);

        public void UpdatePeer(ulong id, IReadOnlyList<string> peerUrls)
        {
        }

        public bool HasPeer(ulong id) => _peers.ContainsKey(id);

        public IReadOnlyList<ulong> ActivePeers => _peers.Keys.Where(IsActive).ToList();

        public bool IsActive(ulong id) => ActiveSince(id) is not null;

        public DateTime? ActiveSince(ulong id) =>
            Running && _peers.TryGetValue(id, out var since) && network._transports.TryGetValue(id, out var peer) && peer.Running ? since : null;
    }

    private TimeSpan LoopNow => loop.Now;
}
