using Akka.Actor;
using Akka.Etcd.Actors.Journal;
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
/// A member's data dir, opened (or bootstrapped) and ready to hand to its actors: the Raft log replayed through its
/// journal plugin (Akka.Persistence: the WAL journal or Akka.Persistence.Sql) and the newest snapshot file, the MVCC
/// store, the apply-side lease table and membership, and the Raft core. Everything that can fail on a bad data dir
/// fails here, before the member's actors start (etcd's NewServer does the same).
/// </summary>
public sealed class OpenedMember
{
    /// <summary>How long the replay of the Raft log may go without a word from the journal before start-up fails.</summary>
    public static readonly TimeSpan ReplayIdleTimeout = TimeSpan.FromSeconds(60);

    private OpenedMember(ServerOptions options, ServerStatus status, RaftLogJournal journal, MemoryRaftLogStorage storage,
        SnapshotFiles snapshots, MvccStore store, LeaseTable leases, ClusterMembership membership, RawNode node,
        IReadOnlyList<Etcdserverpb.Member> bootstrapMembers, Func<string, MvccStore> reopen, string backendPath)
    {
        Options = options;
        Status = status;
        Journal = journal;
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

    /// <summary>The logger factory the member's parts log through (etcd-style lines with fields).</summary>
    public ILoggerFactory Loggers { get; private init; } = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;

    /// <summary>The options the member runs with.</summary>
    public ServerOptions Options { get; }

    /// <summary>The member's read model (IDs set; views published by the actors).</summary>
    public ServerStatus Status { get; }

    /// <summary>The Raft log's journal plugin, persistence id and sequence numbers (owned by the RaftActor once it starts).</summary>
    public RaftLogJournal Journal { get; }

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
    /// True when <paramref name="options"/>' data dir was used by a member: its Raft log exists (WAL segments or the SQL
    /// journal's SQLite file) or its backend does. A member joining a running cluster asks its peers for its ID only
    /// when this is false.
    /// </summary>
    public static bool IsInitialized(ServerOptions options) =>
        RaftLogPlugins.LogExists(options.EffectiveWalDir, options.FileSystem) || File.Exists(Path.Combine(options.SnapDir, "db"));

    /// <summary>
    /// Opens or bootstraps the data dir of <paramref name="options"/> in <paramref name="system"/>: the member's Raft log
    /// is replayed through its journal plugin (a torn WAL tail is repaired); a log that holds something is restarted
    /// from; an empty one gets the initial cluster's ConfChange entries at indexes 1..n (etcd's <c>StartNode</c>), written
    /// through the journal, or stays empty for a member joining a running cluster.
    /// </summary>
    /// <exception cref="WalCorruptException">The WAL is corrupt in the middle.</exception>
    /// <exception cref="InvalidOperationException">The log belongs to another member or cluster; or it is empty while
    /// the backend holds applied data (another member's data dir, or the journal plugin changed).</exception>
    /// <exception cref="ArgumentException">This member is not in <c>--initial-cluster</c> as advertised.</exception>
    public static async Task<OpenedMember> OpenAsync(ActorSystem system, ServerOptions options, ILoggerFactory loggers, CancellationToken cancel = default)
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
        var fs = options.FileSystem;
        fs.CreateDirectory(options.SnapDir);
        var walDir = options.EffectiveWalDir;
        var snapshots = new SnapshotFiles(options.SnapDir, fs, loggers.CreateLogger("snap/snapshotter"));
        var storage = new MemoryRaftLogStorage();
        var walOptions = new WalOptions
        {
            SegmentSizeBytes = options.WalSegmentSizeBytes,
            MaxSegmentsToKeep = options.MaxWals,
            FileSystem = fs,
            Logger = loggers.CreateLogger("wal/wal"),
        };
        var plugin = RaftLogPlugins.Resolve(system, options.JournalPluginId, walDir, walOptions, status.MemberId, status.ClusterId);
        var pluginId = plugin.PluginId;
        RaftLogReplay replay;
        try
        {
            replay = await RaftLogReplay.ReplayAsync(system, plugin.Journal, plugin.PersistenceId, ReplayIdleTimeout, cancel).ConfigureAwait(false);
        }
        catch
        {
            await CloseAsync(new RaftLogJournal(plugin.Journal, pluginId, plugin.PersistenceId, 0, new EntrySequenceNrs()) { KeepsLogOpen = plugin.IsWal }).ConfigureAwait(false);
            throw;
        }
        var journal = new RaftLogJournal(plugin.Journal, pluginId, plugin.PersistenceId, replay.HighestSequenceNr, replay.EntrySequenceNrs)
        {
            KeepsLogOpen = plugin.IsWal,
        };

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
            await CloseAsync(journal).ConfigureAwait(false);
            throw;
        }
        try
        {
            if (!replay.IsEmpty)
            {
                if (snapshots.LoadNewest() is { } snapshot)
                {
                    storage.ApplySnapshot(snapshot);
                }
                storage.SetHardState(replay.HardState);
                if (replay.Entries.Count > 0)
                {
                    storage.Append(replay.Entries);
                }
                log.LogInformation("restarting member {member} in cluster {cluster} at commit index {commit} ({events} Raft log events replayed through {plugin})",
                    status.MemberId.ToString("x16"), status.ClusterId.ToString("x16"), replay.HardState.Commit, replay.EventCount, pluginId);
            }
            else if (store.ConsistentIndex > 0)
            {
                throw new InvalidOperationException(
                    $"data dir {options.DataDir} holds a backend applied up to index {store.ConsistentIndex} but the Raft log of member " +
                    $"{status.MemberId:x16} in cluster {status.ClusterId:x16} is empty in journal {pluginId}: the data dir belongs to " +
                    "another member or cluster, or it was written through another journal plugin (akka.persistence.journal.plugin)");
            }
            else if (options.JoinExisting)
            {
                // A member added at run time starts empty: the leader sends it the log (or a snapshot).
                log.LogInformation("joining existing cluster {cluster} as member {member}",
                    status.ClusterId.ToString("x16"), status.MemberId.ToString("x16"));
            }
            else
            {
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
                await journal.WriteAsync(system, hardState, entries, ReplayIdleTimeout, cancel).ConfigureAwait(false);
                storage.SetHardState(hardState);
                storage.Append(entries);
                log.LogInformation("starting member {member} in cluster {cluster} (Raft log in {plugin})",
                    status.MemberId.ToString("x16"), status.ClusterId.ToString("x16"), pluginId);
            }
        }
        catch
        {
            store.Dispose();
            await CloseAsync(journal).ConfigureAwait(false);
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
            Seed = options.RaftRandomSeed ?? unchecked((int)status.MemberId ^ Environment.TickCount),
        }, storage);
        return new OpenedMember(options, status, journal, storage, snapshots, store, leases, membership, node,
            options.JoinExisting ? Array.Empty<Etcdserverpb.Member>() : boot.Members,
            path => MvccStore.Open(path, storeOptions, storeLogger), backendPath)
        {
            Loggers = loggers,
            Auth = auth,
        };
    }

    /// <summary>
    /// Closes the member's log in its journal when the journal keeps it open (the WAL journal: segment file handles
    /// and the directory lock), so that the data dir can be opened again in the same process; a no-op for other
    /// journals. Never throws: a journal that does not answer within 10 s is left alone.
    /// </summary>
    public static async Task CloseAsync(RaftLogJournal journal)
    {
        if (!journal.KeepsLogOpen)
        {
            return;
        }
        try
        {
            await journal.Journal.Ask<WalJournal.Closed>(new WalJournal.Close(journal.PersistenceId), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
        {
            // The journal is gone (its ActorSystem is terminating): so is its hold on the log.
        }
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
