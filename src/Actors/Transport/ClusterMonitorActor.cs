using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Akka.Etcd.Actors.Transport;

/// <summary>The Akka cluster as one member sees it, for monitoring (answer of <see cref="ClusterMonitorActor.GetClusterView"/>).</summary>
/// <param name="SelfAddress">This member's Akka address (<c>akka.tcp://akka-etcd@host:port</c>, its advertised peer URL).</param>
/// <param name="Leader">The Akka cluster's leader (Akka's, not Raft's), or null while there is none.</param>
/// <param name="Members">Every member of the Akka cluster this member knows, ordered by address.</param>
/// <param name="Events">How many cluster events this member saw since it started (member up, unreachable, ...).</param>
public sealed record ClusterView(string SelfAddress, string? Leader, IReadOnlyList<ClusterMemberView> Members, long Events);

/// <summary>One member of the Akka cluster.</summary>
/// <param name="Address">Its Akka address.</param>
/// <param name="Status">Akka's member status: Joining, WeaklyUp, Up, Leaving, Exiting, Down, Removed.</param>
/// <param name="Reachable">False while some member's failure detector marks it unreachable.</param>
/// <param name="Roles">Its Akka roles (none by default).</param>
public sealed record ClusterMemberView(string Address, string Status, bool Reachable, IReadOnlyList<string> Roles);

/// <summary>
/// Watches the member's Akka cluster for monitoring (<c>/user/cluster-monitor</c>): logs every membership and
/// reachability event to the member's JSON log (member joined / up / weakly up / left / exited / removed / downed,
/// unreachable, reachable again, leader changed) and answers <see cref="GetClusterView"/> with the current view
/// (members with status and reachability, the Akka leader). It only watches: Raft never waits on what it sees.
/// </summary>
public sealed class ClusterMonitorActor : ReceiveActor
{
    /// <summary>The actor's name under <c>/user</c>.</summary>
    public const string Name = "cluster-monitor";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AkkaCluster _cluster = AkkaCluster.Get(Context.System);
    private long _events;

    /// <summary>Asks for the current <see cref="ClusterView"/>.</summary>
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
        Receive<GetClusterView>(_ => Sender.Tell(View()));
    }

    /// <inheritdoc />
    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));

    /// <inheritdoc />
    protected override void PostStop() => _cluster.Unsubscribe(Self);

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
        var members = state.Members
            .Select(m => new ClusterMemberView(m.Address.ToString(), m.Status.ToString(), !state.Unreachable.Contains(m), m.Roles.Order(StringComparer.Ordinal).ToList()))
            .OrderBy(m => m.Address, StringComparer.Ordinal)
            .ToList();
        return new ClusterView(_cluster.SelfAddress.ToString(), state.Leader?.ToString(), members, _events);
    }
}
