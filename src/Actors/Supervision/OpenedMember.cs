using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Auth.Tokens;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Storage.Mvcc;
using Akka.Etcd.Storage.Snap;
using Akka.Etcd.Storage.Wal;
using Microsoft.Extensions.Logging;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Supervision;

/// <summary>
/// A member's data dir, opened (or bootstrapped) and ready to hand to its actors: the WAL, the Raft log filled from the
/// WAL and the newest snapshot file, the MVCC store, the apply-side lease table and membership, and the Raft core.
/// Everything that can fail on a bad data dir fails here, before any actor starts (etcd's NewServer does the same).
/// </summary>
public sealed class OpenedMember
{
    private OpenedMember(ServerOptions options, ServerStatus status, WriteAheadLog wal, MemoryRaftLogStorage storage,
        SnapshotFiles snapshots, MvccStore store, LeaseTable leases, ClusterMembership membership, RawNode node,
        IReadOnlyList<Etcdserverpb.Member> bootstrapMembers, Func<string, MvccStore> reopen, string backendPath)
    {
        Options = options;
        Status = status;
        Wal = wal;
        Storage = storage;
        Snapshots = snapshots;
        Store = store;
        Leases = leases;
        Membership = membership;
        Node = node;
        BootstrapMembers = bootstrapMembers;
        Reopen = reopen;
        BackendPath = backendPath;
    }

    /// <summary>The options the member runs with.</summary>
    public ServerOptions Options { get; }

    /// <summary>The member's read model (IDs set; views published by the actors).</summary>
    public ServerStatus Status { get; }

    /// <summary>The open WAL (owned by the WalJournalActor once it starts).</summary>
    public WriteAheadLog Wal { get; }

    /// <summary>The in-memory Raft log.</summary>
    public MemoryRaftLogStorage Storage { get; }

    /// <summary>The Raft snapshot files.</summary>
    public SnapshotFiles Snapshots { get; }

    /// <summary>The MVCC store (owned by the MvccStoreActor once it starts).</summary>
    public MvccStore Store { get; }

    /// <summary>The apply-side lease table, loaded with attachments.</summary>
    public LeaseTable Leases { get; }

    /// <summary>The membership applied so far (from the backend).</summary>
    public ClusterMembership Membership { get; }

    /// <summary>The replicated auth store (from the backend), with the token provider of <c>--auth-token</c>.</summary>
    public AuthStore Auth { get; private init; } = null!;

    /// <summary>The Raft core over <see cref="Storage"/>.</summary>
    public RawNode Node { get; }

    /// <summary>The members of the initial cluster (empty for a member joining a running cluster).</summary>
    public IReadOnlyList<Etcdserverpb.Member> BootstrapMembers { get; }

    /// <summary>Opens the store at a path (after a backend install).</summary>
    public Func<string, MvccStore> Reopen { get; }

    /// <summary>Path of the backend file (<c>member/snap/db</c>).</summary>
    public string BackendPath { get; }

