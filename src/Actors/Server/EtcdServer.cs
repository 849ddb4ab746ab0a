using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc;
using Akka.Etcd.Storage.Snap;
using Akka.Etcd.Storage.Wal;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// One etcd member: starts (or restarts from its data dir) the WalJournalActor, MvccStoreActor and
/// RaftActor, and is the facade the gRPC services call. Writes are proposed through Raft and answered when
/// applied; reads are linearizable through ReadIndex unless serializable (etcd's etcdserver/v3_server.go).
/// Thread-safe: every method may be called from any request thread.
/// </summary>
public sealed partial class EtcdServer : IAsyncDisposable
{
    /// <summary>The etcd server version this member is compatible with, reported by Status and /version.</summary>
    public const string ServerVersion = "3.4.23";

    /// <summary>The cluster version reported by /version.</summary>
    public const string ClusterVersion = "3.4.0";

    private readonly ILogger _logger;
    private readonly ProposalWaiters _waiters = new();
    private readonly RequestIdGenerator _ids;
    private readonly TimeSpan _requestTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WalJournalActor _journal = null!;
    private IRaftTransport? _transport;
    private MvccStoreActor _store = null!;
    private LeaseActor _lessor = null!;
    private LeaseIdGenerator _leaseIds = null!;
    private RaftActor _raft = null!;
    private Task _timers = Task.CompletedTask;
    private int _disposed;
    private IReadOnlyList<Member> _members = Array.Empty<Member>();

    private EtcdServer(ServerOptions options, ServerStatus status, ILoggerFactory loggers)
    {
        Options = options;
        Status = status;
        Loggers = loggers;
        _logger = loggers.CreateLogger("etcdserver/server");
        _ids = new RequestIdGenerator(status.MemberId);
        _requestTimeout = TimeSpan.FromMilliseconds(5000 + 2 * options.ElectionTimeoutMs);
    }

    /// <summary>The options this member runs with.</summary>
    public ServerOptions Options { get; }

    /// <summary>Live Raft and apply progress.</summary>
    public ServerStatus Status { get; }

    /// <summary>The logger factory the member's parts log through.</summary>
    public ILoggerFactory Loggers { get; }

    /// <summary>The cluster membership applied from the log.</summary>
    public ClusterMembership Membership { get; } = new();

    /// <summary>Completes when this member has been removed from the cluster: it must stop serving (etcd exits).</summary>
    public Task Removed => _removed.Task;

    /// <summary>The watch hub: one WatcherActor per client Watch stream, fed by every applied revision.</summary>
    public WatchHub Watches { get; private set; } = null!;

    /// <summary>The backend size in bytes (refreshed at every backend batch commit, 100 ms); what the quota checks.</summary>
    public long DbSizeBytes => Status.DbSizeBytes;

    /// <summary>
    /// Opens or bootstraps the member's data dir and starts its actors; completes once a leader is known
    /// (a single-voter cluster elects itself at once).
    /// </summary>
    /// <exception cref="WalCorruptException">The WAL is corrupt in the middle (a torn tail is repaired).</exception>
    /// <exception cref="InvalidOperationException">The data dir belongs to another member or cluster.</exception>
    public static async Task<EtcdServer> StartAsync(ServerOptions options, ILoggerFactory loggers, CancellationToken cancel = default)
    {
        var server = await OpenAsync(options, loggers, transportFactory: null, cancel).ConfigureAwait(false);
        await server.WaitUntilReadyAsync(cancel).ConfigureAwait(false);
        return server;
    }

    /// <summary>
    /// Opens or bootstraps the data dir and starts the actors and the peer transport, without waiting for a leader:
    /// the caller then serves the peer port (other members must reach this one before any election can end) and
    /// calls <see cref="WaitUntilReadyAsync"/>.
    /// </summary>
    /// <param name="options">Member options.</param>
    /// <param name="loggers">Logger factory.</param>
    /// <param name="transportFactory">Creates the peer transport from (member ID, cluster ID); null for a member
    /// that talks to no peers (single-member clusters and tests).</param>
    /// <param name="cancel">Cancels start-up.</param>
    public static Task<EtcdServer> OpenAsync(ServerOptions options, ILoggerFactory loggers,
        Func<ulong, ulong, IRaftTransport>? transportFactory, CancellationToken cancel = default)
    {
        var boot = MemberBootstrap.Resolve(options);
        if (options.JoinExisting && options.JoinIdentity is { } joined)
        {
            boot = boot with { MemberId = joined.MemberId, ClusterId = joined.ClusterId };
        }
        var status = new ServerStatus { MemberId = boot.MemberId, ClusterId = boot.ClusterId };
        // A joining member knows the cluster only from its peers (JoinPeers) and the log; the IDs computed from
        // --initial-cluster are not the cluster's (members added at run time get time-derived IDs).
        var server = new EtcdServer(options, status, loggers) { _members = options.JoinExisting ? Array.Empty<Member>() : boot.Members };
        if (transportFactory is not null)
        {
            server._transport = transportFactory(status.MemberId, status.ClusterId);
        }
        cancel.ThrowIfCancellationRequested();
        server.Open(boot);
        return Task.FromResult(server);
    }

