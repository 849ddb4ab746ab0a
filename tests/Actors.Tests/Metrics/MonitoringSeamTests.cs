using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Actors.Transport;
using Akka.TestKit;

namespace Akka.Etcd.Actors.Tests.Metrics;

/// <summary>
/// The seams a member transport and an Akka cluster view feed the metrics through: <see cref="PeerMetrics"/> (etcd's
/// peer series, labelled by member ID in hex), <see cref="AkkaMetrics.Publish"/> (cluster members by status) and
/// <see cref="ClusterMonitorView"/> (an ask at the edge that gives null, not an error, when the actor does not
/// answer). The metrics are process-wide, so each test uses member IDs of its own.
/// </summary>
public sealed class MonitoringSeamTests : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public void Peer_traffic_lands_on_etcd_s_series_for_the_peer_in_hex()
    {
        const ulong local = 0x1a1, peer = 0xbeef01;
        PeerMetrics.Connection(local, peer, active: true);
        Assert.Equal(0, EtcdMetrics.PeerSentBytes.WithLabels("beef01").Value); // created at zero on connect
        Assert.Equal(1, EtcdMetrics.ActivePeers.WithLabels("1a1", "beef01").Value);

        PeerMetrics.Sent(peer, 100);
        PeerMetrics.Sent(peer, 20);
        PeerMetrics.Received(peer, 7);
        PeerMetrics.SendFailed(peer);
        PeerMetrics.ReceiveFailed(peer);
        PeerMetrics.RoundTrip(peer, TimeSpan.FromMilliseconds(3));

        Assert.Equal(120, EtcdMetrics.PeerSentBytes.WithLabels("beef01").Value);
        Assert.Equal(7, EtcdMetrics.PeerReceivedBytes.WithLabels("beef01").Value);
        Assert.Equal(1, EtcdMetrics.PeerSentFailures.WithLabels("beef01").Value);
        Assert.Equal(1, EtcdMetrics.PeerReceivedFailures.WithLabels("beef01").Value);
        Assert.Equal(1, EtcdMetrics.PeerRoundTripTime.WithLabels("beef01").Count);
        Assert.Equal(0.003, EtcdMetrics.PeerRoundTripTime.WithLabels("beef01").Sum, 6);
    }

    [Fact]
    public void A_disconnect_counts_only_after_the_peer_was_up()
    {
        const ulong local = 0x2b2, peer = 0xdead02;
        PeerMetrics.Connection(local, peer, active: false); // never up: nothing was lost
        Assert.Equal(0, EtcdMetrics.DisconnectedPeers.WithLabels("2b2", "dead02").Value);

        PeerMetrics.Connection(local, peer, active: true);
        PeerMetrics.Connection(local, peer, active: false);
        PeerMetrics.Connection(local, peer, active: false); // a repeated "down" is the same disconnect
        Assert.Equal(1, EtcdMetrics.DisconnectedPeers.WithLabels("2b2", "dead02").Value);
        Assert.Equal(0, EtcdMetrics.ActivePeers.WithLabels("2b2", "dead02").Value);
    }

    [Fact]
    public async Task The_asked_cluster_view_is_returned_and_published_and_no_answer_gives_null()
    {
        var clusterView = CreateTestProbe();
        var names = new Dictionary<ulong, string> { [1] = "m1", [2] = "m2", [3] = "m3" };
        var view = new ClusterMonitorView(clusterView.Ref, id => names.GetValueOrDefault(id), TimeSpan.FromSeconds(3));
        var monitored = new ClusterView("akka.tcp://akka-etcd@10.0.0.1:2552", 1, "akka.tcp://akka-etcd@10.0.0.1:2552",
        [
            new("akka.tcp://akka-etcd@10.0.0.1:2552", 1, "Up", true, true, ["etcd"]),
            new("akka.tcp://akka-etcd@10.0.0.2:2552", 2, "Up", false, false, ["etcd"]),
            new("akka.tcp://akka-etcd@10.0.0.3:2552", 3, "Leaving", true, false, ["etcd"]),
            new("akka.tcp://akka-etcd@10.0.0.4:2552", 0, "Down", true, false, []),
        ], [], null, 4);

        var asked = view.GetAsync(CancellationToken.None);
        clusterView.ExpectMsg(ClusterMonitorActor.GetClusterView.Instance);
        clusterView.Reply(monitored);
        var state = await asked;
        Assert.NotNull(state);
        Assert.Equal("akka.tcp://akka-etcd@10.0.0.1:2552", state.Leader);
        Assert.Equal(["m1", "m2", "m3", null], state.Members.Select(member => member.MemberName));
        Assert.Equal([true, false, true, true], state.Members.Select(member => member.Reachable));
        Assert.Equal(2, AkkaMetrics.ClusterMembers.WithLabels("Up").Value);
        Assert.Equal(1, AkkaMetrics.ClusterMembers.WithLabels("Leaving").Value);
        Assert.Equal(0, AkkaMetrics.ClusterMembers.WithLabels("Joining").Value);
        Assert.Equal(1, AkkaMetrics.UnreachableMembers.Value);
        Assert.Equal(1, AkkaMetrics.IsClusterLeader.Value);

        // An answer of another type, or none before the caller gives up, is "not available", not an exception.
        var wrong = view.GetAsync(CancellationToken.None);
        clusterView.ExpectMsg(ClusterMonitorActor.GetClusterView.Instance);
        clusterView.Reply("something else");
        Assert.Null(await wrong);
        using var cancel = new CancellationTokenSource();
        var unanswered = view.GetAsync(cancel.Token);
        clusterView.ExpectMsg(ClusterMonitorActor.GetClusterView.Instance);
        await cancel.CancelAsync();
        Assert.Null(await unanswered);
    }
}
