using Akka.Configuration;

namespace Akka.Etcd.Node.Configuration;

/// <summary>Value of --initial-cluster-state.</summary>
public enum InitialClusterState
{
    /// <summary><c>new</c>: bootstrap a new cluster with the members of --initial-cluster.</summary>
    New,
    /// <summary><c>existing</c>: join a cluster this member was already added to (member add).</summary>
    Existing,
}

/// <summary>
/// A member's settings with etcd 3.4's names, meanings and defaults (etcdmain/config.go, embed/config.go).
/// Built by <see cref="MemberConfigParser.Parse"/> from, in increasing precedence: defaults, the HOCON
/// file of <c>--config</c> (<c>akka.etcd { ... }</c>), <c>ETCD_*</c> environment variables, command-line
/// flags; or, when <c>--config-file</c> / <c>ETCD_CONFIG_FILE</c> names a YAML file, from defaults and that
/// file only (flags and env vars are then ignored, as in etcd). <c>new MemberConfig()</c> gives etcd's
/// defaults. Immutable; safe to share between threads.
/// </summary>
public sealed record MemberConfig
{
    /// <summary>The default member name, <c>default</c>.</summary>
    public const string DefaultName = "default";

    /// <summary>The quota used when --quota-backend-bytes is 0: 2 GiB (etcd DefaultQuotaBytes).</summary>
    public const long DefaultQuotaBackendBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>Largest allowed --election-timeout in ms (etcd maxElectionMs).</summary>
    public const uint MaxElectionTimeoutMs = 50000;

    // ---- Member ----

    /// <summary>Human-readable member name (--name); default <c>default</c>.</summary>
    public string Name { get; init; } = DefaultName;

    /// <summary>Data directory (--data-dir); default <c>${name}.etcd</c>.</summary>
    public string DataDir { get; init; } = DefaultName + ".etcd";

    /// <summary>WAL directory: --wal-dir when given, else <c>&lt;data-dir&gt;/member/wal</c>.</summary>
    public string WalDir { get; init; } = Path.Combine(DefaultName + ".etcd", "member", "wal");

    /// <summary>True when --wal-dir was given (the WAL lives outside the data dir).</summary>
    public bool IsWalDirDedicated { get; init; }

    /// <summary>Committed entries between snapshots (--snapshot-count); default 100000.</summary>
    public ulong SnapshotCount { get; init; } = 100_000;

    /// <summary>Raft heartbeat / tick interval in ms (--heartbeat-interval); default 100.</summary>
    public uint HeartbeatIntervalMs { get; init; } = 100;

    /// <summary>Raft election timeout in ms (--election-timeout); default 1000; at least 5 heartbeats, at most 50000.</summary>
    public uint ElectionTimeoutMs { get; init; } = 1000;

    /// <summary>Fast-forward election ticks on boot (--initial-election-tick-advance); default true.</summary>
    public bool InitialElectionTickAdvance { get; init; } = true;

    /// <summary>Peer listen URLs (--listen-peer-urls), sorted; default <c>http://localhost:2380</c>.</summary>
    public IReadOnlyList<Uri> ListenPeerUrls { get; init; } = [new("http://localhost:2380")];

    /// <summary>Client listen URLs (--listen-client-urls), sorted; default <c>http://localhost:2379</c>.</summary>
    public IReadOnlyList<Uri> ListenClientUrls { get; init; } = [new("http://localhost:2379")];

    /// <summary>Snapshot files to keep (--max-snapshots); default 5, 0 = unlimited.</summary>
    public uint MaxSnapshots { get; init; } = 5;

    /// <summary>WAL files to keep (--max-wals); default 5, 0 = unlimited.</summary>
    public uint MaxWals { get; init; } = 5;

    /// <summary>Backend quota in bytes as given (--quota-backend-bytes); default 0 = <see cref="DefaultQuotaBackendBytes"/>.</summary>
    public long QuotaBackendBytes { get; init; }

