using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Monitoring;

/// <summary>
/// akka-etcd's <c>/metrics</c>: after a known workload from etcdctl the counters and histograms moved by what the workload
/// did, and every metric that etcd's published Grafana dashboard and alerting rules query is there (with peers, on a
/// 3-member cluster), so those work unchanged; so is every metric that our own Grafana dashboard and alert rules in
/// docker/ query.
/// </summary>
[Collection(Cluster.ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class MetricsTests(ITestOutputHelper output)
{
    /// <summary>
    /// Every metric etcd's Grafana dashboards query (Documentation/op-guide/grafana.json of etcd 3.4 and the dashboard of
    /// contrib/mixin) and its alerting rules (contrib/mixin), by the name a sample of it has.
    /// </summary>
    public static readonly string[] EtcdDashboardMetrics =
    [
        "etcd_server_has_leader",
        "grpc_server_started_total",
        "grpc_server_handled_total",
        "grpc_server_handling_seconds_bucket",
        "etcd_debugging_mvcc_db_total_size_in_bytes",
        "etcd_mvcc_db_total_size_in_bytes",
        "etcd_server_quota_backend_bytes",
        "etcd_disk_wal_fsync_duration_seconds_bucket",
        "etcd_disk_backend_commit_duration_seconds_bucket",
        "process_resident_memory_bytes",
        "etcd_network_client_grpc_received_bytes_total",
        "etcd_network_client_grpc_sent_bytes_total",
        "etcd_network_peer_received_bytes_total",
        "etcd_network_peer_sent_bytes_total",
        "etcd_network_peer_sent_failures_total",
        "etcd_network_peer_round_trip_time_seconds_bucket",
        "etcd_server_proposals_failed_total",
        "etcd_server_proposals_pending",
        "etcd_server_proposals_committed_total",
        "etcd_server_proposals_applied_total",
        "etcd_server_leader_changes_seen_total",
    ];

    /// <summary>
    /// The metric names that the queries of docker/grafana/dashboards/akka-etcd.json and docker/prometheus/etcd-alerts.yml
    /// select (a name followed by a <c>{</c> selector or a <c>[</c> range), Prometheus' own <c>up</c> left out.
    /// </summary>
    private static IReadOnlyList<string> DockerMonitoringMetrics()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Monitoring", "akka-etcd.json")))!;
        var expressions = dashboard["panels"]!.AsArray()
            .SelectMany(panel => panel!["targets"]?.AsArray() ?? [])
            .Select(target => target!["expr"]!.GetValue<string>())
            .Concat(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Monitoring", "etcd-alerts.yml"))
                .Select(line => line.Trim())
                .Where(line => line.StartsWith("expr:", StringComparison.Ordinal))
                .Select(line => line["expr:".Length..]));
        return expressions
            .SelectMany(expression => Regex.Matches(expression, @"\b([a-z_][a-z0-9_]*)\s*[{\[]").Select(match => match.Groups[1].Value))
            .Where(name => name != "up")
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private const string Put = "grpc_type=\"unary\",grpc_service=\"etcdserverpb.KV\",grpc_method=\"Put\"";
    private const string Range = "grpc_type=\"unary\",grpc_service=\"etcdserverpb.KV\",grpc_method=\"Range\"";

    [Fact]
    public async Task A_known_workload_moves_the_counters_and_histograms_by_what_it_did()
    {
        await using var member = await MemberProcess.StartAsync(ServerKind.Ours);
        var etcdctl = member.Etcdctl();
        var before = await MetricsScrape.GetAsync(member.ClientUrl);

        const int puts = 20, gets = 5;
        var value = new string('v', 100);
        for (var i = 0; i < puts; i++)
            Assert.True((await etcdctl.RunAsync("put", $"metrics/{i:D2}", value)).Succeeded);
        for (var i = 0; i < gets; i++)
            Assert.True((await etcdctl.RunAsync("get", $"metrics/{i:D2}")).Succeeded);
        var txn = await etcdctl.RunWithInputAsync("version(\"metrics/txn\") = \"0\"\n\nput metrics/txn t\n\n\n", "txn");
        Assert.True(txn.Succeeded, txn.Stderr);
        Assert.True((await etcdctl.RunAsync("lease", "grant", "60")).Succeeded);
        var refused = await etcdctl.RunAsync("put", "metrics/leased", "x", "--lease=1234abcd");
        Assert.Contains("requested lease not found", refused.Stderr);

        var after = await MetricsScrape.GetAsync(member.ClientUrl);
        double Delta(string series) => after[series] - before[series];
        double DeltaSum(string name, params string[] labels) => after.Sum(name, labels) - before.Sum(name, labels);

        // gRPC, as go-grpc-prometheus counts it: every put and get, the refused put by its code.
        Assert.Equal(puts, Delta($"grpc_server_handled_total{{{Put},grpc_code=\"OK\"}}"));
        Assert.Equal(1, Delta($"grpc_server_handled_total{{{Put},grpc_code=\"NotFound\"}}"));
        Assert.Equal(puts + 1, Delta($"grpc_server_started_total{{{Put}}}"));
        Assert.Equal(puts + 1, Delta($"grpc_server_msg_received_total{{{Put}}}"));
        Assert.Equal(puts, Delta($"grpc_server_msg_sent_total{{{Put}}}"));
        Assert.Equal(puts + 1, Delta($"grpc_server_handling_seconds_count{{{Put}}}"));
        Assert.True(Delta($"grpc_server_handling_seconds_sum{{{Put}}}") > 0);
        Assert.Equal(gets, Delta($"grpc_server_handled_total{{{Range},grpc_code=\"OK\"}}"));
        Assert.Equal(1, DeltaSum("grpc_server_handled_total", "grpc_method=\"Txn\"", "grpc_code=\"OK\""));
        Assert.Equal(1, DeltaSum("grpc_server_handled_total", "grpc_method=\"LeaseGrant\"", "grpc_code=\"OK\""));
        // Each put carries a 100-byte value and a 11-byte key.
        Assert.True(Delta("etcd_network_client_grpc_received_bytes_total") >= puts * 111);
        Assert.True(Delta("etcd_network_client_grpc_sent_bytes_total") > 0);

        // MVCC: the puts, the txn's put, the gets; the refused put never reached the store.
        Assert.Equal(puts + 1, Delta("etcd_mvcc_put_total"));
        Assert.Equal(1, Delta("etcd_mvcc_txn_total"));
        Assert.Equal(gets, Delta("etcd_mvcc_range_total"));
        Assert.Equal(1, Delta("etcd_debugging_lease_granted_total"));
        Assert.Equal(1, Delta("etcd_debugging_lease_ttl_total_count"));

        // Consensus and disk: puts, txn, lease grant and the refused put are all entries; sequential calls cannot
        // share an fsync, so every entry had its own.
        var entries = puts + 3;
        Assert.True(Delta("etcd_server_proposals_committed_total") >= entries, $"committed moved by {Delta("etcd_server_proposals_committed_total")}");
        Assert.Equal(after["etcd_server_proposals_committed_total"], after["etcd_server_proposals_applied_total"]);
        Assert.Equal(0, after["etcd_server_proposals_pending"]);
        Assert.Equal(0, Delta("etcd_server_proposals_failed_total")); // an apply's own error is not a failed proposal
        Assert.True(Delta("etcd_disk_wal_fsync_duration_seconds_count") >= entries);
        Assert.True(Delta("etcd_disk_wal_fsync_duration_seconds_sum") > 0);
        Assert.True(Delta("etcd_disk_wal_write_bytes_total") >= puts * 111);
        Assert.True(Delta("etcd_disk_backend_commit_duration_seconds_count") >= 1);
        Assert.Equal(1, after["etcd_server_has_leader"]);
        Assert.Equal(1, after["etcd_server_is_leader"]);
        Assert.Equal(2L * 1024 * 1024 * 1024, after["etcd_server_quota_backend_bytes"]);
        Assert.True(after["process_resident_memory_bytes"] > 10_000_000);

        // Akka: the member's main actors' mailboxes are sampled.
        foreach (var actor in new[] { "raft", "journal", "store", "lessor", "watch" })
            Assert.True(after.Samples.ContainsKey($"akka_actor_mailbox_depth{{actor=\"{actor}\"}}"), actor);
        output.WriteLine($"{after.Samples.Count} series");
    }

    [Fact]
    public async Task Every_metric_the_grafana_dashboards_and_alerts_query_is_served_by_every_member_of_a_cluster()
    {
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, 3);
        Assert.True((await cluster.Etcdctl().RunAsync("put", "dashboard", "1")).Succeeded);
        foreach (var member in cluster.Members)
        {
            var scrape = await MetricsScrape.GetAsync(member.ClientUrl);
            var missing = EtcdDashboardMetrics.Where(name => !scrape.Has(name)).ToList();
            Assert.True(missing.Count == 0, $"{member.Name} lacks {string.Join(", ", missing)}");
            var ours = DockerMonitoringMetrics();
            Assert.Contains("akka_cluster_members", ours);
            var missingOurs = ours.Where(name => !scrape.Has(name)).ToList();
            Assert.True(missingOurs.Count == 0, $"{member.Name} lacks {string.Join(", ", missingOurs)} (queried in docker/)");
            // The label sets the dashboard's panels select.
            Assert.True(scrape.Sum("grpc_server_started_total", "grpc_type=\"bidi_stream\"", "grpc_service=\"etcdserverpb.Watch\"") >= 0);
            Assert.Contains("grpc_server_started_total{grpc_type=\"bidi_stream\",grpc_service=\"etcdserverpb.Watch\",grpc_method=\"Watch\"}", scrape.Samples.Keys);
            Assert.Contains("grpc_server_started_total{grpc_type=\"bidi_stream\",grpc_service=\"etcdserverpb.Lease\",grpc_method=\"LeaseKeepAlive\"}", scrape.Samples.Keys);
            Assert.Equal(1, scrape["etcd_server_has_leader"]);
            Assert.Equal(2, scrape.Samples.Keys.Count(series => series.StartsWith("etcd_network_active_peers{", StringComparison.Ordinal)));
        }
    }
}
