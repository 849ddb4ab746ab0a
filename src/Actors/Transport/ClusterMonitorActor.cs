using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// The Akka cluster and the peer traffic as one member sees them, for monitoring (the answer to
/// <see cref="ClusterMonitorActor.GetClusterView"/>). An immutable snapshot: ask again for fresh values.
/// </summary>
/// <param name="SelfAddress">This member's Akka address (<c>akka.tcp://akka-etcd@host:port</c>, its advertised peer URL).</param>
/// <param name="LocalMemberId">This member's Raft member ID; 0 until the peer transport reported it (about 1 s after start).</param>
/// <param name="Leader">The Akka cluster's leader address (Akka's leader, not Raft's: it moves members Joining to Up and Exiting to Removed), or null while there is none.</param>
/// <param name="Members">Every member of the Akka cluster this member knows, this member included, ordered by address; empty before it joined.</param>
/// <param name="Peers">
/// Per-peer remote traffic counters (one entry per current Raft peer, ordered by member ID; monotonic since the peer was
/// added), from the peer transport's latest report. Empty until the first report.
/// </param>
/// <param name="PeersAt">When <paramref name="Peers"/> was read (UTC); null before the first report. Reports come about once a second while the member runs.</param>
/// <param name="Events">How many cluster events (membership, reachability, leader changes) this member saw since the monitor started; monotonic.</param>
public sealed record ClusterView(string SelfAddress, ulong LocalMemberId, string? Leader, IReadOnlyList<ClusterMemberView> Members,
    IReadOnlyList<PeerProtocol.PeerLinkStats> Peers, DateTime? PeersAt, long Events);

/// <summary>One member of the Akka cluster, as <see cref="ClusterView.Members"/> lists it.</summary>
/// <param name="Address">Its Akka address (equal to <see cref="PeerProtocol.PeerLinkStats.Address"/> of the same member).</param>
/// <param name="MemberId">Its Raft member ID when known (this member, or a current peer with that address); 0 otherwise (a removed or replaced member still in the Akka cluster).</param>
/// <param name="Status">Akka's member status: <c>Joining</c>, <c>WeaklyUp</c>, <c>Up</c>, <c>Leaving</c>, <c>Exiting</c>, <c>Down</c> (<c>Removed</c> members leave the list).</param>
/// <param name="Reachable">False while some member's failure detector marks it unreachable.</param>
/// <param name="IsSelf">True for this member.</param>
/// <param name="Roles">Its Akka roles (none by default), ordered.</param>
public sealed record ClusterMemberView(string Address, ulong MemberId, string Status, bool Reachable, bool IsSelf, IReadOnlyList<string> Roles);

/// <summary>
/// Watches the member's Akka cluster and peer traffic for monitoring. It runs at <c>/user/cluster-monitor</c>
/// (<see cref="Name"/>) and the node registers it in Akka.Hosting's <c>ActorRegistry</c> under the key
/// <c>ClusterMonitorActor</c> (<c>registry.Get&lt;ClusterMonitorActor&gt;()</c>).
/// <list type="bullet">
/// <item>Logs every membership and reachability event to the member's JSON log: <c>akka cluster: member ADDRESS ...</c>
/// joined / is weakly up / is up / is leaving / exited / was downed / was removed (warning: is unreachable; info: is
/// reachable again), and <c>akka cluster: leader is ADDRESS</c>.</item>
/// <item>Answers <see cref="GetClusterView"/> with a <see cref="ClusterView"/>: per-member Akka status and
/// reachability, the Akka leader, and the per-peer remote message and byte counters
/// (<see cref="PeerProtocol.PeerLinkStats"/>: <c>RemoteMessagesSent</c>, <c>BytesSent</c>,
/// <c>RemoteMessagesReceived</c>, <c>BytesReceived</c>, plus Raft message counts) that the <see cref="PeerActor"/>
/// publishes on the EventStream about once a second.</item>
/// </list>
/// It only watches: Raft never waits on what it sees. Read it with an Ask from outside actors (a dashboard, a metrics
/// exporter): <c>await monitor.Ask&lt;ClusterView&gt;(ClusterMonitorActor.GetClusterView.Instance, timeout)</c>; it
/// answers from memory at once.
/// </summary>
public sealed class ClusterMonitorActor : ReceiveActor
{
    /// <summary>The actor's name under <c>/user</c>.</summary>
    public const string Name = "cluster-monitor";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AkkaCluster _cluster = AkkaCluster.Get(Context.System);
    private long _events;
    private PeerProtocol.PeerStats? _peers;

