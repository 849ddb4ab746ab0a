namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Every flag the member accepts: etcd 3.4's flag set (etcdmain/config.go newConfig, help.go) in help
/// order and groups, plus our <c>--config</c> (HOCON file). Immutable; thread-safe.
/// </summary>
internal static class FlagCatalog
{
    public const string Member = "Member";
    public const string Clustering = "Clustering";
    public const string Security = "Security";
    public const string Auth = "Auth";
    public const string Monitoring = "Profiling and Monitoring";
    public const string Logging = "Logging";
    public const string Proxy = "v2 Proxy (to be deprecated in v4)";
    public const string Experimental = "Experimental feature";
    public const string Unsafe = "Unsafe feature";
    public const string Hidden = "";

    /// <summary>Default of --max-concurrent-streams: math.MaxUint32.</summary>
    public const string MaxUint32 = "4294967295";

    public static readonly IReadOnlyList<FlagSpec> All =
    [
        new("config-file", FlagKind.String, "", Hidden, "Path to the server configuration file (YAML)."),
        new("config", FlagKind.String, "", Hidden, "Path to a HOCON configuration file (akka.etcd { ... })."),
        new("version", FlagKind.Bool, "false", Hidden, "Print the version and exit."),

        new("name", FlagKind.String, "default", Member, "Human-readable name for this member."),
        new("data-dir", FlagKind.String, "", Member, "Path to the data directory.", "${name}.etcd"),
        new("wal-dir", FlagKind.String, "", Member, "Path to the dedicated wal directory."),
        new("snapshot-count", FlagKind.Uint64, "100000", Member, "Number of committed transactions to trigger a snapshot to disk."),
        new("heartbeat-interval", FlagKind.Uint, "100", Member, "Time (in milliseconds) of a heartbeat interval."),
        new("election-timeout", FlagKind.Uint, "1000", Member, "Time (in milliseconds) for an election to timeout. See tuning documentation for details."),
        new("initial-election-tick-advance", FlagKind.Bool, "true", Member, "Whether to fast-forward initial election ticks on boot for faster election."),
        new("listen-peer-urls", FlagKind.Urls, "http://localhost:2380", Member, "List of URLs to listen on for peer traffic."),
        new("listen-client-urls", FlagKind.Urls, "http://localhost:2379", Member, "List of URLs to listen on for client traffic."),
        new("max-snapshots", FlagKind.Uint, "5", Member, "Maximum number of snapshot files to retain (0 is unlimited)."),
        new("max-wals", FlagKind.Uint, "5", Member, "Maximum number of wal files to retain (0 is unlimited)."),
        new("quota-backend-bytes", FlagKind.Int64, "0", Member, "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota)."),
        new("backend-batch-interval", FlagKind.Duration, "0s", Member, "BackendBatchInterval is the maximum time before commit the backend transaction.", ""),
        new("backend-batch-limit", FlagKind.Int, "0", Member, "BackendBatchLimit is the maximum operations before commit the backend transaction."),
        new("max-txn-ops", FlagKind.Uint, "128", Member, "Maximum number of operations permitted in a transaction."),
        new("max-request-bytes", FlagKind.Uint, "1572864", Member, "Maximum client request size in bytes the server will accept."),
        new("max-concurrent-streams", FlagKind.Uint32, MaxUint32, Member, "Maximum concurrent streams that each client can open at a time.", "math.MaxUint32"),
        new("grpc-keepalive-min-time", FlagKind.Duration, "5s", Member, "Minimum duration interval that a client should wait before pinging server."),
        new("grpc-keepalive-interval", FlagKind.Duration, "2h", Member, "Frequency duration of server-to-client ping to check if a connection is alive (0 to disable)."),
        new("grpc-keepalive-timeout", FlagKind.Duration, "20s", Member, "Additional duration of wait before closing a non-responsive connection (0 to disable)."),

        new("initial-advertise-peer-urls", FlagKind.Urls, "http://localhost:2380", Clustering, "List of this member's peer URLs to advertise to the rest of the cluster."),
        new("initial-cluster", FlagKind.String, "", Clustering, "Initial cluster configuration for bootstrapping.", "default=http://localhost:2380"),
        new("initial-cluster-state", FlagKind.Choice, "new", Clustering, "Initial cluster state ('new' or 'existing').", Choices: ["new", "existing"]),
        new("initial-cluster-token", FlagKind.String, "etcd-cluster", Clustering, "Initial cluster token for the etcd cluster during bootstrap.\n    Specifying this can protect you from unintended cross-cluster interaction when running multiple clusters."),
        new("advertise-client-urls", FlagKind.Urls, "http://localhost:2379", Clustering, "List of this member's client URLs to advertise to the public.\n    The client URLs advertised should be accessible to machines that talk to etcd cluster. etcd client libraries parse these URLs to connect to the cluster."),
        new("discovery", FlagKind.String, "", Clustering, "Discovery URL used to bootstrap the cluster."),
        new("discovery-fallback", FlagKind.Choice, "proxy", Clustering, "Expected behavior ('exit' or 'proxy') when discovery services fails.\n    \"proxy\" supports v2 API only.", Choices: ["proxy", "exit"]),
        new("discovery-proxy", FlagKind.String, "", Clustering, "HTTP proxy to use for traffic to discovery service."),
        new("discovery-srv", FlagKind.String, "", Clustering, "DNS srv domain used to bootstrap the cluster."),
        new("discovery-srv-name", FlagKind.String, "", Clustering, "Suffix to the dns srv name queried when bootstrapping."),
        new("strict-reconfig-check", FlagKind.Bool, "true", Clustering, "Reject reconfiguration requests that would cause quorum loss."),
        new("pre-vote", FlagKind.Bool, "false", Clustering, "Enable to run an additional Raft election phase."),
        new("auto-compaction-retention", FlagKind.String, "0", Clustering, "Auto compaction retention length. 0 means disable auto compaction."),
        new("auto-compaction-mode", FlagKind.String, "periodic", Clustering, "Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention."),
        new("enable-v2", FlagKind.Bool, "false", Clustering, "Accept etcd V2 client requests."),

        new("cert-file", FlagKind.String, "", Security, "Path to the client server TLS cert file."),
        new("key-file", FlagKind.String, "", Security, "Path to the client server TLS key file."),
        new("client-cert-auth", FlagKind.Bool, "false", Security, "Enable client cert authentication."),
        new("client-crl-file", FlagKind.String, "", Security, "Path to the client certificate revocation list file."),
        new("client-cert-allowed-hostname", FlagKind.String, "", Security, "Allowed TLS hostname for client cert authentication."),
        new("trusted-ca-file", FlagKind.String, "", Security, "Path to the client server TLS trusted CA cert file."),
        new("auto-tls", FlagKind.Bool, "false", Security, "Client TLS using generated certificates."),
        new("peer-cert-file", FlagKind.String, "", Security, "Path to the peer server TLS cert file."),
        new("peer-key-file", FlagKind.String, "", Security, "Path to the peer server TLS key file."),
        new("peer-client-cert-auth", FlagKind.Bool, "false", Security, "Enable peer client cert authentication."),
        new("peer-trusted-ca-file", FlagKind.String, "", Security, "Path to the peer server TLS trusted CA file."),
        new("peer-cert-allowed-cn", FlagKind.String, "", Security, "Required CN for client certs connecting to the peer endpoint."),
        new("peer-cert-allowed-hostname", FlagKind.String, "", Security, "Allowed TLS hostname for inter peer authentication."),
        new("peer-auto-tls", FlagKind.Bool, "false", Security, "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided."),
        new("peer-crl-file", FlagKind.String, "", Security, "Path to the peer certificate revocation list file."),
        new("cipher-suites", FlagKind.Strings, "", Security, "Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go)."),
        new("cors", FlagKind.Cors, "*", Security, "Comma-separated whitelist of origins for CORS, or cross-origin resource sharing, (empty or * means allow all)."),
        new("host-whitelist", FlagKind.Strings, "*", Security, "Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all)."),

        new("auth-token", FlagKind.String, "simple", Auth, "Specify a v3 authentication token type and its options ('simple' or 'jwt')."),
        new("bcrypt-cost", FlagKind.Uint, "10", Auth, "Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31."),
        new("auth-token-ttl", FlagKind.Uint, "300", Auth, "Time (in seconds) of the auth-token-ttl."),

        new("enable-pprof", FlagKind.Bool, "false", Monitoring, "Enable runtime profiling data via HTTP server. Address is at client URL + \"/debug/pprof/\""),
        new("metrics", FlagKind.String, "basic", Monitoring, "Set level of detail for exported metrics, specify 'extensive' to include histogram metrics."),
        new("listen-metrics-urls", FlagKind.Urls, "", Monitoring, "List of URLs to listen on for the metrics and health endpoints."),

        new("logger", FlagKind.String, "zap", Logging, "Specify 'zap' for structured logging (the only logger akka-etcd writes; 'capnslog' is accepted and logs as zap)."),
        new("log-outputs", FlagKind.Strings, "default", Logging, "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets."),
        new("log-output", FlagKind.Strings, "default", Hidden, "[TO BE DEPRECATED IN v3.5] use '--log-outputs'."),
        new("log-level", FlagKind.String, "info", Logging, "Configures log level. Only supports debug, info, warn, error, panic, or fatal."),
        new("debug", FlagKind.Bool, "false", Logging, "Enable debug-level logging for etcd. [WARN] Will be deprecated in v3.5. Use '--log-level=debug' instead."),
        new("log-package-levels", FlagKind.String, "", Logging, "Specify a particular log level for each etcd package (eg: 'etcdmain=CRITICAL,etcdserver=DEBUG')."),

        new("proxy", FlagKind.Choice, "off", Proxy, "Proxy mode setting ('off', 'readonly' or 'on').", Choices: ["off", "readonly", "on"]),
        new("proxy-failure-wait", FlagKind.Uint, "5000", Proxy, "Time (in milliseconds) an endpoint will be held in a failed state."),
        new("proxy-refresh-interval", FlagKind.Uint, "30000", Proxy, "Time (in milliseconds) of the endpoints refresh interval."),
        new("proxy-dial-timeout", FlagKind.Uint, "1000", Proxy, "Time (in milliseconds) for a dial to timeout."),
        new("proxy-write-timeout", FlagKind.Uint, "5000", Proxy, "Time (in milliseconds) for a write to timeout."),
        new("proxy-read-timeout", FlagKind.Uint, "0", Proxy, "Time (in milliseconds) for a read to timeout."),

        new("enable-grpc-gateway", FlagKind.Bool, "true", Hidden, "Enable GRPC gateway."),

        new("experimental-initial-corrupt-check", FlagKind.Bool, "false", Experimental, "Enable to check data corruption before serving any client/peer traffic."),
        new("experimental-corrupt-check-time", FlagKind.Duration, "0s", Experimental, "Duration of time between cluster corruption check passes."),
        new("experimental-snapshot-catchup-entries", FlagKind.Uint64, "5000", Experimental, "Number of entries for a slow follower to catch up after compacting the raft storage entries."),
        new("experimental-enable-v2v3", FlagKind.String, "", Experimental, "Serve v2 requests through the v3 backend under a given prefix."),
        new("experimental-backend-bbolt-freelist-type", FlagKind.String, "array", Experimental, "ExperimentalBackendFreelistType specifies the type of freelist that boltdb backend uses(array and map are supported types)."),
        new("experimental-enable-lease-checkpoint", FlagKind.Bool, "false", Experimental, "ExperimentalEnableLeaseCheckpoint enables primary lessor to persist lease remainingTTL to prevent indefinite auto-renewal of long lived leases."),
        new("experimental-enable-lease-checkpoint-persist", FlagKind.Bool, "false", Hidden, "Enable persisting remainingTTL to prevent indefinite auto-renewal of long lived leases."),
        new("experimental-lease-checkpoint-interval", FlagKind.Duration, "5m", Hidden, "Interval between the primary lessor's lease checkpoints (etcd 3.4 fixes it at 5m)."),
        new("experimental-revision-compaction-interval", FlagKind.Duration, "5m", Hidden, "Interval between auto-compactions in revision mode (etcd 3.4 fixes it at 5m)."),
        new("experimental-compaction-batch-limit", FlagKind.Int, "1000", Experimental, "ExperimentalCompactionBatchLimit sets the maximum revisions deleted in each compaction batch."),
        new("experimental-peer-skip-client-san-verification", FlagKind.Bool, "false", Experimental, "Skip verification of SAN field in client certificate for peer connections."),
        new("experimental-watch-progress-notify-interval", FlagKind.Duration, "10m", Experimental, "Duration of periodical watch progress notification."),
        new("experimental-warning-apply-duration", FlagKind.Duration, "100ms", Experimental, "Warning is generated if requests take more than this duration."),

        new("unsafe-no-fsync", FlagKind.Bool, "false", Hidden, "Disables fsync, unsafe, will cause data loss."),
        new("force-new-cluster", FlagKind.Bool, "false", Unsafe, "Force to create a new one-member cluster."),

        // etcd's IgnoredFlag list (etcdmain/config.go "ignored"), minus "config" which is our HOCON flag.
        new("cluster-active-size", FlagKind.Ignored, "", Hidden, ""),
        new("cluster-remove-delay", FlagKind.Ignored, "", Hidden, ""),
        new("cluster-sync-interval", FlagKind.Ignored, "", Hidden, ""),
        new("force", FlagKind.Ignored, "", Hidden, ""),
        new("max-result-buffer", FlagKind.Ignored, "", Hidden, ""),
        new("max-retry-attempts", FlagKind.Ignored, "", Hidden, ""),
        new("peer-heartbeat-interval", FlagKind.Ignored, "", Hidden, ""),
        new("peer-election-timeout", FlagKind.Ignored, "", Hidden, ""),
        new("retry-interval", FlagKind.Ignored, "", Hidden, ""),
        new("snapshot", FlagKind.Ignored, "", Hidden, ""),
        new("v", FlagKind.Ignored, "", Hidden, ""),
        new("vv", FlagKind.Ignored, "", Hidden, ""),
    ];

    private static readonly Dictionary<string, FlagSpec> ByName = All.ToDictionary(f => f.Name, StringComparer.Ordinal);

    /// <summary>The flag named <paramref name="name"/> (no dashes), or null.</summary>
    public static FlagSpec? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>etcd's pkg/flags FlagToEnv("ETCD", name): <c>data-dir</c> => <c>ETCD_DATA_DIR</c>.</summary>
    public static string ToEnvironmentVariable(string name) => "ETCD_" + name.Replace('-', '_').ToUpperInvariant();
}
