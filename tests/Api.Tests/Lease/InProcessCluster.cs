using System.Net;
using System.Net.Sockets;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Peer;
using Akka.Etcd.Actors.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Api.Tests.Lease;

/// <summary>
/// Three whole members in-process, wired as the akka-etcd host wires them: an <see cref="EtcdServer"/> with a
/// <see cref="PeerTransport"/>, and a peer listener on loopback serving <see cref="PeerService"/> plus the peer HTTP
/// routes (members, version, leases). Start-up waits on the members' own readiness, with a deadline.
/// </summary>
public sealed class InProcessCluster : IAsyncLifetime
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "akka-etcd-lease-fwd-" + Guid.NewGuid().ToString("N"));
    private readonly List<WebApplication> _hosts = [];

    public IReadOnlyList<EtcdServer> Members { get; private set; } = [];

    public IReadOnlyList<string> PeerUrls { get; private set; } = [];

    public EtcdServer Leader => Members.Single(m => m.Status.IsLeader);

    public EtcdServer Follower => Members.First(m => !m.Status.IsLeader);

    public string PeerUrlOf(EtcdServer member) => PeerUrls[Members.ToList().IndexOf(member)];

    public async Task InitializeAsync()
    {
        var names = new[] { "m1", "m2", "m3" };
        var urls = names.Select(_ => $"http://127.0.0.1:{FreePort()}").ToArray();
        PeerUrls = urls;
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
                AdvertiseClientUrls = [$"http://127.0.0.1:{FreePort()}"],
                HeartbeatIntervalMs = 20,
                ElectionTimeoutMs = 200,
            };
            PeerTransport? transport = null;
            var server = await EtcdServer.OpenAsync(options, NullLoggerFactory.Instance, (memberId, clusterId) =>
                transport = new PeerTransport(new RaftTransportOptions
                {
                    LocalId = memberId,
                    ClusterId = clusterId,
                    SnapshotDirectory = Path.Combine(options.DataDir, "incoming"),
                }, NullLogger.Instance));
            members.Add(server);
            var builder = EtcdWebHost.CreateBuilder(NullLoggerFactory.Instance)
                .AddEtcdListener(new EtcdListenerOptions { ListenUrls = [urls[i]] });
            builder.Services.AddSingleton(server).AddSingleton(transport!).AddEtcdPeerApi();
            var host = builder.Build();
            host.MapEtcdPeerApi();
            _hosts.Add(host);
            await host.StartAsync();
        }
        Members = members;
        await Task.WhenAll(members.Select(m => m.WaitUntilReadyAsync(CancellationToken.None))).WaitAsync(Deadline);
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await host.StopAsync(stop.Token);
            await host.DisposeAsync();
        }
        foreach (var member in Members)
            await member.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