    /// <summary>The peer transport, or null for a member without peers.</summary>
    public IRaftTransport? Transport => _transport;

    /// <summary>
    /// Waits until a leader is known (a single-voter cluster elects itself at once), then publishes this member's
    /// name and client URLs through the log, as etcd does before it prints "ready to serve client requests".
    /// </summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancel = default)
    {
        await WaitForLeaderAsync(cancel).ConfigureAwait(false);
        await PublishAttributesAsync(cancel).ConfigureAwait(false);
    }

    private void Open(MemberBootstrap boot)
    {
        Directory.CreateDirectory(Options.SnapDir);
        var walDir = Options.EffectiveWalDir;
        var snapshots = new SnapshotFiles(Options.SnapDir, logger: Loggers.CreateLogger("snap/snapshotter"));
        var storage = new MemoryRaftLogStorage();
        WriteAheadLog wal;
        var walOptions = new WalOptions { SegmentSizeBytes = Options.WalSegmentSizeBytes, MaxSegmentsToKeep = Options.MaxWals, Logger = Loggers.CreateLogger("wal/wal") };
        if (WriteAheadLog.Exists(walDir))
        {
            wal = WriteAheadLog.Open(walDir, walOptions, out var state);
            if (state.MemberId != Status.MemberId || state.ClusterId != Status.ClusterId)
            {
                wal.Dispose();
                throw new InvalidOperationException(
                    $"data dir {Options.DataDir} belongs to member {state.MemberId:x16} of cluster {state.ClusterId:x16}, " +
                    $"not member {Status.MemberId:x16} of cluster {Status.ClusterId:x16}");
            }
            var snapshot = snapshots.LoadNewest();
            if (snapshot is not null)
            {
                storage.ApplySnapshot(snapshot);
            }
            if (state.HardState is { } hardState)
            {
                storage.SetHardState(hardState);
            }
            if (state.Entries.Count > 0)
            {
                storage.Append(state.Entries);
            }
            _logger.LogInformation("restarting member {member} in cluster {cluster} at commit index {commit}",
                Status.MemberId.ToString("x16"), Status.ClusterId.ToString("x16"), state.HardState?.Commit ?? 0);
        }
        else if (Options.JoinExisting)
        {
            // A member added at run time starts empty: the leader sends it the log (or a snapshot).
            Directory.CreateDirectory(walDir);
            wal = WriteAheadLog.Create(walDir, walOptions, Status.MemberId, Status.ClusterId);
            _logger.LogInformation("joining existing cluster {cluster} as member {member}",
                Status.ClusterId.ToString("x16"), Status.MemberId.ToString("x16"));
        }
        else
        {
            Directory.CreateDirectory(walDir);
            wal = WriteAheadLog.Create(walDir, walOptions, Status.MemberId, Status.ClusterId);
            // As etcd's raft.StartNode: one committed ConfChangeAddNode entry per initial member at term 1,
            // indexes 1..n. Applying them builds the Raft configuration and the membership on every member alike,
            // and a member added later replays them like any other entry.
            var entries = new List<Entry>();
            foreach (var member in boot.Members)
            {
                var change = new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeID = member.ID, Context = member.ToByteString() };
                entries.Add(new Entry { Term = 1, Index = (ulong)entries.Count + 1, Type = EntryType.EntryConfChange, Data = change.ToByteString() });
            }
            var hardState = new HardState { Term = 1, Commit = (ulong)entries.Count };
            wal.Append(hardState, entries);
            wal.Sync();
            storage.SetHardState(hardState);
            storage.Append(entries);
            _logger.LogInformation("starting member {member} in cluster {cluster}",
                Status.MemberId.ToString("x16"), Status.ClusterId.ToString("x16"));
        }

        var leases = new LeaseTable();
        var backendPath = Path.Combine(Options.SnapDir, "db");
        var storeOptions = new MvccStoreOptions { LeaseExists = leases.Contains };
        var storeLogger = Loggers.CreateLogger("mvcc/store");
        var store = MvccStore.Open(backendPath, storeOptions, storeLogger);
        // Attachments are rebuilt from the keys' lease fields, as etcd's lessor does on recovery.
        leases.LoadWithAttachments(store);
        Membership.Load(store.Backend);
        var initialHardState = storage.InitialState().HardState;
        var snapshotIndex = storage.Snapshot().Metadata?.Index ?? 0;
        // Raft re-delivers every committed entry after the snapshot: the store skips those at or below its
        // consistent index, while the RaftActor re-applies their conf changes to the Raft core (as etcd does).
        var applied = snapshotIndex;
        Status.AppliedIndex = store.ConsistentIndex;
        Status.Term = initialHardState.Term;

