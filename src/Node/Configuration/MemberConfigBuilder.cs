using Akka.Etcd.Node.Logging;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Turns checked <see cref="SettingValues"/> into a <see cref="MemberConfig"/>: applies etcd's derived
/// defaults (data-dir <c>${name}.etcd</c>, wal-dir <c>&lt;data-dir&gt;/member/wal</c>, initial-cluster
/// <c>&lt;name&gt;=&lt;initial-advertise-peer-urls&gt;</c>, --debug => log-level debug) and runs etcd's
/// embed.Config.Validate checks. Throws <see cref="ConfigErrorException"/> with etcd's messages.
/// </summary>
internal static class MemberConfigBuilder
{
    /// <summary>etcd embed.ErrUnsetAdvertiseClientURLsFlag.</summary>
    public const string UnsetAdvertiseClientUrls = "--advertise-client-urls is required when --listen-client-urls is set explicitly";

    /// <param name="values">Checked values.</param>
    /// <param name="requireAdvertiseClientUrls">etcd's command-line rule: setting --listen-client-urls without --advertise-client-urls is an error (not applied to YAML files).</param>
    public static MemberConfig Build(SettingValues values, bool requireAdvertiseClientUrls)
    {
        var name = values.String("name");
        var dataDir = values.String("data-dir");
        if (dataDir.Length == 0)
            dataDir = name + ".etcd";
        var walDir = values.String("wal-dir");
        var advertisePeerUrls = values.Urls("initial-advertise-peer-urls");
        var initialClusterText = values.String("initial-cluster");
        if (initialClusterText.Length == 0 && values.String("discovery").Length == 0 && values.String("discovery-srv").Length == 0)
            initialClusterText = string.Join(',', advertisePeerUrls.Select(u => $"{name}={FormatUrl(u)}"));

        var listenClientUrls = values.Urls("listen-client-urls");
        var advertiseClientUrls = values.Urls("advertise-client-urls");
        if (requireAdvertiseClientUrls && values.IsSet("listen-client-urls") && !values.IsSet("advertise-client-urls"))
            throw new ConfigErrorException(UnsetAdvertiseClientUrls);

        var logLevel = values.Bool("debug") ? "debug" : values.String("log-level");
        if (!EtcdLogLevels.IsValid(logLevel))
            throw new ConfigErrorException($"unknown log-level \"{logLevel}\" (only supports debug, info, warn, error, panic, or fatal)");
        var logger = values.String("logger");
        if (logger is not ("zap" or "capnslog"))
            throw new ConfigErrorException($"unknown logger option \"{logger}\"");
        var logOutputs = values.IsSet("log-outputs") || !values.IsSet("log-output") ? values.List("log-outputs") : values.List("log-output");

        var config = new MemberConfig
        {
            Name = name,
            DataDir = dataDir,
            WalDir = walDir.Length > 0 ? walDir : Path.Combine(dataDir, "member", "wal"),
            IsWalDirDedicated = walDir.Length > 0,
            SnapshotCount = values.Uint64("snapshot-count"),
            HeartbeatIntervalMs = values.Uint32("heartbeat-interval"),
            ElectionTimeoutMs = values.Uint32("election-timeout"),
            InitialElectionTickAdvance = values.Bool("initial-election-tick-advance"),
            ListenPeerUrls = values.Urls("listen-peer-urls"),
            ListenClientUrls = listenClientUrls,
            MaxSnapshots = values.Uint32("max-snapshots"),
            MaxWals = values.Uint32("max-wals"),
            QuotaBackendBytes = values.Int64("quota-backend-bytes"),
            BackendBatchInterval = values.Duration("backend-batch-interval"),
            BackendBatchLimit = values.Int64("backend-batch-limit"),
            MaxTxnOps = values.Uint32("max-txn-ops"),
            MaxRequestBytes = values.Uint32("max-request-bytes"),
            MaxConcurrentStreams = values.Uint32("max-concurrent-streams"),
            GrpcKeepAliveMinTime = values.Duration("grpc-keepalive-min-time"),
            GrpcKeepAliveInterval = values.Duration("grpc-keepalive-interval"),
            GrpcKeepAliveTimeout = values.Duration("grpc-keepalive-timeout"),
            InitialAdvertisePeerUrls = advertisePeerUrls,
            InitialCluster = ParseInitialCluster(initialClusterText),
            InitialClusterText = initialClusterText,
            InitialClusterState = values.String("initial-cluster-state") == "existing" ? InitialClusterState.Existing : InitialClusterState.New,
            InitialClusterToken = values.String("initial-cluster-token"),
            AdvertiseClientUrls = advertiseClientUrls,
            Discovery = values.String("discovery"),
            DiscoveryFallback = values.String("discovery-fallback"),
            DiscoveryProxy = values.String("discovery-proxy"),
            DiscoverySrv = values.String("discovery-srv"),
            DiscoverySrvName = values.String("discovery-srv-name"),
            StrictReconfigCheck = values.Bool("strict-reconfig-check"),
            PreVote = values.Bool("pre-vote"),
            AutoCompactionRetention = values.String("auto-compaction-retention"),
            AutoCompactionMode = values.String("auto-compaction-mode"),
            EnableV2 = values.Bool("enable-v2"),
            ClientSecurity = new TransportSecurity
            {
                CertFile = values.String("cert-file"),
                KeyFile = values.String("key-file"),
                ClientCertAuth = values.Bool("client-cert-auth"),
                TrustedCaFile = values.String("trusted-ca-file"),
                CrlFile = values.String("client-crl-file"),
                AllowedHostname = values.String("client-cert-allowed-hostname"),
                AutoTls = values.Bool("auto-tls"),
            },
            PeerSecurity = new TransportSecurity
            {
                CertFile = values.String("peer-cert-file"),
                KeyFile = values.String("peer-key-file"),
                ClientCertAuth = values.Bool("peer-client-cert-auth"),
                TrustedCaFile = values.String("peer-trusted-ca-file"),
                CrlFile = values.String("peer-crl-file"),
                AllowedCn = values.String("peer-cert-allowed-cn"),
                AllowedHostname = values.String("peer-cert-allowed-hostname"),
                AutoTls = values.Bool("peer-auto-tls"),
            },
            CipherSuites = values.List("cipher-suites"),
            PeerSkipClientSanVerification = values.Bool("experimental-peer-skip-client-san-verification"),
            Cors = values.List("cors"),
            HostWhitelist = values.List("host-whitelist"),
            AuthToken = values.String("auth-token"),
            BcryptCost = values.Uint32("bcrypt-cost"),
            AuthTokenTtlSeconds = values.Uint32("auth-token-ttl"),
            EnablePprof = values.Bool("enable-pprof"),
            Metrics = values.String("metrics"),
            ListenMetricsUrls = values.Urls("listen-metrics-urls"),
            Logger = logger,
            LogOutputs = logOutputs,
            LogLevel = logLevel,
            LogPackageLevels = values.String("log-package-levels"),
            Proxy = values.String("proxy"),
            EnableGrpcGateway = values.Bool("enable-grpc-gateway"),
            ExperimentalInitialCorruptCheck = values.Bool("experimental-initial-corrupt-check"),
            ExperimentalCorruptCheckTime = values.Duration("experimental-corrupt-check-time"),
            ExperimentalSnapshotCatchUpEntries = values.Uint64("experimental-snapshot-catchup-entries"),
            ExperimentalEnableV2V3 = values.String("experimental-enable-v2v3"),
            ExperimentalBackendFreelistType = values.String("experimental-backend-bbolt-freelist-type"),
            ExperimentalEnableLeaseCheckpoint = values.Bool("experimental-enable-lease-checkpoint"),
            ExperimentalEnableLeaseCheckpointPersist = values.Bool("experimental-enable-lease-checkpoint-persist"),
            ExperimentalLeaseCheckpointInterval = values.Duration("experimental-lease-checkpoint-interval"),
            ExperimentalRevisionCompactionInterval = values.Duration("experimental-revision-compaction-interval"),
            ExperimentalCompactionBatchLimit = values.Int64("experimental-compaction-batch-limit"),
            ExperimentalWatchProgressNotifyInterval = values.Duration("experimental-watch-progress-notify-interval"),
            ExperimentalWarningApplyDuration = values.Duration("experimental-warning-apply-duration"),
            UnsafeNoFsync = values.Bool("unsafe-no-fsync"),
            ForceNewCluster = values.Bool("force-new-cluster"),
            ConfigFile = values.String("config-file"),
            HoconFile = values.String("config"),
        };
        Validate(config);
        return config;
    }

