using Akka.Actor;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.TestDoubles;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Api.Tests.Lease;

/// <summary>
/// Three whole members in-process, wired as the akka-etcd host wires them: one ActorSystem each with remoting on a
/// loopback port (the member's peer URL) and Akka.Cluster, a <see cref="PeerActor"/> at <c>/user/peer</c>, and an
/// <see cref="EtcdServer"/> over a <see cref="RemoteRaftTransport"/>. Start-up waits on the members' own readiness,
/// with a deadline.
/// </summary>
public sealed class InProcessCluster : IAsyncLifetime
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "akka-etcd-lease-fwd-" + Guid.NewGuid().ToString("N"));
    private readonly List<ActorSystem> _systems = [];

    public IReadOnlyList<EtcdServer> Members { get; private set; } = [];

    public EtcdServer Leader => Members.Single(m => m.Status.IsLeader);

    public EtcdServer Follower => Members.First(m => !m.Status.IsLeader);

    public static IPeerRequests PeersOf(EtcdServer member) => (IPeerRequests)member.Transport!;

    public async Task InitializeAsync()
    {
        var names = new[] { "m1", "m2", "m3" };
        var ports = RemotingTestConfig.FreePorts(names.Length);
        var urls = ports.Select(p => $"http://127.0.0.1:{p}").ToArray();
        var cluster = names.Select((name, i) => (name, url: urls[i]))
            .ToDictionary(m => m.name, m => (IReadOnlyList<string>)new[] { m.url });
        var members = new List<EtcdServer>();
        for (var i = 0; i < names.Length; i++)
        {
            var options = new ServerOptions
            {
                Name = names[i],
                DataDir = Path.Combine(_root, names[i]),
                InitialCluster = cluster,
                AdvertisePeerUrls = [urls[i]],
                AdvertiseClientUrls = [$"http://127.0.0.1:{RemotingTestConfig.FreePorts(1)[0]}"],
                HeartbeatIntervalMs = 20,
                ElectionTimeoutMs = 200,
            };
            var system = ActorSystem.Create(PeerAddress.SystemName, RemotingTestConfig.ForPort(ports[i]));
            _systems.Add(system);
            var peer = system.ActorOf(PeerActor.Props(new RaftTransportOptions { SnapshotDirectory = Path.Combine(options.DataDir, "incoming") }),
                PeerAddress.PeerActorName);
            members.Add(await EtcdServer.OpenAsync(system, options, NullLoggerFactory.Instance,
                (memberId, clusterId) => new RemoteRaftTransport(peer, memberId, clusterId)));
        }
        Members = members;
        await Task.WhenAll(members.Select(m => m.WaitUntilReadyAsync(CancellationToken.None))).WaitAsync(Deadline);
    }

    public async Task DisposeAsync()
    {
        foreach (var member in Members)
            await member.DisposeAsync();
        await Task.WhenAll(_systems.Select(s => s.Terminate()));
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
