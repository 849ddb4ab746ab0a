using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

/// <summary>
/// etcd 3.4's Prometheus metrics, with etcd's names, types, labels and buckets (etcdserver/metrics.go, wal/metrics.go,
/// mvcc/metrics.go, mvcc/backend/metrics.go, lease/metrics.go, etcdserver/api/rafthttp/metrics.go,
/// etcdserver/api/v3rpc/metrics.go, grpc-go's go-grpc-prometheus), so that etcd's Grafana dashboard and alerting rules
/// work unchanged. Static instruments, updated where things happen (the journal after an fsync, the store after a backend
/// commit, the edge around a proposal, the gRPC interceptor per call); all are thread-safe and cost a few atomic
/// operations. Figures that are published rather than counted (commit and applied index, leader) are set by
/// <see cref="Server.ServerStatus"/> when the RaftActor and the store publish their views. Metrics etcd itself has
/// that nothing here feeds yet stay at zero but exist, as in an idle etcd.
/// </summary>
public static partial class EtcdMetrics
{
    private static IMetricFactory Factory => MetricsRegistry.Factory;

    /// <summary><c>etcd_server_has_leader</c> (gauge): 1 while this member knows a leader, else 0.</summary>
    public static readonly Gauge HasLeader = Factory.CreateGauge("etcd_server_has_leader",
        "Whether or not a leader exists. 1 is existence, 0 is not.");

    /// <summary><c>etcd_server_is_leader</c> (gauge): 1 while this member is the leader, else 0.</summary>
    public static readonly Gauge IsLeader = Factory.CreateGauge("etcd_server_is_leader",
        "Whether or not this member is a leader. 1 if is, 0 otherwise.");

    /// <summary><c>etcd_server_is_learner</c> (gauge): 1 while this member is a learner, else 0.</summary>
    public static readonly Gauge IsLearner = Factory.CreateGauge("etcd_server_is_learner",
        "Whether or not this member is a learner. 1 if is, 0 otherwise.");

    /// <summary><c>etcd_server_leader_changes_seen_total</c> (counter): times a new leader was seen.</summary>
    public static readonly Counter LeaderChangesSeen = Factory.CreateCounter("etcd_server_leader_changes_seen_total",
        "The number of leader changes seen.");

    /// <summary><c>etcd_server_learner_promote_successes</c> (counter): learners this member promoted.</summary>
    public static readonly Counter LearnerPromoteSuccesses = Factory.CreateCounter("etcd_server_learner_promote_successes",
        "The total number of successful learner promotions while this member is leader.");

    /// <summary><c>etcd_server_learner_promote_failures{Reason}</c> (counter): refused promotions, by etcd's error text.</summary>
    public static readonly Counter LearnerPromoteFailures = Factory.CreateCounter("etcd_server_learner_promote_failures",
        "The total number of failed learner promotions (likely learner not ready) while this member is leader.", ["Reason"]);

    /// <summary><c>etcd_server_heartbeat_send_failures_total</c> (counter): heartbeats the leader could not send.</summary>
    public static readonly Counter HeartbeatSendFailures = Factory.CreateCounter("etcd_server_heartbeat_send_failures_total",
        "The total number of leader heartbeat send failures (likely overloaded from slow disk).");

    /// <summary><c>etcd_server_slow_apply_total</c> (counter): applies of one entry that took longer than 100 ms (etcd's warnApplyDuration).</summary>
    public static readonly Counter SlowApplies = Factory.CreateCounter("etcd_server_slow_apply_total",
        "The total number of slow apply requests (likely overloaded from slow disk).");

    /// <summary><c>etcd_server_snapshot_apply_in_progress_total</c> (gauge): 1 while a Raft snapshot is being installed.</summary>
    public static readonly Gauge SnapshotApplyInProgress = Factory.CreateGauge("etcd_server_snapshot_apply_in_progress_total",
        "1 if the server is applying the incoming snapshot. 0 if none.");

    /// <summary><c>etcd_server_proposals_committed_total</c> (gauge, as in etcd): the Raft commit index.</summary>
    public static readonly Gauge ProposalsCommitted = Factory.CreateGauge("etcd_server_proposals_committed_total",
        "The total number of consensus proposals committed.");

    /// <summary><c>etcd_server_proposals_applied_total</c> (gauge, as in etcd): the applied Raft index.</summary>
    public static readonly Gauge ProposalsApplied = Factory.CreateGauge("etcd_server_proposals_applied_total",
        "The total number of consensus proposals applied.");

    /// <summary><c>etcd_server_proposals_pending</c> (gauge): proposals made at this member and waiting for their apply.</summary>
    public static readonly Gauge ProposalsPending = Factory.CreateGauge("etcd_server_proposals_pending",
        "The current number of pending proposals to commit.");

