using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// The edge between the gRPC services and one member's actors (etcd's <c>EtcdServer</c> API surface,
/// etcdserver/v3_server.go): opens the data dir, starts the <see cref="MemberActor"/> in an ActorSystem, and turns
/// each call into an ask of the right actor with etcd's request timeout. Writes are proposed through the RaftActor and
/// answered when applied; reads are linearizable through a ReadIndex round unless serializable. Thread-safe: every
/// method may be called from any request thread; no state of the actors is touched here.
/// </summary>
public sealed partial class EtcdServer : IAsyncDisposable
{
    /// <summary>The etcd server version this member is compatible with, reported by Status and /version.</summary>
    public const string ServerVersion = "3.4.23";

    /// <summary>The cluster version reported by /version.</summary>
    public const string ClusterVersion = "3.4.0";

    private readonly ILogger _logger;
    private readonly TimeSpan _requestTimeout;
    private readonly RequestIdGenerator _ids;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ActorSystem _system;
    private readonly bool _ownsSystem;
    private readonly IActorRef _member;
    private readonly MemberRefs _refs;
    private readonly OpenedMember _opened;
    private readonly TaskCompletionSource<MemberExit> _exit;
    private int _disposed;

    private EtcdServer(ActorSystem system, bool ownsSystem, OpenedMember opened, IRaftTransport? transport,
        RequestIdGenerator ids, IActorRef member, MemberRefs refs, TaskCompletionSource<MemberExit> exit, ILoggerFactory loggers,
        IPeerHashKV peerHashKV)
    {
        PeerHashKV = peerHashKV;
        _system = system;
        _ownsSystem = ownsSystem;
        _opened = opened;
        Transport = transport;
        _ids = ids;
        _member = member;
        _refs = refs;
        _exit = exit;
        Loggers = loggers;
        _logger = loggers.CreateLogger("etcdserver/server");
        Gateway = new MemberGateway(opened, refs, transport, ids, exit.Task, _stopping.Token, loggers);
        _requestTimeout = Gateway.RequestTimeout;
        _leaseIds = new LeaseIdGenerator(_ids.Next);
        Watches = new WatchHub(refs.WatchStreams, _requestTimeout);
    }

    /// <summary>The edge the gRPC services ask the member's actors through.</summary>
    public MemberGateway Gateway { get; }

    /// <summary>The options this member runs with.</summary>
    public ServerOptions Options => _opened.Options;

    /// <summary>Live Raft and apply progress (the member's read model).</summary>
    public ServerStatus Status => _opened.Status;

    /// <summary>The logger factory the member's parts log through.</summary>
    public ILoggerFactory Loggers { get; }

    /// <summary>The cluster membership applied from the log (published by the MvccStoreActor).</summary>
    public ClusterMembership Membership => _opened.Membership;

    /// <summary>
    /// Completes when the member's actors have ended, with why: removed from the cluster (not fatal), stopped, or a
    /// fatal actor failure (the process must exit non-zero).
    /// </summary>
    public Task<MemberExit> Exited => _exit.Task;

    /// <summary>Completes when this member has been removed from the cluster or its actors ended: it must stop serving.</summary>
    public Task Removed => _exit.Task;

    /// <summary>Opens watch streams (one WatcherActor per client Watch stream).</summary>
    public WatchHub Watches { get; }

    /// <summary>The backend size in bytes (published by the store at every batch commit, 100 ms); what the quota checks.</summary>
    public long DbSizeBytes => Status.DbSizeBytes;

    /// <summary>The peer transport, or null for a member without peers.</summary>
    public IRaftTransport? Transport { get; }

    /// <summary>The member's actors (for tests and the hosting layer).</summary>
    public MemberRefs Actors => _refs;

    /// <summary>The Akka.Persistence journal plugin actor the member's Raft log is written through (a system actor of
    /// the ActorSystem, not a child of the member; monitoring samples its mailbox).</summary>
    public IActorRef JournalActor => _opened.Journal.Journal;

    /// <summary>The member's root actor.</summary>
    public IActorRef Member => _member;

    /// <summary>
    /// The HOCON every ActorSystem running a member needs: the Raft log's journal plugins (the WAL journal, the default,
    /// and Akka.Persistence.Sql), the serializer of the log's events and the WAL journal's pinned dispatcher (an fsync
    /// blocks its thread); see <see cref="Journal.RaftLogPlugins.DefaultConfig"/>. Added as a fallback, so a user's
    /// config may override it.
    /// </summary>
    public static Config ActorsConfig => Journal.RaftLogPlugins.DefaultConfig;

