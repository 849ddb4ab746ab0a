using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

public static partial class EtcdMetrics
{
    /// <summary><c>etcd_network_client_grpc_sent_bytes_total</c> (counter): bytes of gRPC messages sent to clients.</summary>
    public static readonly Counter ClientGrpcSentBytes = Factory.CreateCounter("etcd_network_client_grpc_sent_bytes_total",
        "The total number of bytes sent to grpc clients.");

    /// <summary><c>etcd_network_client_grpc_received_bytes_total</c> (counter): bytes of gRPC messages received from clients.</summary>
    public static readonly Counter ClientGrpcReceivedBytes = Factory.CreateCounter("etcd_network_client_grpc_received_bytes_total",
        "The total number of bytes received from grpc clients.");

    /// <summary><c>etcd_network_server_stream_failures_total{Type,API}</c> (counter): Watch and LeaseKeepAlive streams that failed ("receive"/"send", "watch"/"lease-keepalive").</summary>
    public static readonly Counter ServerStreamFailures = Factory.CreateCounter("etcd_network_server_stream_failures_total",
        "The total number of stream failures from the local server.", ["Type", "API"]);

    /// <summary><c>etcd_network_peer_sent_bytes_total{To}</c> (counter): bytes sent to a peer (member ID in hex).</summary>
    public static readonly Counter PeerSentBytes = Factory.CreateCounter("etcd_network_peer_sent_bytes_total",
        "The total number of bytes sent to peers.", ["To"]);

    /// <summary><c>etcd_network_peer_received_bytes_total{From}</c> (counter): bytes received from a peer (member ID in hex).</summary>
    public static readonly Counter PeerReceivedBytes = Factory.CreateCounter("etcd_network_peer_received_bytes_total",
        "The total number of bytes received from peers.", ["From"]);

    /// <summary><c>etcd_network_peer_sent_failures_total{To}</c> (counter): messages to a peer that could not be sent.</summary>
    public static readonly Counter PeerSentFailures = Factory.CreateCounter("etcd_network_peer_sent_failures_total",
        "The total number of send failures from peers.", ["To"]);

    /// <summary><c>etcd_network_peer_received_failures_total{From}</c> (counter): broken or undecodable input from a peer.</summary>
    public static readonly Counter PeerReceivedFailures = Factory.CreateCounter("etcd_network_peer_received_failures_total",
        "The total number of receive failures from peers.", ["From"]);

    /// <summary>
    /// <c>etcd_network_peer_round_trip_time_seconds{To}</c> (histogram, 100 µs × 2^i, 16 buckets): round trips to a peer,
    /// in seconds (etcd measures its prober's pings; here the transport's own acknowledgements).
    /// </summary>
    public static readonly Histogram PeerRoundTripTime = Factory.CreateHistogram("etcd_network_peer_round_trip_time_seconds",
        "Round-Trip-Time histogram between peers",
        new HistogramConfiguration { LabelNames = ["To"], Buckets = MetricsRegistry.Exponential(0.0001, 2, 16) });

    /// <summary><c>etcd_network_active_peers{Local,Remote}</c> (gauge): 1 while the stream to a peer is up.</summary>
    public static readonly Gauge ActivePeers = Factory.CreateGauge("etcd_network_active_peers",
        "The current number of active peer connections.", ["Local", "Remote"]);

    /// <summary><c>etcd_network_disconnected_peers_total{Local,Remote}</c> (counter): times the stream to a peer went down.</summary>
    public static readonly Counter DisconnectedPeers = Factory.CreateCounter("etcd_network_disconnected_peers_total",
        "The total number of disconnected peers.", ["Local", "Remote"]);

    /// <summary><c>etcd_network_snapshot_send_success{To}</c> (counter): Raft snapshots sent.</summary>
    public static readonly Counter SnapshotSendSuccesses = Factory.CreateCounter("etcd_network_snapshot_send_success",
        "Total number of successful snapshot sends", ["To"]);

    /// <summary><c>etcd_network_snapshot_send_failures{To}</c> (counter): Raft snapshot sends that failed.</summary>
    public static readonly Counter SnapshotSendFailures = Factory.CreateCounter("etcd_network_snapshot_send_failures",
        "Total number of snapshot send failures", ["To"]);

    /// <summary><c>etcd_network_snapshot_send_total_duration_seconds{To}</c> (histogram, 100 ms × 2^i, 10 buckets).</summary>
    public static readonly Histogram SnapshotSendDuration = Factory.CreateHistogram("etcd_network_snapshot_send_total_duration_seconds",
        "Total latency distributions of v3 snapshot sends",
        new HistogramConfiguration { LabelNames = ["To"], Buckets = MetricsRegistry.Exponential(0.1, 2, 10) });

    /// <summary><c>etcd_network_snapshot_receive_success{From}</c> (counter): Raft snapshots received.</summary>
    public static readonly Counter SnapshotReceiveSuccesses = Factory.CreateCounter("etcd_network_snapshot_receive_success",
        "Total number of successful snapshot receives", ["From"]);

    /// <summary><c>etcd_network_snapshot_receive_failures{From}</c> (counter): Raft snapshot receives that failed.</summary>
    public static readonly Counter SnapshotReceiveFailures = Factory.CreateCounter("etcd_network_snapshot_receive_failures",
        "Total number of snapshot receive failures", ["From"]);

    /// <summary><c>etcd_network_snapshot_receive_total_duration_seconds{From}</c> (histogram, 100 ms × 2^i, 10 buckets).</summary>
    public static readonly Histogram SnapshotReceiveDuration = Factory.CreateHistogram("etcd_network_snapshot_receive_total_duration_seconds",
        "Total latency distributions of v3 snapshot receives",
        new HistogramConfiguration { LabelNames = ["From"], Buckets = MetricsRegistry.Exponential(0.1, 2, 10) });
}
