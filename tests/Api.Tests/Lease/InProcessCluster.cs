using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Api.Tests.Lease;

/// <summary>
/// Three whole members in-process, wired as the akka-etcd host wires them (a <see cref="LoopbackCluster"/> on plain
/// <c>akka.tcp</c>, as the node runs): one ActorSystem each with remoting on a loopback port and Akka.Cluster, a
/// <see cref="PeerActor"/> at <c>/user/peer</c>, and an <see cref="LocalMember"/> over a <see cref="RemoteRaftTransport"/>.
/// Start-up waits on the members' own readiness, and the leader is awaited until every member agrees on it, with a deadline.
/// </summary>
public sealed class InProcessCluster : IAsyncLifetime
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private LoopbackCluster? _cluster;

    private LoopbackCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster has not started");

    public IReadOnlyList<LocalMember> Members => Cluster.Running.Select(m => m.Server).ToList();

    /// <summary>The member every member agrees leads (waits for that, within the deadline).</summary>
    public async Task<LocalMember> LeaderAsync() => (await Cluster.LeaderAsync()).Server;

    /// <summary>A member that follows the agreed leader.</summary>
    public async Task<LocalMember> FollowerAsync()
    {
        var leader = await Cluster.LeaderAsync();
        return Cluster.Running.First(m => m != leader).Server;
    }

    public static IPeerRequests PeersOf(LocalMember member) => (IPeerRequests)member.Transport!;

    public async Task InitializeAsync() =>
        _cluster = await LoopbackCluster.StartAsync(3, new LoopbackClusterOptions { Throttler = false, Deadline = Deadline });

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
