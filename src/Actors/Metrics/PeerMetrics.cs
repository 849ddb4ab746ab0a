namespace Akka.Etcd.Actors.Metrics;

/// <summary>
/// The one seam between a member-to-member transport and etcd's <c>etcd_network_peer_*</c> and
/// <c>etcd_network_active_peers</c>/<c>etcd_network_disconnected_peers_total</c> metrics (etcd 3.4's
/// etcdserver/api/rafthttp/metrics.go names and labels). Whatever carries Raft messages between members calls these;
/// nothing else in the metrics knows how members talk. Peers are named by member ID, written in lower-case hex
/// without padding as etcd's <c>To</c>/<c>From</c>/<c>Remote</c> labels are. Thread-safe; never throws for a
/// valid call.
/// </summary>
public static class PeerMetrics
{
    /// <summary>Records Raft messages (or a snapshot chunk) of <paramref name="bytes"/> serialized bytes sent to <paramref name="peer"/>.</summary>
    public static void Sent(ulong peer, long bytes) => EtcdMetrics.PeerSentBytes.WithLabels(Label(peer)).Inc(bytes);

    /// <summary>Records <paramref name="bytes"/> serialized bytes received from <paramref name="peer"/>.</summary>
    public static void Received(ulong peer, long bytes) => EtcdMetrics.PeerReceivedBytes.WithLabels(Label(peer)).Inc(bytes);

    /// <summary>Records <paramref name="messages"/> messages to <paramref name="peer"/> that were dropped or could not be
    /// sent (etcd counts each message).</summary>
    public static void SendFailed(ulong peer, int messages = 1) => EtcdMetrics.PeerSentFailures.WithLabels(Label(peer)).Inc(messages);

    /// <summary>Records input from <paramref name="peer"/> that was broken or could not be decoded.</summary>
    public static void ReceiveFailed(ulong peer) => EtcdMetrics.PeerReceivedFailures.WithLabels(Label(peer)).Inc();

    /// <summary>
    /// Records one round trip to <paramref name="peer"/> (a message and its acknowledgement, or a ping) on
    /// <c>etcd_network_peer_round_trip_time_seconds</c>, which the Grafana dashboard and the alert rules read.
    /// </summary>
    public static void RoundTrip(ulong peer, TimeSpan elapsed) =>
        EtcdMetrics.PeerRoundTripTime.WithLabels(Label(peer)).Observe(elapsed.TotalSeconds);

    /// <summary>
    /// Records that the connection from this member (<paramref name="local"/>) to <paramref name="remote"/> is up
    /// (<paramref name="active"/>) or down: sets <c>etcd_network_active_peers</c>, and counts a down after an up on
    /// <c>etcd_network_disconnected_peers_total</c>. On the first up, the peer's byte and failure series are created at
    /// zero so that rates over them read 0 rather than "no data".
    /// </summary>
    public static void Connection(ulong local, ulong remote, bool active)
    {
        var labels = new[] { Label(local), Label(remote) };
        var gauge = EtcdMetrics.ActivePeers.WithLabels(labels);
        if (active)
        {
            gauge.Set(1);
            EtcdMetrics.PeerSentFailures.WithLabels(labels[1]);
            EtcdMetrics.PeerReceivedFailures.WithLabels(labels[1]);
            EtcdMetrics.PeerSentBytes.WithLabels(labels[1]);
            EtcdMetrics.PeerReceivedBytes.WithLabels(labels[1]);
            return;
        }
        if (gauge.Value > 0)
            EtcdMetrics.DisconnectedPeers.WithLabels(labels).Inc();
        gauge.Set(0);
    }

    private static string Label(ulong member) => member.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
}
