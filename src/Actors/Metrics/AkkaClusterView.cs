using Akka.Actor;

namespace Akka.Etcd.Actors.Metrics;

/// <summary>One node of the Akka cluster as the cluster sees it (Akka.Cluster's <c>Member</c> plus reachability).</summary>
/// <param name="Address">The node's Akka address, e.g. <c>akka.tcp://akka-etcd@10.0.0.1:2552</c>.</param>
/// <param name="Status">Akka.Cluster's member status: Joining, WeaklyUp, Up, Leaving, Exiting, Down, Removed.</param>
/// <param name="Reachable">False while some node's failure detector marks it unreachable.</param>
/// <param name="Roles">The node's cluster roles.</param>
/// <param name="MemberName">The etcd member name running on that node (<c>--name</c>), when known; lets the dashboard
/// put the Akka row next to the Raft row of the same member.</param>
public sealed record AkkaClusterMember(string Address, string Status, bool Reachable, IReadOnlyList<string> Roles, string? MemberName = null);

/// <summary>The Akka cluster as one node sees it: every member, who leads the cluster (Akka's leader, not Raft's), and which node answered.</summary>
/// <param name="SelfAddress">The answering node's Akka address.</param>
/// <param name="Leader">The Akka cluster leader's address; null while there is none.</param>
/// <param name="Members">Every member known, unreachable ones included.</param>
public sealed record AkkaClusterState(string SelfAddress, string? Leader, IReadOnlyList<AkkaClusterMember> Members);

/// <summary>
/// Where the dashboard and the <c>akka_cluster_*</c> metrics get the Akka cluster view from. Register one implementation
/// in the client listener's DI; without one, <see cref="AkkaClusterViewUnavailable"/> answers null and the dashboard
/// shows "cluster view not available". A member registers <see cref="ClusterMonitorView"/> over its cluster monitor.
/// </summary>
public interface IAkkaClusterView
{
    /// <summary>The current view, or null when this member has no Akka cluster (or its view cannot be had now).</summary>
    Task<AkkaClusterState?> GetAsync(CancellationToken cancel);
}

/// <summary>The view of a member that runs no Akka cluster: always null.</summary>
public sealed class AkkaClusterViewUnavailable : IAkkaClusterView
{
    /// <summary>The one instance.</summary>
    public static readonly AkkaClusterViewUnavailable Instance = new();

    /// <inheritdoc />
    public Task<AkkaClusterState?> GetAsync(CancellationToken cancel) => Task.FromResult<AkkaClusterState?>(null);
}

/// <summary>
/// The member's view: asks its <see cref="Transport.ClusterMonitorActor"/> (an ask at the edge, as every HTTP handler
/// does) for a <see cref="Transport.ClusterView"/> and maps it, naming each Akka member by the etcd member name of its
/// Raft member ID. No answer within <paramref name="timeout"/> (default 1 s), or any other answer, gives null ("not
/// available") rather than an error, so the dashboard keeps showing the Raft view. Each answer also feeds
/// <see cref="AkkaMetrics.Publish"/>. Thread-safe.
/// </summary>
/// <param name="monitor">The member's cluster monitor (<c>/user/cluster-monitor</c>).</param>
/// <param name="memberName">The etcd member name (<c>--name</c>) of a Raft member ID, or null when unknown (a removed
/// member still in the Akka cluster, or a member that has not published its name).</param>
/// <param name="timeout">How long to wait for the monitor.</param>
public sealed class ClusterMonitorView(IActorRef monitor, Func<ulong, string?> memberName, TimeSpan? timeout = null) : IAkkaClusterView
{
    private readonly TimeSpan _timeout = timeout ?? TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    public async Task<AkkaClusterState?> GetAsync(CancellationToken cancel)
    {
        try
        {
            var answer = await monitor.Ask(Transport.ClusterMonitorActor.GetClusterView.Instance, _timeout, cancel).ConfigureAwait(false);
            if (answer is not Transport.ClusterView view)
                return null;
            var state = new AkkaClusterState(view.SelfAddress, view.Leader, view.Members
                .Select(member => new AkkaClusterMember(member.Address, member.Status, member.Reachable, member.Roles,
                    member.MemberId == 0 ? null : memberName(member.MemberId)))
                .ToList());
            AkkaMetrics.Publish(state);
            return state;
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or OperationCanceledException)
        {
            return null;
        }
    }
}