    /// <summary>Asks for the current <see cref="ClusterView"/> (answered at once, never fails).</summary>
    public sealed record GetClusterView
    {
        /// <summary>The one instance.</summary>
        public static readonly GetClusterView Instance = new();
    }

    /// <summary>Props of the actor; the ActorSystem must run Akka.Cluster.</summary>
    public static Props Props() => Akka.Actor.Props.Create(() => new ClusterMonitorActor());

    /// <summary>Creates the actor; use <see cref="Props()"/>.</summary>
    public ClusterMonitorActor()
    {
        Receive<ClusterEvent.IMemberEvent>(OnMemberEvent);
        Receive<ClusterEvent.UnreachableMember>(e =>
        {
            _events++;
            _log.Warning("akka cluster: member {0} is unreachable (status {1})", e.Member.Address, e.Member.Status);
        });
        Receive<ClusterEvent.ReachableMember>(e =>
        {
            _events++;
            _log.Info("akka cluster: member {0} is reachable again (status {1})", e.Member.Address, e.Member.Status);
        });
        Receive<ClusterEvent.LeaderChanged>(e =>
        {
            _events++;
            _log.Info("akka cluster: leader is {0}", e.Leader?.ToString() ?? "none");
        });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<PeerProtocol.PeerStats>(stats => _peers = stats);
        Receive<GetClusterView>(_ => Sender.Tell(View()));
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));
        Context.System.EventStream.Subscribe(Self, typeof(PeerProtocol.PeerStats));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        Context.System.EventStream.Unsubscribe(Self);
    }

    private void OnMemberEvent(ClusterEvent.IMemberEvent e)
    {
        _events++;
        var what = e switch
        {
            ClusterEvent.MemberJoined => "joined",
            ClusterEvent.MemberWeaklyUp => "is weakly up",
            ClusterEvent.MemberUp => "is up",
            ClusterEvent.MemberLeft => "is leaving",
            ClusterEvent.MemberExited => "exited",
            ClusterEvent.MemberDowned => "was downed",
            ClusterEvent.MemberRemoved removed => $"was removed (previous status {removed.PreviousStatus})",
            _ => $"changed to {e.Member.Status}",
        };
        var self = e.Member.Address == _cluster.SelfAddress ? " (this member)" : "";
        _log.Info("akka cluster: member {0}{1} {2}", e.Member.Address, self, what);
    }

    private ClusterView View()
    {
        var state = _cluster.State;
        var self = _cluster.SelfAddress;
        var localId = _peers?.LocalId ?? 0;
        var ids = (_peers?.Peers ?? []).ToDictionary(p => p.Address, p => p.PeerId, StringComparer.Ordinal);
        var members = state.Members
            .Select(m =>
            {
                var address = m.Address.ToString();
                var id = m.Address == self ? localId : ids.GetValueOrDefault(address);
                return new ClusterMemberView(address, id, m.Status.ToString(), !state.Unreachable.Contains(m), m.Address == self,
                    m.Roles.Order(StringComparer.Ordinal).ToList());
            })
            .OrderBy(m => m.Address, StringComparer.Ordinal)
            .ToList();
        return new ClusterView(self.ToString(), localId, state.Leader?.ToString(), members, _peers?.Peers ?? [], _peers?.At, _events);
    }
}