    /// <summary>The checks of etcd's embed.Config.Validate that apply here.</summary>
    private static void Validate(MemberConfig c)
    {
        if (c.HeartbeatIntervalMs == 0)
            throw new ConfigErrorException($"--heartbeat-interval must be >0 (set to {c.HeartbeatIntervalMs}ms)");
        if (c.ElectionTimeoutMs == 0)
            throw new ConfigErrorException($"--election-timeout must be >0 (set to {c.ElectionTimeoutMs}ms)");
        if (5UL * c.HeartbeatIntervalMs > c.ElectionTimeoutMs)
            throw new ConfigErrorException($"--election-timeout[{c.ElectionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[{c.HeartbeatIntervalMs}ms]");
        if (c.ElectionTimeoutMs > MemberConfig.MaxElectionTimeoutMs)
            throw new ConfigErrorException($"--election-timeout[{c.ElectionTimeoutMs}ms] is too long, and should be set less than {MemberConfig.MaxElectionTimeoutMs}ms");
        if (c.ListenClientUrls.Count > 0 && c.AdvertiseClientUrls.Count == 0)
            throw new ConfigErrorException(UnsetAdvertiseClientUrls);
        if (c.AutoCompactionMode is not ("periodic" or "revision" or ""))
            throw new ConfigErrorException($"unknown auto-compaction-mode \"{c.AutoCompactionMode}\"");
        if (c.ExperimentalEnableLeaseCheckpointPersist && !c.ExperimentalEnableLeaseCheckpoint)
            throw new ConfigErrorException("setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint");
        var bootstrapSources = new[] { c.Discovery.Length > 0, c.InitialClusterText.Length > 0, c.DiscoverySrv.Length > 0 }.Count(b => b);
        if (bootstrapSources > 1)
            throw new ConfigErrorException("multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or \"discovery-srv\"");
    }

