using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// One running member of this process, from its start to its stop (etcd's server lifecycle,
/// etcdserver/server.go: NewServer, Start, publish, Stop, HardStop): opens or bootstraps the data dir, starts the
/// <see cref="MemberActor"/> in an ActorSystem, wires the peer transport to the member's actors, waits for a leader,
/// publishes the member's attributes through the log, and stops gracefully (leadership transfer first). Requests are
/// not served here: the gRPC services and HTTP endpoints go through <see cref="Gateway"/>, the other members' requests
/// are served by the <see cref="PeerRequestsActor"/>. Thread-safe.
/// </summary>
public sealed class LocalMember : IAsyncDisposable
{
    /// <summary>The etcd server version this member is compatible with, reported by Status, /version and the metrics.</summary>
    public const string ServerVersion = "3.4.23";

    /// <summary>The cluster version reported by /version and recorded through the log by the first leader.</summary>
    public const string ClusterVersion = "3.4.0";

    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping;
    private readonly ActorSystem _system;
    private readonly bool _ownsSystem;
    private readonly IActorRef _member;
    private readonly TaskCompletionSource<MemberExit> _exit;
    private int _disposed;

    private LocalMember(ActorSystem system, bool ownsSystem, IActorRef member, TaskCompletionSource<MemberExit> exit,
        IPeerHashKV peerHashKV, MemberGateway gateway, CancellationTokenSource stopping)
    {
        _system = system;
        _ownsSystem = ownsSystem;
        _member = member;
        _exit = exit;
        _stopping = stopping;
        PeerHashKV = peerHashKV;
        Gateway = gateway;
        _logger = gateway.Loggers.CreateLogger("etcdserver/server");
    }

    /// <summary>The edge every request of a client goes through (asks with etcd's request timeout, proposals, reads).</summary>
    public MemberGateway Gateway { get; }

    /// <summary>The options this member runs with.</summary>
    public ServerOptions Options => Gateway.Options;

    /// <summary>Live Raft and apply progress (the member's read model).</summary>
    public ServerStatus Status => Gateway.Status;

    /// <summary>The cluster membership applied from the log (published by the MvccStoreActor).</summary>
    public ClusterMembership Membership => Gateway.Membership;

    /// <summary>The member's actors (for tests and the hosting layer).</summary>
    public MemberRefs Actors => Gateway.Actors;

    /// <summary>The peer transport, or null for a member without peers.</summary>
    public IRaftTransport? Transport => Gateway.Transport;

    /// <summary>
    /// How this member asks the others for their HashKV: used by <see cref="InitialCorruptionCheck"/> and, the same
    /// instance, by the periodic <see cref="CorruptionCheckActor"/> (<see cref="RemotePeerHashKV"/>: a peer request over
    /// Akka.Remote). Disposed with the member.
    /// </summary>
    public IPeerHashKV PeerHashKV { get; }

    /// <summary>
    /// Completes when the member's actors have ended, with why: removed from the cluster (not fatal), stopped, or a
    /// fatal actor failure (the process must exit non-zero).
    /// </summary>
    public Task<MemberExit> Exited => _exit.Task;

    /// <summary>Completes when this member has been removed from the cluster or its actors ended: it must stop serving.</summary>
    public Task Removed => _exit.Task;

    /// <summary>
    /// The HOCON every ActorSystem running a member needs: the Raft log's journal plugins (the WAL journal, the default,
    /// and Akka.Persistence.Sql), the serializer of the log's events and the WAL journal's pinned dispatcher (an fsync
    /// blocks its thread); see <see cref="Journal.RaftLogPlugins.DefaultConfig"/>. Added as a fallback, so a user's
    /// config may override it.
    /// </summary>
    public static Config ActorsConfig => Journal.RaftLogPlugins.DefaultConfig;