    /// <summary><c>etcd_server_proposals_failed_total</c> (counter): proposals that were not applied (no leader, timeout, stop, overload).</summary>
    public static readonly Counter ProposalsFailed = Factory.CreateCounter("etcd_server_proposals_failed_total",
        "The total number of failed proposals seen.");

    /// <summary><c>etcd_server_slow_read_indexes_total</c> (counter): ReadIndex rounds asked again after 500 ms without an answer.</summary>
    public static readonly Counter SlowReadIndexes = Factory.CreateCounter("etcd_server_slow_read_indexes_total",
        "The total number of pending read indexes not in sync with leader's or timed out read index requests.");

    /// <summary><c>etcd_server_read_indexes_failed_total</c> (counter): linearizable reads that failed before their ReadIndex was confirmed.</summary>
    public static readonly Counter ReadIndexesFailed = Factory.CreateCounter("etcd_server_read_indexes_failed_total",
        "The total number of failed read indexes seen.");

    /// <summary><c>etcd_debugging_server_lease_expired_total</c> (counter): leases revoked because they expired.</summary>
    public static readonly Counter LeasesExpired = Factory.CreateCounter("etcd_debugging_server_lease_expired_total",
        "The total number of expired leases.");

    /// <summary><c>etcd_server_quota_backend_bytes</c> (gauge): <c>--quota-backend-bytes</c> in effect, in bytes.</summary>
    public static readonly Gauge QuotaBackendBytes = Factory.CreateGauge("etcd_server_quota_backend_bytes",
        "Current backend storage quota size in bytes.");

    /// <summary><c>etcd_server_version{server_version}</c> (gauge, always 1): the etcd API version served.</summary>
    public static readonly Gauge ServerVersion = Factory.CreateGauge("etcd_server_version",
        "Which version is running. 1 for 'server_version' label with current version.", ["server_version"]);

    /// <summary><c>etcd_server_go_version{server_go_version}</c> (gauge, always 1): here the .NET runtime's description.</summary>
    public static readonly Gauge RuntimeVersion = Factory.CreateGauge("etcd_server_go_version",
        "Which Go version server is running with. 1 for 'server_go_version' label with current version.", ["server_go_version"]);

    /// <summary><c>etcd_server_id{server_id}</c> (gauge, always 1): this member's ID in hex.</summary>
    public static readonly Gauge ServerId = Factory.CreateGauge("etcd_server_id",
        "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", ["server_id"]);

    /// <summary><c>etcd_cluster_version{cluster_version}</c> (gauge, always 1): the cluster version.</summary>
    public static readonly Gauge ClusterVersion = Factory.CreateGauge("etcd_cluster_version",
        "Which version is running. 1 for 'cluster_version' label with current cluster version", ["cluster_version"]);

    /// <summary><c>etcd_server_health_success</c> (counter): <c>/health</c> answers "true".</summary>
    public static readonly Counter HealthSuccesses = Factory.CreateCounter("etcd_server_health_success",
        "The total number of successful health checks");

    /// <summary><c>etcd_server_health_failures</c> (counter): <c>/health</c> answers "false".</summary>
    public static readonly Counter HealthFailures = Factory.CreateCounter("etcd_server_health_failures",
        "The total number of failed health checks");

    /// <summary><c>etcd_server_client_requests_total{type,client_api_version}</c> (counter): client calls, "unary" or "stream".</summary>
    public static readonly Counter ClientRequests = Factory.CreateCounter("etcd_server_client_requests_total",
        "The total number of client requests per client version.", ["type", "client_api_version"]);

    /// <summary>
    /// Sets the per-member gauges that do not change while the member runs (version, ID, quota). Call once when a member
    /// starts serving.
    /// </summary>
    /// <param name="memberId">The member's ID (printed in hex, as etcd).</param>
    /// <param name="quotaBytes">The backend quota in effect, in bytes.</param>
    /// <param name="serverVersion">The etcd version served, e.g. "3.4.23".</param>
    /// <param name="clusterVersion">The cluster version, e.g. "3.4.0".</param>
    public static void DescribeMember(ulong memberId, long quotaBytes, string serverVersion, string clusterVersion)
    {
        ServerId.WithLabels(memberId.ToString("x")).Set(1);
        QuotaBackendBytes.Set(quotaBytes);
        ServerVersion.WithLabels(serverVersion).Set(1);
        ClusterVersion.WithLabels(clusterVersion).Set(1);
        RuntimeVersion.WithLabels(System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription).Set(1);
    }
}
