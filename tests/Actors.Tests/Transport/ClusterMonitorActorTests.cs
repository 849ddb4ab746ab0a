using Akka.Actor;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.TestDoubles;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Akka.Etcd.Actors.Tests.Transport;

/// <summary>The cluster monitor answers the view monitoring reads: Akka members, status, reachability, leader, peer traffic.</summary>
public sealed class ClusterMonitorActorTests
{
    [Fact]
    public async Task A_member_that_formed_the_cluster_sees_itself_up_reachable_and_leading()
    {
        var port = RemotingTestConfig.FreePorts(1)[0];
        var system = ActorSystem.Create(PeerAddress.SystemName, RemotingTestConfig.ForPort(port));
        try
        {
            var monitor = system.ActorOf(ClusterMonitorActor.Props(), ClusterMonitorActor.Name);
            var self = $"akka.tcp://akka-etcd@127.0.0.1:{port}";
            var before = await monitor.Ask<ClusterView>(ClusterMonitorActor.GetClusterView.Instance, TimeSpan.FromSeconds(10));
            Assert.Equal(self, before.SelfAddress);
            Assert.Empty(before.Members);

            AkkaCluster.Get(system).Join(AkkaCluster.Get(system).SelfAddress);

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            ClusterView view;
            do
            {
                await Task.Delay(100, deadline.Token);
                view = await monitor.Ask<ClusterView>(ClusterMonitorActor.GetClusterView.Instance, TimeSpan.FromSeconds(10));
            }
            // MemberUp and LeaderChanged are separate cluster events: the view may show the member Up before it
            // shows the leader.
            while (view.Members is not [{ Status: "Up" }] || view.Leader is null);
            var member = view.Members.Single();
            Assert.Equal((self, "Up", true, true), (member.Address, member.Status, member.Reachable, member.IsSelf));
            Assert.Equal(self, view.Leader);
            Assert.True(view.Events >= 2, $"{view.Events} events");
            Assert.Empty(view.Peers);
            Assert.Null(view.PeersAt);

            // The peer actor's traffic report (published on the EventStream) shows up in the view, and names the members.
            var at = DateTime.UtcNow;
            var peer = new PeerProtocol.PeerLinkStats(8, "akka.tcp://akka-etcd@127.0.0.1:1", null, 3, 30, 2, 20, 0, 1, 4, 4096, 2, 512);
            system.EventStream.Publish(new PeerProtocol.PeerStats(7, self, at, [peer]));
            do
            {
                await Task.Delay(50, deadline.Token);
                view = await monitor.Ask<ClusterView>(ClusterMonitorActor.GetClusterView.Instance, TimeSpan.FromSeconds(10));
            }
            while (view.Peers.Count == 0);
            Assert.Equal((7UL, at), (view.LocalMemberId, view.PeersAt));
            Assert.Equal(peer, view.Peers.Single());
            Assert.Equal(7UL, view.Members.Single().MemberId);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