    /// <summary>
    /// Opens or bootstraps the member's data dir and starts its actors in a new ActorSystem it owns, without peers;
    /// completes once a leader is known (a single-voter cluster elects itself at once) and the member's attributes are
    /// published.
    /// </summary>
    /// <exception cref="Storage.Wal.WalCorruptException">The WAL is corrupt in the middle (a torn tail is repaired).</exception>
    /// <exception cref="InvalidOperationException">The data dir belongs to another member or cluster.</exception>
    public static async Task<LocalMember> StartAsync(ServerOptions options, ILoggerFactory loggers, CancellationToken cancel = default)
    {
        var member = await OpenAsync(options, loggers, transportFactory: null, cancel).ConfigureAwait(false);
        await member.WaitUntilReadyAsync(cancel).ConfigureAwait(false);
        return member;
    }

    /// <summary>
    /// Opens the data dir and starts the actors in a new ActorSystem the member owns (terminated by
    /// <see cref="DisposeAsync"/>), without waiting for a leader. See <see cref="OpenAsync(ActorSystem, ServerOptions, ILoggerFactory, Func{ulong, ulong, IRaftTransport}?, CancellationToken)"/>.
    /// </summary>
    public static Task<LocalMember> OpenAsync(ServerOptions options, ILoggerFactory loggers,
        Func<ulong, ulong, IRaftTransport>? transportFactory, CancellationToken cancel = default)
    {
        var system = ActorSystem.Create("akka-etcd", ActorsConfig.WithFallback(ConfigurationFactory.ParseString(
            "akka.loglevel = WARNING\nakka.stdout-loglevel = OFF\nakka.log-dead-letters = off")));
        return OpenAsync(system, ownsSystem: true, options, loggers, transportFactory, cancel);
    }

    /// <summary>
    /// Opens or bootstraps the data dir and starts the member's actors in <paramref name="system"/> (under
    /// <c>/user/member</c>), without waiting for a leader: the caller then serves the peer port (other members must
    /// reach this one before any election can end) and calls <see cref="WaitUntilReadyAsync"/>.
    /// </summary>
    /// <param name="system">The member's ActorSystem (started by Akka.Hosting in the node); <see cref="ActorsConfig"/> is injected as a fallback.</param>
    /// <param name="options">Member options.</param>
    /// <param name="loggers">Logger factory.</param>
    /// <param name="transportFactory">Creates the peer transport from (member ID, cluster ID); null for a member
    /// that talks to no peers (single-member clusters and tests).</param>
    /// <param name="cancel">Cancels start-up.</param>
    /// <exception cref="Storage.Wal.WalCorruptException">The WAL is corrupt in the middle.</exception>
    /// <exception cref="InvalidOperationException">The data dir belongs to another member or cluster.</exception>
    public static Task<LocalMember> OpenAsync(ActorSystem system, ServerOptions options, ILoggerFactory loggers,
        Func<ulong, ulong, IRaftTransport>? transportFactory, CancellationToken cancel = default) =>
        OpenAsync(system, ownsSystem: false, options, loggers, transportFactory, cancel);