    /// <summary>
    /// Opens or bootstraps the data dir of <paramref name="options"/>: a used data dir is opened (a torn WAL tail is
    /// repaired); a fresh one gets a WAL with the initial cluster's ConfChange entries at indexes 1..n (etcd's
    /// <c>StartNode</c>), or an empty log for a member joining a running cluster.
    /// </summary>
    /// <exception cref="WalCorruptException">The WAL is corrupt in the middle.</exception>
    /// <exception cref="InvalidOperationException">The data dir belongs to another member or cluster.</exception>
    /// <exception cref="ArgumentException">This member is not in <c>--initial-cluster</c> as advertised.</exception>
    public static OpenedMember Open(ServerOptions options, ILoggerFactory loggers)
    {
        // A bad --auth-token fails before anything is opened (etcd fails NewServer the same way).
        var auth = OpenAuth(options, loggers);
        var boot = MemberBootstrap.Resolve(options);
        if (options.JoinExisting && options.JoinIdentity is { } joined)
        {
            boot = boot with { MemberId = joined.MemberId, ClusterId = joined.ClusterId };
        }
        var status = new ServerStatus { MemberId = boot.MemberId, ClusterId = boot.ClusterId };
        var log = loggers.CreateLogger("etcdserver/server");
        Directory.CreateDirectory(options.SnapDir);
        var walDir = options.EffectiveWalDir;
        var snapshots = new SnapshotFiles(options.SnapDir, logger: loggers.CreateLogger("snap/snapshotter"));
        var storage = new MemoryRaftLogStorage();
        var walOptions = new WalOptions { SegmentSizeBytes = options.WalSegmentSizeBytes, MaxSegmentsToKeep = options.MaxWals, Logger = loggers.CreateLogger("wal/wal") };
        WriteAheadLog wal;
        if (WriteAheadLog.Exists(walDir))
        {
            wal = WriteAheadLog.Open(walDir, walOptions, out var state);
            if (state.MemberId != status.MemberId || state.ClusterId != status.ClusterId)
            {
                wal.Dispose();
                throw new InvalidOperationException(
                    $"data dir {options.DataDir} belongs to member {state.MemberId:x16} of cluster {state.ClusterId:x16}, " +
                    $"not member {status.MemberId:x16} of cluster {status.ClusterId:x16}");
            }
            if (snapshots.LoadNewest() is { } snapshot)
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
            log.LogInformation("restarting member {member} in cluster {cluster} at commit index {commit}",
                status.MemberId.ToString("x16"), status.ClusterId.ToString("x16"), state.HardState?.Commit ?? 0);
        }
        else if (options.JoinExisting)
        {
            // A member added at run time starts empty: the leader sends it the log (or a snapshot).
            Directory.CreateDirectory(walDir);
            wal = WriteAheadLog.Create(walDir, walOptions, status.MemberId, status.ClusterId);
            log.LogInformation("joining existing cluster {cluster} as member {member}",
                status.ClusterId.ToString("x16"), status.MemberId.ToString("x16"));
        }
        else
        {
            Directory.CreateDirectory(walDir);
            wal = WriteAheadLog.Create(walDir, walOptions, status.MemberId, status.ClusterId);
            // As etcd's raft.StartNode: one committed ConfChangeAddNode entry per initial member at term 1, indexes
            // 1..n. Applying them builds the Raft configuration and the membership on every member alike, and a member
            // added later replays them like any other entry.
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
            log.LogInformation("starting member {member} in cluster {cluster}",
                status.MemberId.ToString("x16"), status.ClusterId.ToString("x16"));
        }

        var leases = new LeaseTable();
        var backendPath = Path.Combine(options.SnapDir, "db");
        var storeOptions = new MvccStoreOptions { LeaseExists = leases.Contains };
        var storeLogger = loggers.CreateLogger("mvcc/store");
        MvccStore store;
        try
        {
            store = MvccStore.Open(backendPath, storeOptions, storeLogger);
        }
        catch
        {
            wal.Dispose();
            throw;
        }
        // Attachments are rebuilt from the keys' lease fields, as etcd's lessor does on recovery.
        leases.LoadWithAttachments(store);
        var membership = new ClusterMembership();
        membership.Load(store.Backend);
        auth.Load(store.Backend);
        var initialHardState = storage.InitialState().HardState;
        status.Publish(new RaftView(initialHardState.Term, 0, initialHardState.Commit, storage.LastIndex()));
        status.Publish(new StoreView(store.ConsistentIndex, store.CurrentRevision, store.DbSizeBytes));
        // Raft re-delivers every committed entry after the snapshot: the store skips those at or below its consistent
        // index, while the RaftActor re-applies their conf changes to the Raft core (as etcd does).
        var node = new RawNode(new RaftConfig
        {
            Id = status.MemberId,
            ElectionTick = options.ElectionTicks,
            HeartbeatTick = 1,
            Applied = storage.Snapshot().Metadata?.Index ?? 0,
            PreVote = options.PreVote,
            CheckQuorum = true,
            MaxUncommittedEntriesSize = options.MaxUncommittedEntriesBytes,
            Seed = unchecked((int)status.MemberId ^ Environment.TickCount),
        }, storage);
        return new OpenedMember(options, status, wal, storage, snapshots, store, leases, membership, node,
            options.JoinExisting ? Array.Empty<Etcdserverpb.Member>() : boot.Members,
            path => MvccStore.Open(path, storeOptions, storeLogger), backendPath) { Auth = auth };
    }

    private static AuthStore OpenAuth(ServerOptions options, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("auth");
        var tokens = AuthTokenOptions.Parse(options.AuthToken).CreateProvider(TimeSpan.FromSeconds(options.AuthTokenTtlSeconds));
        if (tokens.Kind == "simple")
        {
            logger.LogWarning("simple token is not cryptographically signed");
        }
        return new AuthStore(tokens, options.BcryptCost, logger);
    }
}
