namespace Akka.Etcd.Actors.Server;

/// <summary>
/// What a member needs to run, resolved from flags/env/config by the executable (src/Node). Units are in
/// the names; defaults are etcd 3.4's.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>Human-readable member name (<c>--name</c>).</summary>
    public string Name { get; init; } = "default";

    /// <summary>Data directory (<c>--data-dir</c>); holds <c>member/wal</c> and <c>member/snap</c>.</summary>
    public string DataDir { get; init; } = "default.etcd";

    /// <summary>WAL directory (<c>--wal-dir</c>); null means <c>&lt;data-dir&gt;/member/wal</c>.</summary>
    public string? WalDir { get; init; }

    /// <summary>Initial cluster: member name to its peer URLs (<c>--initial-cluster</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> InitialCluster { get; init; } =
        new Dictionary<string, IReadOnlyList<string>> { ["default"] = new[] { "http://localhost:2380" } };

    /// <summary><c>new</c> or <c>existing</c> (<c>--initial-cluster-state</c>).</summary>
    public string InitialClusterState { get; init; } = "new";

    /// <summary><c>--initial-cluster-token</c>; part of every member and cluster ID.</summary>
    public string InitialClusterToken { get; init; } = "etcd-cluster";

    /// <summary>This member's advertised peer URLs (<c>--initial-advertise-peer-urls</c>).</summary>
    public IReadOnlyList<string> AdvertisePeerUrls { get; init; } = new[] { "http://localhost:2380" };

    /// <summary>This member's advertised client URLs (<c>--advertise-client-urls</c>).</summary>
    public IReadOnlyList<string> AdvertiseClientUrls { get; init; } = new[] { "http://localhost:2379" };

    /// <summary>Applied entries between Raft snapshots, which release old WAL segments (<c>--snapshot-count</c>).</summary>
    public ulong SnapshotCount { get; init; } = 100_000;

    /// <summary>Entries kept in the in-memory Raft log behind a snapshot, for slow followers (etcd: 5,000).</summary>
    public ulong SnapshotCatchUpEntries { get; init; } = 5_000;

    /// <summary>Heartbeat interval in ms (<c>--heartbeat-interval</c>); also the Raft tick.</summary>
    public int HeartbeatIntervalMs { get; init; } = 100;

    /// <summary>Election timeout in ms (<c>--election-timeout</c>); a multiple of the heartbeat interval.</summary>
    public int ElectionTimeoutMs { get; init; } = 1000;

    /// <summary>Backend size quota in bytes (<c>--quota-backend-bytes</c>); 0 means 2 GiB.</summary>
    public long QuotaBackendBytes { get; init; }

    /// <summary>Largest request in bytes (<c>--max-request-bytes</c>, 1.5 MiB).</summary>
    public int MaxRequestBytes { get; init; } = 1572864;

    /// <summary>Most operations in one txn branch (<c>--max-txn-ops</c>).</summary>
    public int MaxTxnOps { get; init; } = 128;

    /// <summary>WAL segments kept (<c>--max-wals</c>).</summary>
    public int MaxWals { get; init; } = 5;

    /// <summary>Snapshot files kept (<c>--max-snapshots</c>).</summary>
    public int MaxSnapshots { get; init; } = 5;

    /// <summary>WAL segment size in bytes (etcd: 64 MiB); smaller values are for tests of segment rollover and release.</summary>
    public long WalSegmentSizeBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// True when joining an existing cluster (<c>--initial-cluster-state existing</c>) with an empty data dir: the
    /// member starts with no log and no membership and receives both from the leader.
    /// </summary>
    public bool JoinExisting { get; init; }

    /// <summary>
    /// For <see cref="JoinExisting"/>: this member's ID and the cluster ID as learned from the running cluster
    /// (etcd asks the peers' <c>/members</c>); ignored otherwise.
    /// </summary>
    public (ulong MemberId, ulong ClusterId)? JoinIdentity { get; init; }

    /// <summary>For <see cref="JoinExisting"/>: the running cluster's members (ID, peer URLs) to connect to first.</summary>
    public IReadOnlyList<(ulong Id, IReadOnlyList<string> PeerUrls)> JoinPeers { get; init; } = Array.Empty<(ulong, IReadOnlyList<string>)>();

    /// <summary>
    /// Most bytes of proposed entries the leader holds uncommitted before it refuses new proposals with "etcdserver: too
    /// many requests" (etcd raft's MaxUncommittedEntriesSize). Default 64 MiB; 0 = no limit.
    /// </summary>
    public ulong MaxUncommittedEntriesBytes { get; init; } = 64UL * 1024 * 1024;

    /// <summary>
    /// Most committed entries the store may be behind before writes are refused with "etcdserver: too many requests"
    /// (etcd's maxGapBetweenApplyAndCommitIndex, 5,000).
    /// </summary>
    public ulong MaxCommitApplyGap { get; init; } = 5_000;

    /// <summary>
    /// Number of LeaseActor shards under the lessor (lease id modulo shards picks one); see docs/architecture.md
    /// for how it was chosen. Default 1.
    /// </summary>
    public int LessorShards { get; init; } = 1;

    /// <summary>Auto-compaction, corruption checks and lease checkpoints (etcd 3.4's operations flags).</summary>
    public OperationsOptions Operations { get; init; } = new();

    /// <summary>
    /// etcd's <c>--strict-reconfig-check</c> (default true): refuse a member add while not every voter has been connected
    /// for 5 s, and adds or removes that would leave too few started voters for a quorum. Off lets an operator add a
    /// replacement while a dead member is still listed, then remove the dead one.
    /// </summary>
    public bool StrictReconfigCheck { get; init; } = true;

    /// <summary>Raft pre-vote (<c>--pre-vote</c>).</summary>
    public bool PreVote { get; init; }

    /// <summary>
    /// The HOCON path of the Akka.Persistence journal plugin the Raft log is written through; null (the default) takes
    /// the ActorSystem's <c>akka.persistence.journal.plugin</c> (<c>akka.persistence.journal.etcd-wal</c> unless the
    /// member's config says otherwise, e.g. <c>akka.persistence.journal.sql</c>).
    /// </summary>
    public string? JournalPluginId { get; init; }

    /// <summary>The file seam of the WAL journal's and snapshot files (the real file system unless a test swaps in a simulated disk).</summary>
    public Akka.Etcd.Storage.FileSystem.IStorageFileSystem FileSystem { get; init; } = Akka.Etcd.Storage.FileSystem.PhysicalFileSystem.Instance;

    /// <summary>
    /// The auth token kind and its options (<c>--auth-token</c>): <c>simple</c> or
    /// <c>jwt,pub-key=PATH,priv-key=PATH,sign-method=RS256,ttl=5m</c> (see <c>Auth.Tokens.AuthTokenOptions</c>).
    /// </summary>
    public string AuthToken { get; init; } = "simple";

    /// <summary>How long a simple token lives after its last use, in seconds (<c>--auth-token-ttl</c>, default 300).</summary>
    public uint AuthTokenTtlSeconds { get; init; } = 300;

    /// <summary>bcrypt cost of user passwords (<c>--bcrypt-cost</c>, default 10, 4..31).</summary>
    public int BcryptCost { get; init; } = 10;

    /// <summary>
    /// True when client connections must present a certificate signed by the trusted CA (<c>--client-cert-auth</c>):
    /// a verified certificate's CommonName then stands for the user of a call without a token, as in etcd.
    /// </summary>
    public bool ClientCertAuth { get; init; }

    /// <summary>
    /// Seed of the Raft core's randomized election timeouts. Null (production) seeds it from the member ID and the
    /// process clock, so members started together do not time out together; the deterministic simulation pins it so a
    /// run replays exactly from its seed. Nothing else reads it.
    /// </summary>
    public int? RaftRandomSeed { get; init; }

    /// <summary>The effective quota: <see cref="QuotaBackendBytes"/> or 2 GiB when it is 0 or less.</summary>
    public long EffectiveQuotaBytes => QuotaBackendBytes > 0 ? QuotaBackendBytes : 2L * 1024 * 1024 * 1024;

    /// <summary>The WAL directory in effect.</summary>
    public string EffectiveWalDir => WalDir ?? Path.Combine(DataDir, "member", "wal");

    /// <summary>The snapshot directory (<c>&lt;data-dir&gt;/member/snap</c>): Raft snapshot files and the backend <c>db</c>.</summary>
    public string SnapDir => Path.Combine(DataDir, "member", "snap");

    /// <summary>Election timeout in ticks (election timeout / heartbeat interval, at least 2).</summary>
    public int ElectionTicks => Math.Max(2, ElectionTimeoutMs / Math.Max(1, HeartbeatIntervalMs));
}