    private static async Task<LocalMember> OpenAsync(ActorSystem system, bool ownsSystem, ServerOptions options, ILoggerFactory loggers,
        Func<ulong, ulong, IRaftTransport>? transportFactory, CancellationToken cancel)
    {
        system.Settings.InjectTopLevelFallback(ActorsConfig);
        cancel.ThrowIfCancellationRequested();
        OpenedMember opened;
        try
        {
            opened = await OpenedMember.OpenAsync(system, options, loggers, cancel).ConfigureAwait(false);
        }
        catch
        {
            if (ownsSystem)
            {
                await system.Terminate().ConfigureAwait(false);
            }
            throw;
        }
        var transport = transportFactory?.Invoke(opened.Status.MemberId, opened.Status.ClusterId);
        var ids = new RequestIdGenerator(opened.Status.MemberId);
        var exit = new TaskCompletionSource<MemberExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The corruption checks ask the other members through the same peer requests as lease forwarding (Akka.Remote).
        IPeerHashKV peerHashKV = new RemotePeerHashKV(opened.Status.MemberId,
            () => opened.Membership.Members.Count > 0 ? opened.Membership.Members : opened.BootstrapMembers,
            transport as IPeerRequests, loggers.CreateLogger("etcdserver/corrupt"));
        var root = system.ActorOf(MemberActor.Props(new MemberActorSetup(opened, transport, ids, exit, peerHashKV)), "member");
        var refs = await root.Ask<MemberRefs>(MemberProtocol.GetRefs.Instance, TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
        var stopping = new CancellationTokenSource();
        var gateway = new MemberGateway(opened, refs, transport, ids, exit.Task, stopping.Token, loggers);
        var member = new LocalMember(system, ownsSystem, root, exit, peerHashKV, gateway, stopping);
        if (transport is not null)
        {
            member.ConnectTransport(transport);
        }
        return member;
    }

    /// <summary>
    /// Waits until a leader is known (a single-voter cluster elects itself at once), then publishes this member's
    /// name and client URLs through the log, as etcd does before it prints "ready to serve client requests".
    /// </summary>
    /// <exception cref="InvalidOperationException">The member's actors ended first (the exit's reason and cause).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired.</exception>
    public async Task WaitUntilReadyAsync(CancellationToken cancel = default)
    {
        await WaitForLeaderAsync(cancel).ConfigureAwait(false);
        await PublishAttributesAsync(cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// etcd's graceful <c>Stop()</c>: first <see cref="LeadershipTransfer.TransferAsync"/> (a leader of a multi-voter
    /// cluster hands leadership to its longest-connected voter, bounded by <see cref="MemberGateway.RequestTimeout"/>),
    /// logging a warning "leadership transfer failed" and stopping anyway when it does not succeed; then
    /// <see cref="DisposeAsync"/>. <paramref name="cancel"/> only cuts the transfer short. Never throws for a failed
    /// transfer. Later calls and <see cref="DisposeAsync"/> are no-ops after it.
    /// </summary>
    public async Task StopAsync(CancellationToken cancel = default)
    {
        if (Volatile.Read(ref _disposed) == 0 && !_exit.Task.IsCompleted)
        {
            try
            {
                await LeadershipTransfer.TransferAsync(Gateway, cancel).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is EtcdException or OperationCanceledException or TimeoutException)
            {
                _logger.LogWarning("leadership transfer failed: local-member-id {local} error {error}", Status.MemberId.ToString("x16"), ex.Message);
            }
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// etcd's <c>HardStop()</c>: stops the peer transport, then the member's actors in etcd's order (Raft, store,
    /// lessor, watches, journal; see <see cref="MemberActor"/>) without coordinating with the other members;
    /// acknowledged writes are already durable. Terminates the ActorSystem when this member created it. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        if (Transport is not null)
        {
            await Transport.StopAsync().ConfigureAwait(false);
        }
        if (!_exit.Task.IsCompleted)
        {
            try
            {
                await _member.Ask<MemberProtocol.Stopped>(MemberProtocol.Stop.Instance, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
            {
                _logger.LogWarning("the member's actors did not stop in time: {error}", ex.Message);
            }
        }
        if (_ownsSystem)
        {
            await _system.Terminate().ConfigureAwait(false);
        }
        (PeerHashKV as IDisposable)?.Dispose();
        _stopping.Dispose();
    }

    private async Task WaitForLeaderAsync(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (!Status.HasLeader)
        {
            if (_exit.Task.IsCompleted)
            {
                var exit = await _exit.Task.ConfigureAwait(false);
                throw new InvalidOperationException("the member stopped before it had a leader: " + exit.Reason, exit.Cause);
            }
            await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Publishes this member's name and client URLs through the log (etcd's publish), so every member's
    /// MemberList shows them; retried until it succeeds or the member stops.
    /// </summary>
    private async Task PublishAttributesAsync(CancellationToken cancel)
    {
        var attributes = new Attributes { Name = Options.Name };
        attributes.ClientUrls.AddRange(Options.AdvertiseClientUrls);
        var request = new InternalRaftRequest
        {
            ClusterMemberAttrSet = new ClusterMemberAttrSetRequest { MemberID = Status.MemberId, MemberAttributes = attributes },
        };
        while (true)
        {
            try
            {
                await Gateway.ProposeAsync(request.Clone(), checkQuota: false, cancel).ConfigureAwait(false);
                _logger.LogInformation("published local member to cluster through raft: {name} {clientUrls} cluster {cluster}",
                    Options.Name, string.Join(",", Options.AdvertiseClientUrls), Status.ClusterId.ToString("x16"));
                if (Status.IsLeader && Membership.ClusterVersion is null)
                {
                    // etcd's leader records the cluster version once it has started (monitorVersions).
                    await Gateway.ProposeAsync(new InternalRaftRequest { ClusterVersionSet = new ClusterVersionSetRequest { Ver = ClusterVersion } },
                        checkQuota: false, cancel).ConfigureAwait(false);
                    _logger.LogInformation("set initial cluster version to {version}", ClusterVersion);
                }
                return;
            }
            catch (EtcdException ex)
            {
                _logger.LogWarning("failed to publish local member to cluster through raft: {error}", ex.Message);
                await WaitForLeaderAsync(cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Wires the peer transport to the member's actors (etcd's raftNode transport handling), then starts it.</summary>
    private void ConnectTransport(IRaftTransport transport)
    {
        var raft = Actors.Raft;
        transport.Received += message => raft.Tell(new RaftProtocol.Step(message));
        transport.Unreachable += id => raft.Tell(new RaftProtocol.Unreachable(id));
        transport.SnapshotStatus += (id, ok) => raft.Tell(new RaftProtocol.SnapshotStatus(id, ok));
        transport.RemovedFromCluster += _ =>
        {
            _logger.LogWarning("the member has been permanently removed from the cluster");
            _member.Tell(new MemberProtocol.RemovedFromCluster(Status.MemberId));
        };
        transport.IsMemberRemoved = Membership.IsRemoved;
        transport.OpenSnapshot = OpenSnapshotForSend;
        transport.SnapshotReceived = (message, dbPath) =>
        {
            // Raft decides whether to accept it (a stale snapshot is ignored); only then is the backend replaced.
            raft.Tell(new RaftProtocol.SnapshotArrived(message, dbPath));
            return Task.CompletedTask;
        };
        if (transport is IPeerRequests peers)
        {
            var served = Actors.PeerRequests;
            peers.Serve = (from, request, cancel) => Gateway.AskAsync<IMessage>(served, new PeerRequestsActor.Serve(from, request), cancel);
        }
        if (transport is RemoteRaftTransport remote)
        {
            remote.IsRaftLeader = () => Status.IsLeader;
        }
        foreach (var member in Gateway.CurrentMembers())
        {
            if (member.ID != Status.MemberId)
            {
                transport.AddPeer(member.ID, member.PeerURLs);
            }
        }
        foreach (var (id, peerUrls) in Options.JoinPeers)
        {
            if (id != Status.MemberId && !transport.HasPeer(id))
            {
                transport.AddPeer(id, peerUrls);
            }
        }
        transport.Start();
    }

    /// <summary>
    /// A consistent copy of the backend to send with a MsgSnap (deleted when the transport closes it). Called on a
    /// transport thread, which waits for the store to write the copy.
    /// </summary>
    private Stream OpenSnapshotForSend(Message message)
    {
        var path = Path.Combine(Options.SnapDir, $"send-{message.To:x16}-{Guid.NewGuid():N}.db");
        Gateway.AskAsync<StoreProtocol.BackupWritten>(Actors.Store, new StoreProtocol.RunQuery(0, new StoreProtocol.Backup(path)), _stopping.Token)
            .GetAwaiter().GetResult();
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
    }
}
