using System.Net;
using System.Net.Sockets;
using Akka.Configuration;
using Akka.Etcd.Actors.Transport;

namespace Akka.Etcd.TestDoubles;

/// <summary>
/// HOCON for in-process members that talk over real Akka.Remote on loopback, as the node configures them (cluster
/// provider, untrusted mode with the peer paths trusted, no automatic downing, the peer serializer), with quiet logs.
/// </summary>
public static class RemotingTestConfig
{
    /// <summary>The config of a member whose peer URL is <c>http://127.0.0.1:<paramref name="port"/></c>.</summary>
    /// <param name="port">The loopback port remoting binds and advertises.</param>
    /// <param name="cluster">True for the cluster provider (the node's), false for plain remoting (faster to start).</param>
    /// <param name="throttler">True to apply Akka's throttler transport adapter (<c>trttl</c>), as Akka's multi-node
    /// TestConductor does, so a test can blackhole the traffic to and from another member's address
    /// (<see cref="LoopbackCluster.PartitionAsync"/>); the system's protocol is then <c>akka.trttl.tcp</c>.</param>
    public static Config ForPort(int port, bool cluster = true, bool throttler = false) => ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.stdout-loglevel = OFF
        akka.log-dead-letters = off
        akka.actor.provider = {{(cluster ? "cluster" : "remote")}}
        akka.remote.dot-netty.tcp {
          hostname = "127.0.0.1"
          port = {{port}}
          batching.enabled = false
          applied-adapters = [{{(throttler ? "trttl" : "")}}]
        }
        akka.remote.untrusted-mode = on
        akka.remote.trusted-selection-paths = ["/user/peer", "/system/cluster/core/daemon", "/system/cluster/heartbeatReceiver"]
        akka.remote.retry-gate-closed-for = 200 ms
        akka.cluster.downing-provider-class = ""
        akka.cluster.run-coordinated-shutdown-when-down = off
        akka.cluster.seed-node-timeout = 1 s
        akka.coordinated-shutdown.phases.cluster-exiting.timeout = 1 s
        akka.coordinated-shutdown.phases.cluster-leave.timeout = 1 s
        """).WithFallback(PeerSerializer.Config);

    /// <summary>Loopback ports free at the time of the call (bound to port 0 and released).</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ =>
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return listener;
        }).ToList();
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