    /// <summary>The quota to enforce in bytes: <see cref="QuotaBackendBytes"/>, or 2 GiB when it is 0 or less.</summary>
    public long EffectiveQuotaBackendBytes => QuotaBackendBytes > 0 ? QuotaBackendBytes : DefaultQuotaBackendBytes;

    /// <summary>Maximum time before a backend commit (--backend-batch-interval); zero = backend default (100 ms).</summary>
    public TimeSpan BackendBatchInterval { get; init; }

    /// <summary>Maximum operations before a backend commit (--backend-batch-limit); 0 = backend default (10000).</summary>
    public long BackendBatchLimit { get; init; }

    /// <summary>Maximum operations in one txn (--max-txn-ops); default 128.</summary>
    public uint MaxTxnOps { get; init; } = 128;

    /// <summary>Maximum client request size in bytes (--max-request-bytes); default 1572864 (1.5 MiB).</summary>
    public uint MaxRequestBytes { get; init; } = 1_572_864;

    /// <summary>Maximum concurrent HTTP/2 streams per client connection (--max-concurrent-streams); default uint.MaxValue.</summary>
    public uint MaxConcurrentStreams { get; init; } = uint.MaxValue;

    /// <summary>Minimum client ping interval (--grpc-keepalive-min-time); default 5 s.</summary>
    public TimeSpan GrpcKeepAliveMinTime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Server-to-client ping interval (--grpc-keepalive-interval); default 2 h, zero = disabled.</summary>
    public TimeSpan GrpcKeepAliveInterval { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Ping acknowledgement timeout (--grpc-keepalive-timeout); default 20 s, zero = disabled.</summary>
    public TimeSpan GrpcKeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(20);

    // ---- Clustering ----

    /// <summary>Peer URLs advertised to the cluster (--initial-advertise-peer-urls), sorted; default <c>http://localhost:2380</c>.</summary>
    public IReadOnlyList<Uri> InitialAdvertisePeerUrls { get; init; } = [new("http://localhost:2380")];

    /// <summary>
    /// Bootstrap membership parsed from --initial-cluster (<c>n1=http://a:2380,n1=http://b:2380,n2=...</c>):
    /// member name to its peer URLs, in order of first appearance. Default <c>&lt;name&gt;=&lt;initial-advertise-peer-urls&gt;</c>.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Uri>> InitialCluster { get; init; } =
        new Dictionary<string, IReadOnlyList<Uri>> { [DefaultName] = [new("http://localhost:2380")] };

    /// <summary>--initial-cluster as text (derived text when not given).</summary>
    public string InitialClusterText { get; init; } = DefaultName + "=http://localhost:2380";

    /// <summary>--initial-cluster-state; default <see cref="Configuration.InitialClusterState.New"/>.</summary>
    public InitialClusterState InitialClusterState { get; init; } = InitialClusterState.New;

    /// <summary>Cluster token mixed into the cluster/member ids (--initial-cluster-token); default <c>etcd-cluster</c>.</summary>
    public string InitialClusterToken { get; init; } = "etcd-cluster";

    /// <summary>Client URLs advertised to clients (--advertise-client-urls), sorted; default <c>http://localhost:2379</c>.</summary>
    public IReadOnlyList<Uri> AdvertiseClientUrls { get; init; } = [new("http://localhost:2379")];

    /// <summary>Discovery URL (--discovery); stored, discovery is not implemented.</summary>
    public string Discovery { get; init; } = "";

    /// <summary>--discovery-fallback: <c>proxy</c> (default) or <c>exit</c>.</summary>
    public string DiscoveryFallback { get; init; } = "proxy";

    /// <summary>--discovery-proxy.</summary>
    public string DiscoveryProxy { get; init; } = "";

    /// <summary>--discovery-srv.</summary>
    public string DiscoverySrv { get; init; } = "";

    /// <summary>--discovery-srv-name.</summary>
    public string DiscoverySrvName { get; init; } = "";

    /// <summary>Reject member changes that would lose quorum (--strict-reconfig-check); default true.</summary>
    public bool StrictReconfigCheck { get; init; } = true;

    /// <summary>Raft pre-vote phase (--pre-vote); default false in 3.4.</summary>
    public bool PreVote { get; init; }

    /// <summary>--auto-compaction-retention as given; default <c>0</c> (off). Hours when periodic and unit-less, revisions when mode is revision.</summary>
    public string AutoCompactionRetention { get; init; } = "0";

    /// <summary>--auto-compaction-mode: <c>periodic</c> (default) or <c>revision</c>.</summary>
    public string AutoCompactionMode { get; init; } = "periodic";

    /// <summary>Serve the v2 API (--enable-v2); default false. Stored only.</summary>
    public bool EnableV2 { get; init; }

    // ---- Security ----

    /// <summary>Client-side TLS (--cert-file, --key-file, --client-cert-auth, --trusted-ca-file, --client-crl-file, --client-cert-allowed-hostname, --auto-tls).</summary>
    public TransportSecurity ClientSecurity { get; init; } = new();

    /// <summary>Peer-side TLS (the same flags with the peer- prefix, plus --peer-cert-allowed-cn).</summary>
    public TransportSecurity PeerSecurity { get; init; } = new();

    /// <summary>TLS cipher suite names (--cipher-suites, comma-separated); empty = platform defaults.</summary>
    public IReadOnlyList<string> CipherSuites { get; init; } = [];

    /// <summary>Skip SAN verification of peer client certs (--experimental-peer-skip-client-san-verification).</summary>
    public bool PeerSkipClientSanVerification { get; init; }

    /// <summary>Allowed CORS origins (--cors); default <c>*</c>.</summary>
    public IReadOnlyList<string> Cors { get; init; } = ["*"];

    /// <summary>Allowed Host headers on insecure listeners (--host-whitelist); default <c>*</c>.</summary>
    public IReadOnlyList<string> HostWhitelist { get; init; } = ["*"];

    // ---- Auth ----

    /// <summary>--auth-token: <c>simple</c> (default) or <c>jwt,pub-key=...,priv-key=...,sign-method=...</c>.</summary>
    public string AuthToken { get; init; } = "simple";

    /// <summary>bcrypt cost for passwords (--bcrypt-cost); default 10, valid 4..31.</summary>
    public uint BcryptCost { get; init; } = 10;

    /// <summary>Simple-token lifetime in seconds (--auth-token-ttl); default 300.</summary>
    public uint AuthTokenTtlSeconds { get; init; } = 300;

    // ---- Profiling and monitoring ----

    /// <summary>Serve /debug/pprof (--enable-pprof); stored only.</summary>
    public bool EnablePprof { get; init; }

    /// <summary>--metrics: <c>basic</c> (default) or <c>extensive</c>.</summary>
    public string Metrics { get; init; } = "basic";

    /// <summary>Extra listeners for /metrics and /health (--listen-metrics-urls), sorted; default none.</summary>
    public IReadOnlyList<Uri> ListenMetricsUrls { get; init; } = [];

    // ---- Logging ----

    /// <summary>--logger; default <c>zap</c> (JSON lines; the only format written).</summary>
    public string Logger { get; init; } = "zap";

    /// <summary>--log-outputs: <c>default</c> (= stderr), <c>stderr</c>, <c>stdout</c> or file paths.</summary>
    public IReadOnlyList<string> LogOutputs { get; init; } = ["default"];

    /// <summary>--log-level: debug, info (default), warn, error, panic or fatal (<c>debug</c> when --debug is set).</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>--log-package-levels as given; stored only.</summary>
    public string LogPackageLevels { get; init; } = "";

    // ---- v2 proxy (stored only) ----

    /// <summary>--proxy: <c>off</c> (default), <c>readonly</c> or <c>on</c>. Stored only.</summary>
    public string Proxy { get; init; } = "off";

    // ---- Gateway, experimental, unsafe ----

    /// <summary>Serve the JSON gRPC gateway (/v3/...) on client URLs (--enable-grpc-gateway); default true.</summary>
    public bool EnableGrpcGateway { get; init; } = true;

    /// <summary>Check data corruption before serving (--experimental-initial-corrupt-check); default false.</summary>
    public bool ExperimentalInitialCorruptCheck { get; init; }

    /// <summary>Interval between corruption checks (--experimental-corrupt-check-time); zero = off.</summary>
    public TimeSpan ExperimentalCorruptCheckTime { get; init; }

    /// <summary>
    /// Raft entries kept behind a snapshot for slow followers (--experimental-snapshot-catchup-entries, etcd 3.5's flag);
    /// a follower further behind gets the snapshot. Default 5000.
    /// </summary>
    public ulong ExperimentalSnapshotCatchUpEntries { get; init; } = 5_000;

    /// <summary>--experimental-enable-v2v3 prefix; stored only.</summary>
    public string ExperimentalEnableV2V3 { get; init; } = "";

    /// <summary>--experimental-backend-bbolt-freelist-type; stored only.</summary>
    public string ExperimentalBackendFreelistType { get; init; } = "array";

    /// <summary>Checkpoint lease remaining TTLs (--experimental-enable-lease-checkpoint).</summary>
    public bool ExperimentalEnableLeaseCheckpoint { get; init; }

    /// <summary>Persist lease checkpoints (--experimental-enable-lease-checkpoint-persist); requires checkpointing.</summary>
    public bool ExperimentalEnableLeaseCheckpointPersist { get; init; }

    /// <summary>Interval between lease checkpoints (hidden --experimental-lease-checkpoint-interval); default 5 min, etcd 3.4's fixed value.</summary>
    public TimeSpan ExperimentalLeaseCheckpointInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Interval between revision-mode auto-compactions (hidden --experimental-revision-compaction-interval); default 5 min, etcd 3.4's fixed value.</summary>
    public TimeSpan ExperimentalRevisionCompactionInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Revisions deleted per compaction batch (--experimental-compaction-batch-limit); default 1000.</summary>
    public long ExperimentalCompactionBatchLimit { get; init; } = 1000;

    /// <summary>Watch progress notification interval (--experimental-watch-progress-notify-interval); default 10 min.</summary>
    public TimeSpan ExperimentalWatchProgressNotifyInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Apply duration above which a warning is logged (--experimental-warning-apply-duration); default 100 ms.</summary>
    public TimeSpan ExperimentalWarningApplyDuration { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Skip fsync (--unsafe-no-fsync); unsafe, loses data on crash.</summary>
    public bool UnsafeNoFsync { get; init; }

    /// <summary>Rewrite membership to a one-member cluster on start (--force-new-cluster); unsafe.</summary>
    public bool ForceNewCluster { get; init; }

    // ---- Sources ----

    /// <summary>The YAML file the config was read from (--config-file / ETCD_CONFIG_FILE), or empty.</summary>
    public string ConfigFile { get; init; } = "";

    /// <summary>The HOCON file used as the base (--config / ETCD_CONFIG), or empty.</summary>
    public string HoconFile { get; init; } = "";

    /// <summary>
    /// The config for the member's actor system (e.g. for Akka.Hosting's <c>AddHocon</c>): the HOCON file of
    /// <see cref="HoconFile"/> (its <c>akka { ... }</c> section configures Akka), with akka-etcd's reference config
    /// (<see cref="EtcdSettings.DefaultConfig"/>: no stdout logging, no config dump at start, dead letters logged 10 times)
    /// as fallback, and <c>akka.loglevel</c> following <see cref="LogLevel"/>. Without a HOCON file: the reference config.
    /// </summary>
    public Config AkkaConfig { get; init; } = EtcdSettings.Default.ActorSystemConfig("info");

    /// <summary>Election timeout in heartbeat ticks (ElectionTimeoutMs / HeartbeatIntervalMs), as etcd's ElectionTicks.</summary>
    public int ElectionTicks => (int)(ElectionTimeoutMs / Math.Max(1, HeartbeatIntervalMs));
}
