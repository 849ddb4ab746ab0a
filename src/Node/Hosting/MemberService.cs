using Akka.Actor;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Node.Cluster;
using Akka.Etcd.Storage.Wal;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Hosting;

/// <summary>
/// The member inside the node's host: once Akka.Hosting has started the member's ActorSystem (remoting bound to the
/// peer URL, Akka.Cluster), creates the peer-facing actors (<see cref="PeerActor"/> at <c>/user/peer</c>,
/// <see cref="ClusterMonitorActor"/> at <c>/user/cluster-monitor</c>), asks the running members who this member is when
/// it joins an existing cluster with an empty data dir, then opens the data dir and starts the member's actors with the
/// peer transport over remoting (<see cref="LocalMember.OpenAsync(ActorSystem, ServerOptions, ILoggerFactory, Func{ulong, ulong, IRaftTransport}?, CancellationToken)"/>),
/// and registers the <see cref="MemberActor"/>, the <see cref="PeerActor"/> and the <see cref="ClusterMonitorActor"/> in
/// Akka.Hosting's <see cref="ActorRegistry"/> (monitoring asks the last for the Akka cluster view). Registered after
/// <c>AddAkka</c>, so it starts after the ActorSystem and stops before it; a bad data dir fails the host's start, which
/// the node reports and exits 1 on.
/// </summary>
public sealed class MemberService : IHostedService
{
    private readonly ActorSystem _system;
    private readonly ActorRegistry _registry;
    private readonly ServerOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly TaskCompletionSource<LocalMember> _server = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the service; the host calls <see cref="StartAsync"/>.</summary>
    /// <param name="system">The member's ActorSystem (Akka.Hosting's).</param>
    /// <param name="registry">Akka.Hosting's registry of top-level actors.</param>
    /// <param name="options">The member's options.</param>
    /// <param name="loggers">The host's logger factory (the node's).</param>
    public MemberService(ActorSystem system, ActorRegistry registry, ServerOptions options, ILoggerFactory loggers)
    {
        _system = system;
        _registry = registry;
        _options = options;
        _loggers = loggers;
        _quarantine = new QuarantineWatch(system);
    }

    private readonly QuarantineWatch _quarantine;

    /// <summary>
    /// Completes when a peer quarantines this member's ActorSystem (<see cref="QuarantineWatch"/>); the node then stops
    /// the member and exits non-zero unless it stops on its own (removed from the cluster).
    /// </summary>
    public Task<Akka.Remote.ThisActorSystemQuarantinedEvent> Quarantined => _quarantine.Quarantined;

    /// <summary>The started member; completes when <see cref="StartAsync"/> has opened it, faults if it could not.</summary>
    public Task<LocalMember> Server => _server.Task;

    /// <summary>The peer transport over Akka.Remote, created with the member's IDs.</summary>
    public RemoteRaftTransport? Transport { get; private set; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var peer = _system.ActorOf(PeerActor.Props(PeerRemoting.TransportOptions(_options)), PeerAddress.PeerActorName);
            _registry.Register<PeerActor>(peer);
            _registry.Register<ClusterMonitorActor>(_system.ActorOf(ClusterMonitorActor.Props(), ClusterMonitorActor.Name));
            var options = _options;
            if (options.InitialClusterState == "existing" && !WriteAheadLog.Exists(options.EffectiveWalDir))
            {
                options = await JoinOptionsAsync(peer, options, cancellationToken).ConfigureAwait(false);
            }
            var server = await LocalMember.OpenAsync(_system, options, _loggers, (memberId, clusterId) =>
            {
                Transport = new RemoteRaftTransport(peer, memberId, clusterId);
                return Transport;
            }, cancellationToken).ConfigureAwait(false);
            _registry.Register<MemberActor>(server.Actors.Member);
            _server.TrySetResult(server);
        }
        catch (Exception ex)
        {
            _server.TrySetException(ex);
            throw;
        }
    }

    /// <summary>etcd's graceful stop of the member (leadership transfer, then its actors in order); idempotent.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server.Task.IsCompletedSuccessfully)
        {
            await _server.Task.Result.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// For <c>--initial-cluster-state existing</c> on an empty data dir: asks the other peers of <c>--initial-cluster</c>
    /// who this member is (it was added with <c>etcdctl member add</c>).
    /// </summary>
    private async Task<ServerOptions> JoinOptionsAsync(IActorRef peer, ServerOptions options, CancellationToken cancel)
    {
        var log = _loggers.CreateLogger("etcdmain/main");
        var peers = options.InitialCluster.Where(member => member.Key != options.Name).SelectMany(member => member.Value).ToList();
        var joined = await ClusterJoin.DiscoverAsync(peer, peers, options.AdvertisePeerUrls, log, cancel).ConfigureAwait(false);
        log.LogInformation("joining cluster {cluster} as member {member}", joined.ClusterId.ToString("x16"), joined.MemberId.ToString("x16"));
        return options with
        {
            JoinExisting = true,
            JoinIdentity = (joined.MemberId, joined.ClusterId),
            JoinPeers = joined.Members,
        };
    }
}