    /// <summary>
    /// Opens or bootstraps the member's data dir and starts its actors in a new ActorSystem it owns; completes once a
    /// leader is known (a single-voter cluster elects itself at once).
    /// </summary>
    /// <exception cref="Storage.Wal.WalCorruptException">The WAL is corrupt in the middle (a torn tail is repaired).</exception>
    /// <exception cref="InvalidOperationException">The data dir belongs to another member or cluster.</exception>
    public static async Task<EtcdServer> StartAsync(ServerOptions options, ILoggerFactory loggers, CancellationToken cancel = default)
    {
        var server = await OpenAsync(options, loggers, transportFactory: null, cancel).ConfigureAwait(false);
        await server.WaitUntilReadyAsync(cancel).ConfigureAwait(false);
        return server;
    }

    /// <summary>
    /// Opens the data dir and starts the actors in a new ActorSystem the member owns (terminated by
    /// <see cref="DisposeAsync"/>), without waiting for a leader. See <see cref="OpenAsync(ActorSystem, ServerOptions, ILoggerFactory, Func{ulong, ulong, IRaftTransport}?, CancellationToken)"/>.
    /// </summary>
    public static Task<EtcdServer> OpenAsync(ServerOptions options, ILoggerFactory loggers,
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
    public static Task<EtcdServer> OpenAsync(ActorSystem system, ServerOptions options, ILoggerFactory loggers,
        Func<ulong, ulong, IRaftTransport>? transportFactory, CancellationToken cancel = default) =>
        OpenAsync(system, ownsSystem: false, options, loggers, transportFactory, cancel);

    private static async Task<EtcdServer> OpenAsync(ActorSystem system, bool ownsSystem, ServerOptions options, ILoggerFactory loggers,
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
        var member = system.ActorOf(MemberActor.Props(new MemberActorSetup(opened, transport, ids, exit, peerHashKV)), "member");
        var refs = await member.Ask<MemberRefs>(MemberProtocol.GetRefs.Instance, TimeSpan.FromSeconds(30), cancel).ConfigureAwait(false);
        var server = new EtcdServer(system, ownsSystem, opened, transport, ids, member, refs, exit, loggers, peerHashKV);
        if (transport is not null)
        {
            server.ConnectTransport(transport);
        }
        return server;
    }

    /// <summary>
    /// Waits until a leader is known (a single-voter cluster elects itself at once), then publishes this member's
    /// name and client URLs through the log, as etcd does before it prints "ready to serve client requests".
    /// Throws the member's failure if its actors end first.
    /// </summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancel = default)
    {
        await WaitForLeaderAsync(cancel).ConfigureAwait(false);
        await PublishAttributesAsync(cancel).ConfigureAwait(false);
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
    /// etcd's graceful <c>Stop()</c>: first <see cref="TransferLeadershipAsync"/> (a leader of a multi-voter cluster
    /// hands leadership to its longest-connected voter, bounded by <see cref="RequestTimeout"/>), logging a warning
    /// "leadership transfer failed" and stopping anyway when it does not succeed; then <see cref="DisposeAsync"/>.
    /// <paramref name="cancel"/> only cuts the transfer short. Never throws for a failed transfer. Later calls and
    /// <see cref="DisposeAsync"/> are no-ops after it.
    /// </summary>
    public async Task StopAsync(CancellationToken cancel = default)
    {
        if (Volatile.Read(ref _disposed) == 0 && !_exit.Task.IsCompleted)
        {
            try
            {
                await TransferLeadershipAsync(cancel).ConfigureAwait(false);
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

    /// <summary>The cluster's members as applied from the log (MemberList); the bootstrap list until any is applied.</summary>
    public MemberListResponse MemberList() => Gateway.MemberList();

    private IReadOnlyList<Member> CurrentMembers() => Gateway.CurrentMembers();

    private Task<T> AskAsync<T>(IActorRef actor, object message, CancellationToken cancel) => Gateway.AskAsync<T>(actor, message, cancel);

    private Task<Google.Protobuf.IMessage> ProposeAsync(InternalRaftRequest request, bool checkQuota, CancellationToken cancel) =>
        Gateway.ProposeAsync(request, checkQuota, cancel);

    private Task<T> ReadAsync<T>(Store.StoreProtocol.Query query, bool serializable, CancellationToken cancel) =>
        Gateway.ReadAsync<T>(query, serializable, cancel);

    private Task<Store.StoreProtocol.BarrierPassed> ReadBarrierAsync(CancellationToken cancel) => Gateway.ReadBarrierAsync(cancel);
}
