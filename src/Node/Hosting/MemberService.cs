using Akka.Actor;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Api.Peer;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Hosting;

/// <summary>
/// The member inside the node's ASP.NET Core host: once Akka.Hosting has started the member's ActorSystem, opens the
/// data dir and starts the member's actors in it (<see cref="EtcdServer.OpenAsync(ActorSystem, ServerOptions, ILoggerFactory, Func{ulong, ulong, IRaftTransport}?, CancellationToken)"/>),
/// with the peer transport, and registers the <see cref="MemberActor"/> in Akka.Hosting's <see cref="ActorRegistry"/>.
/// Registered after <c>AddAkka</c>, so it starts after the ActorSystem and stops before it; a bad data dir (a corrupt
/// WAL, another member's data) fails the host's start, which the node reports and exits 1 on.
/// </summary>
public sealed class MemberService : IHostedService
{
    private readonly ActorSystem _system;
    private readonly ActorRegistry _registry;
    private readonly ServerOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly TaskCompletionSource<EtcdServer> _server = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the service; the host calls <see cref="StartAsync"/>.</summary>
    /// <param name="system">The member's ActorSystem (Akka.Hosting's).</param>
    /// <param name="registry">Akka.Hosting's registry of top-level actors.</param>
    /// <param name="options">The member's options.</param>
    /// <param name="loggers">The host's logger factory (the node's, behind the host's filter).</param>
    public MemberService(ActorSystem system, ActorRegistry registry, ServerOptions options, ILoggerFactory loggers)
    {
        _system = system;
        _registry = registry;
        _options = options;
        _loggers = loggers;
    }

    /// <summary>The started member; completes when <see cref="StartAsync"/> has opened it, faults if it could not.</summary>
    public Task<EtcdServer> Server => _server.Task;

    /// <summary>
    /// The member once started; throws <see cref="InvalidOperationException"/> before (a peer request that comes in
    /// while the member still opens its data dir is refused, and the peer retries).
    /// </summary>
    public EtcdServer Current => _server.Task.IsCompletedSuccessfully
        ? _server.Task.Result
        : throw new InvalidOperationException("the member is not started yet");

    /// <summary>The peer transport, created with the member's IDs.</summary>
    public PeerTransport? Transport { get; private set; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var server = await EtcdServer.OpenAsync(_system, _options, _loggers, (memberId, clusterId) =>
            {
                Transport = new PeerTransport(new RaftTransportOptions
                {
                    LocalId = memberId,
                    ClusterId = clusterId,
                    SnapshotDirectory = Path.Combine(_options.SnapDir, "incoming"),
                }, _loggers.CreateLogger("rafthttp/transport"));
                return Transport;
            }, cancellationToken).ConfigureAwait(false);
            _registry.Register<MemberActor>(server.Member);
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
}