        _journal = new WalJournalActor(wal, Loggers.CreateLogger("wal/journal"));
        var minLeaseTtl = LessorOptions.MinTtlFor(Options.ElectionTicks, Options.HeartbeatIntervalMs);
        _store = new MvccStoreActor(store, Status, _waiters, index => _raft.Tell(new RaftMessage.Applied(index)),
            leases, minLeaseTtl, Membership, Loggers.CreateLogger("mvcc/store-actor"))
        {
            Reopen = path => MvccStore.Open(path, storeOptions, storeLogger),
            BackendPath = backendPath,
        };
        _leaseIds = new LeaseIdGenerator(_ids.Next);
        _lessor = new LeaseActor(new Lessor(new LessorOptions { MinTtlSeconds = minLeaseTtl }), () => Environment.TickCount64,
            ProposeLeaseRevokeAsync, Loggers.CreateLogger("lease/lessor"),
            new LeaseActorOptions { TickInterval = TimeSpan.FromMilliseconds(500) });
        _lessor.Tell(new LeaseMessage.Restore(leases.Records.ToList(), leases.Attachments.ToList(), null));
        _store.Lessor = _lessor;
        var node = new RawNode(new RaftConfig
        {
            Id = Status.MemberId,
            ElectionTick = Options.ElectionTicks,
            HeartbeatTick = 1,
            Applied = applied,
            PreVote = Options.PreVote,
            CheckQuorum = true,
            Seed = unchecked((int)Status.MemberId ^ Environment.TickCount),
        }, storage);
        Watches = new WatchHub(_store, store.CurrentRevision, () => ResponseHeaders.Create(Status, 0), new WatchStreamOptions(), Loggers);
        _store.Watches = Watches;
        _raft = new RaftActor(node, storage, _journal, _store, Status, _waiters, Options, snapshots,
            messages => _transport?.Send(messages), Loggers.CreateLogger("raft/raft-actor"))
        {
            LeadershipChanged = isLeader => _lessor.Tell(isLeader
                ? new LeaseMessage.Promote(Options.ElectionTimeoutMs)
                : new LeaseMessage.Demote()),
            ConfChangeApplied = OnConfChangeApplied,
            InstallSnapshotBackend = InstallAcceptedSnapshotAsync,
        };

        _journal.Start();
        _lessor.Start();
        _store.Start();
        _raft.Start();
        _timers = RunTimersAsync(_stopping.Token);

        if (_transport is not null)
        {
            ConnectTransport(_transport);
        }
    }

    private async Task WaitForLeaderAsync(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (!Status.HasLeader)
        {
            if (_raft.Completion.IsFaulted)
            {
                await _raft.Completion.ConfigureAwait(false);
            }
            await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false);
        }
    }

    private async Task RunTimersAsync(CancellationToken stop)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(Options.HeartbeatIntervalMs));
        var sinceCommit = TimeSpan.Zero;
        var backendInterval = TimeSpan.FromMilliseconds(100);
        try
        {
            while (await tick.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                _raft.Tell(RaftMessage.Tick.Instance);
                _waiters.ExpireDue(Environment.TickCount64, static () => EtcdErrors.Timeout);
                sinceCommit += TimeSpan.FromMilliseconds(Options.HeartbeatIntervalMs);
                if (sinceCommit >= backendInterval)
                {
                    sinceCommit = TimeSpan.Zero;
                    _store.Tell(new StoreMessage.CommitBatch());
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>
    /// etcd's graceful <c>Stop()</c>: first <see cref="TransferLeadershipAsync"/> (a leader of a multi-voter cluster
    /// hands leadership to its longest-connected voter, bounded by <see cref="RequestTimeout"/>), logging a warning
    /// "leadership transfer failed" and stopping anyway when it does not succeed; then <see cref="DisposeAsync"/>.
    /// <paramref name="cancel"/> only cuts the transfer short. Never throws for a failed transfer. Call once, from
    /// the host's shutdown path; later calls and <see cref="DisposeAsync"/> are no-ops after it.
    /// </summary>
    public async Task StopAsync(CancellationToken cancel = default)
    {
        if (Volatile.Read(ref _disposed) == 0)
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
    /// etcd's <c>HardStop()</c>: stops the actors in order (Raft, store, journal) without coordinating with the other
    /// members; acknowledged writes are already durable. Idempotent: only the first call stops.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        await _timers.ConfigureAwait(false);
        if (_transport is not null)
        {
            await _transport.StopAsync().ConfigureAwait(false);
        }
        await _raft.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        await _lessor.DisposeAsync().ConfigureAwait(false);
        await _journal.DisposeAsync().ConfigureAwait(false);
        _waiters.FailAll(EtcdErrors.Stopped);
        _stopping.Dispose();
    }

    /// <summary>The cluster's members as applied from the log (MemberList); the bootstrap list until any is applied.</summary>
    public MemberListResponse MemberList()
    {
        // etcd's Cluster service leaves the header revision out.
        var response = new MemberListResponse { Header = ResponseHeaders.Create(Status, 0) };
        var members = Membership.Members;
        response.Members.AddRange(members.Count > 0 ? members : _members);
        return response;
    }
}
