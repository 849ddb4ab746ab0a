using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Metrics;
using Etcdserverpb;

namespace Akka.Etcd.Api.Dashboard;

/// <summary>
/// What one member says about itself on <c>GET /dashboard/member</c> (JSON, camelCase): its Raft view, applied state,
/// db size against the quota, alarms, watch and lease counts, and cumulative request counts with latency buckets (the page
/// turns two reads into rates and percentiles). IDs are hex strings as etcdctl prints them; sizes in bytes.
/// </summary>
/// <param name="Id">Member ID (hex).</param>
/// <param name="Name">Member name (<c>--name</c>).</param>
/// <param name="ClientUrls">Advertised client URLs.</param>
/// <param name="Role">"leader", "follower", "learner" or "no leader".</param>
/// <param name="Leader">The leader's member ID (hex); "0" when there is none.</param>
/// <param name="Term">Raft term.</param>
/// <param name="CommitIndex">Raft commit index.</param>
/// <param name="AppliedIndex">Highest applied index.</param>
/// <param name="LastIndex">Last index of this member's Raft log.</param>
/// <param name="Revision">MVCC revision.</param>
/// <param name="DbSize">Backend size in bytes.</param>
/// <param name="DbSizeInUse">Bytes of the backend in use (as of the last backend commit).</param>
/// <param name="Quota">The backend quota in bytes.</param>
/// <param name="Alarms">Raised alarms: "NOSPACE", "CORRUPT".</param>
/// <param name="WatchStreams">Open Watch streams.</param>
/// <param name="Watchers">Watchers over all streams.</param>
/// <param name="Leases">Live leases.</param>
/// <param name="Requests">Unary calls served (JSON gateway included).</param>
/// <param name="FailedRequests">Of those, answered with a status other than OK.</param>
/// <param name="LatencyBounds">Upper bounds of the latency buckets, seconds.</param>
/// <param name="LatencyBuckets">Calls per latency bucket (one more bucket than bounds: past the last bound).</param>
/// <param name="Version">The etcd version served.</param>
/// <param name="Akka">This member's view of the Akka cluster; null when not available.</param>
public sealed record MemberReport(
    string Id, string Name, IReadOnlyList<string> ClientUrls, string Role, string Leader, ulong Term, ulong CommitIndex,
    ulong AppliedIndex, ulong LastIndex, long Revision, long DbSize, long DbSizeInUse, long Quota, IReadOnlyList<string> Alarms,
    long WatchStreams, long Watchers, long Leases, long Requests, long FailedRequests, IReadOnlyList<double> LatencyBounds,
    IReadOnlyList<long> LatencyBuckets, string Version, AkkaClusterState? Akka)
{
    /// <summary>Reads the report of <paramref name="server"/> now (its alarms from the store: they are replicated state;
    /// a store that does not answer within 1 s reports none rather than failing the page).</summary>
    public static async Task<MemberReport> OfAsync(MemberGateway server, AkkaClusterState? akka, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(server);
        var status = server.Status;
        var self = server.MemberList().Members.FirstOrDefault(member => member.ID == status.MemberId);
        var role = self?.IsLearner == true ? "learner" : status.IsLeader ? "leader" : status.HasLeader ? "follower" : "no leader";
        IReadOnlyList<AlarmMember> raised;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            raised = await Services.MaintenanceService.ActiveAlarmsAsync(server, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or Protos.Errors.EtcdException && !cancel.IsCancellationRequested)
        {
            raised = [];
        }
        var alarms = raised
            .Select(alarm => alarm.Alarm == AlarmType.Nospace ? "NOSPACE" : alarm.Alarm == AlarmType.Corrupt ? "CORRUPT" : "NONE").ToArray();
        var (total, failed, buckets) = RequestLatencyStats.Read();
        return new MemberReport(
            status.MemberId.ToString("x"), self?.Name ?? server.Options.Name, self?.ClientURLs.ToArray() ?? [],
            role, status.Leader.ToString("x"), status.Term, status.CommitIndex, status.AppliedIndex, status.LastIndex, status.Revision,
            status.DbSizeBytes, (long)EtcdMetrics.DbTotalSizeInUse.Value, server.Options.EffectiveQuotaBytes, alarms,
            (long)EtcdMetrics.WatchStreams.Value, (long)EtcdMetrics.Watchers.Value, (long)EtcdMetrics.Leases.Value,
            total, failed, RequestLatencyStats.UpperBounds, buckets, LocalMember.ServerVersion, akka);
    }
}

/// <summary>One member of the cluster on <c>GET /dashboard/cluster</c>: its member-list entry and its own report, or why none came.</summary>
/// <param name="Id">Member ID (hex).</param>
/// <param name="Name">Name from the member list (empty until the member published it).</param>
/// <param name="PeerUrls">Peer URLs.</param>
/// <param name="ClientUrls">Client URLs.</param>
/// <param name="IsLearner">True for a learner.</param>
/// <param name="Report">The member's report; null when it could not be had.</param>
/// <param name="Error">Why there is no report (e.g. "unreachable: Connection refused").</param>
public sealed record ClusterMemberReport(string Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls,
    bool IsLearner, MemberReport? Report, string? Error);

/// <summary>The whole cluster as one member gathers it on <c>GET /dashboard/cluster</c>.</summary>
/// <param name="ClusterId">Cluster ID (hex).</param>
/// <param name="ServedBy">The member that gathered it (hex ID).</param>
/// <param name="Members">Every member of the member list, with its report.</param>
/// <param name="Akka">The serving member's view of the Akka cluster; null when not available.</param>
/// <param name="TimeMs">When it was gathered (Unix ms), for the page's rates.</param>
public sealed record ClusterReport(string ClusterId, string ServedBy, IReadOnlyList<ClusterMemberReport> Members, AkkaClusterState? Akka, long TimeMs);