    /// <summary>
    /// Parses --initial-cluster (<c>name=url,name=url</c>, a name may repeat for several peer URLs) into
    /// name => URLs in order of first appearance; URLs are checked like the other URL flags.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<Uri>> ParseInitialCluster(string text)
    {
        var result = new Dictionary<string, IReadOnlyList<Uri>>(StringComparer.Ordinal);
        if (text.Length == 0)
            return result;
        var lists = new Dictionary<string, List<Uri>>(StringComparer.Ordinal);
        foreach (var entry in text.Split(','))
        {
            var eq = entry.IndexOf('=');
            if (eq <= 0)
                throw new ConfigErrorException($"invalid initial-cluster entry \"{entry}\": expected name=peer-url");
            var member = entry[..eq].Trim();
            IReadOnlyList<Uri> urls;
            try
            {
                urls = GoValueSyntax.ParseUrls(entry[(eq + 1)..]);
            }
            catch (FormatException e)
            {
                throw new ConfigErrorException($"invalid initial-cluster entry \"{entry}\": {e.Message}");
            }
            if (!lists.TryGetValue(member, out var list))
            {
                lists[member] = list = [];
                result[member] = list;
            }
            list.AddRange(urls);
        }
        return result;
    }

    /// <summary>A URL as etcd prints it: without the trailing slash System.Uri adds.</summary>
    public static string FormatUrl(Uri url) => url.GetLeftPart(UriPartial.Authority);
}
