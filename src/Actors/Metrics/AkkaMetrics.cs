using Akka.Actor;
using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

/// <summary>
/// Akka metrics next to etcd's: the Akka cluster's members by status and its unreachable members (set from an
/// <see cref="AkkaClusterState"/> by <see cref="Publish"/>), remote traffic per peer (fed by the remoting layer through
/// <see cref="RemoteSent"/> and <see cref="RemoteReceived"/>), and the mailbox depths of the member's main actors
/// (sampled at each scrape by <see cref="SampleMailboxes"/>). Thread-safe.
/// </summary>
public static class AkkaMetrics
{
    /// <summary>Akka.Cluster's member statuses, each of which gets a series (0 when no member has it).</summary>
    public static readonly IReadOnlyList<string> MemberStatuses = ["Joining", "WeaklyUp", "Up", "Leaving", "Exiting", "Down", "Removed"];

    private static IMetricFactory Factory => MetricsRegistry.Factory;

    /// <summary><c>akka_cluster_members{status}</c> (gauge): members of the Akka cluster in each status, as this node sees them.</summary>
    public static readonly Gauge ClusterMembers = Factory.CreateGauge("akka_cluster_members",
        "Members of the Akka cluster by member status, as seen by this node.", ["status"]);

    /// <summary><c>akka_cluster_unreachable_members</c> (gauge): members some node's failure detector marks unreachable.</summary>
    public static readonly Gauge UnreachableMembers = Factory.CreateGauge("akka_cluster_unreachable_members",
        "Members of the Akka cluster marked unreachable, as seen by this node.");

    /// <summary><c>akka_cluster_is_leader</c> (gauge): 1 while this node is the Akka cluster's leader.</summary>
    public static readonly Gauge IsClusterLeader = Factory.CreateGauge("akka_cluster_is_leader",
        "Whether this node is the Akka cluster leader (1) or not (0).");

    /// <summary><c>akka_remote_messages_total{peer,direction}</c> (counter): remote messages sent ("out") to and received ("in") from a peer address.</summary>
    public static readonly Counter RemoteMessages = Factory.CreateCounter("akka_remote_messages_total",
        "Akka.Remote messages per peer and direction (in, out).", ["peer", "direction"]);

    /// <summary><c>akka_remote_bytes_total{peer,direction}</c> (counter): serialized bytes of those messages.</summary>
    public static readonly Counter RemoteBytes = Factory.CreateCounter("akka_remote_bytes_total",
        "Akka.Remote payload bytes per peer and direction (in, out).", ["peer", "direction"]);

    /// <summary><c>akka_actor_mailbox_depth{actor}</c> (gauge): messages waiting in a main actor's mailbox at the last scrape.</summary>
    public static readonly Gauge MailboxDepth = Factory.CreateGauge("akka_actor_mailbox_depth",
        "Messages waiting in the mailbox of the member's main actors, sampled at scrape time.", ["actor"]);

    static AkkaMetrics()
    {
        foreach (var status in MemberStatuses)
            ClusterMembers.WithLabels(status).Set(0);
        UnreachableMembers.Set(0);
    }

    /// <summary>Sets the cluster gauges from a view (members counted by status; unreachable ones counted apart too).</summary>
    public static void Publish(AkkaClusterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var status in MemberStatuses)
            ClusterMembers.WithLabels(status).Set(state.Members.Count(member => member.Status == status));
        UnreachableMembers.Set(state.Members.Count(member => !member.Reachable));
        IsClusterLeader.Set(state.Leader is not null && state.Leader == state.SelfAddress ? 1 : 0);
    }

    /// <summary>Records one message of <paramref name="bytes"/> serialized bytes sent to <paramref name="peer"/> (an Akka address).</summary>
    public static void RemoteSent(string peer, long bytes)
    {
        RemoteMessages.WithLabels(peer, "out").Inc();
        RemoteBytes.WithLabels(peer, "out").Inc(bytes);
    }

    /// <summary>Records one message of <paramref name="bytes"/> serialized bytes received from <paramref name="peer"/>.</summary>
    public static void RemoteReceived(string peer, long bytes)
    {
        RemoteMessages.WithLabels(peer, "in").Inc();
        RemoteBytes.WithLabels(peer, "in").Inc(bytes);
    }

    /// <summary>
    /// Sets <see cref="MailboxDepth"/> for each named local actor from its mailbox's current count (Akka's
    /// <c>ICell.NumberOfMessages</c>, read without stopping the actor). A remote or stopped ref reads 0.
    /// </summary>
    public static void SampleMailboxes(IEnumerable<(string Name, IActorRef Actor)> actors)
    {
        foreach (var (name, actor) in actors)
            MailboxDepth.WithLabels(name).Set(actor is ActorRefWithCell local ? local.Underlying.NumberOfMessages : 0);
    }
}
