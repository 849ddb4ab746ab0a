using Akka.Actor;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.TestDoubles;
using AkkaCluster = Akka.Cluster.Cluster;

namespace Akka.Etcd.Actors.Tests.Transport;

/// <summary>The cluster monitor answers the Akka cluster view monitoring reads: members, status, reachability, leader.</summary>
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
            while (view.Members is not [{ Status: "Up" }]);
            var member = view.Members.Single();
            Assert.Equal((self, "Up", true), (member.Address, member.Status, member.Reachable));
            Assert.Equal(self, view.Leader);
            Assert.True(view.Events >= 2, $"{view.Events} events");
        }
        finally
        {
            await system.Terminate();
        }
    }
}
