using Akka.Etcd.Node.Configuration;

namespace Akka.Etcd.Node.Tests.Configuration;

public class MemberConfigParserTests
{
    private sealed record Run(ConfigParseOutcome Outcome, string Stdout, string Stderr)
    {
        public MemberConfig Config => Outcome.Config ?? throw new Xunit.Sdk.XunitException($"expected a config, got exit {Outcome.ExitCode}: {Stderr}");
    }

    private static Run Parse(string[] args, Dictionary<string, string>? env = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var outcome = MemberConfigParser.Parse(args, env ?? new Dictionary<string, string>(), stdout, stderr);
        return new Run(outcome, stdout.ToString(), stderr.ToString());
    }

    private static string TempFile(string contents, string extension)
    {
        var path = Path.Combine(Path.GetTempPath(), $"akka-etcd-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(path, contents);
        return path;
    }

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void Defaults_match_etcd_3_4()
    {
        var c = Parse([]).Config;
        Assert.Equal("default", c.Name);
        Assert.Equal("default.etcd", c.DataDir);
        Assert.Equal(Path.Combine("default.etcd", "member", "wal"), c.WalDir);
        Assert.False(c.IsWalDirDedicated);
        Assert.Equal([new Uri("http://localhost:2379")], c.ListenClientUrls);
        Assert.Equal([new Uri("http://localhost:2379")], c.AdvertiseClientUrls);
        Assert.Equal([new Uri("http://localhost:2380")], c.ListenPeerUrls);
        Assert.Equal([new Uri("http://localhost:2380")], c.InitialAdvertisePeerUrls);
        Assert.Equal("default=http://localhost:2380", c.InitialClusterText);
        Assert.Equal([new Uri("http://localhost:2380")], c.InitialCluster["default"]);
        Assert.Equal(InitialClusterState.New, c.InitialClusterState);
        Assert.Equal("etcd-cluster", c.InitialClusterToken);
        Assert.Equal(100_000UL, c.SnapshotCount);
        Assert.Equal(100U, c.HeartbeatIntervalMs);
        Assert.Equal(1000U, c.ElectionTimeoutMs);
        Assert.Equal(10, c.ElectionTicks);
        Assert.Equal(0L, c.QuotaBackendBytes);
        Assert.Equal(2L * 1024 * 1024 * 1024, c.EffectiveQuotaBackendBytes);
        Assert.Equal(1_572_864U, c.MaxRequestBytes);
        Assert.Equal(128U, c.MaxTxnOps);
        Assert.Equal("info", c.LogLevel);
        Assert.Equal("zap", c.Logger);
        Assert.Equal(["default"], c.LogOutputs);
        Assert.Equal(5U, c.MaxSnapshots);
        Assert.Equal(5U, c.MaxWals);
        Assert.Equal("periodic", c.AutoCompactionMode);
        Assert.Equal("0", c.AutoCompactionRetention);
        Assert.True(c.StrictReconfigCheck);
        Assert.False(c.PreVote);
        Assert.False(c.EnableV2);
        Assert.Equal(uint.MaxValue, c.MaxConcurrentStreams);
        Assert.Empty(c.ListenMetricsUrls);
        Assert.Equal("basic", c.Metrics);
        Assert.Equal("simple", c.AuthToken);
        Assert.False(c.ForceNewCluster);
        Assert.False(c.ExperimentalInitialCorruptCheck);
        Assert.False(c.ClientSecurity.IsEnabled);
        Assert.Equal(c with { }, new MemberConfig() with { LogOutputs = c.LogOutputs, ListenClientUrls = c.ListenClientUrls, AdvertiseClientUrls = c.AdvertiseClientUrls, ListenPeerUrls = c.ListenPeerUrls, InitialAdvertisePeerUrls = c.InitialAdvertisePeerUrls, InitialCluster = c.InitialCluster, Cors = c.Cors, HostWhitelist = c.HostWhitelist, CipherSuites = c.CipherSuites, ListenMetricsUrls = c.ListenMetricsUrls, ClientSecurity = c.ClientSecurity, PeerSecurity = c.PeerSecurity, AkkaConfig = c.AkkaConfig });
        Assert.Equal("INFO", c.AkkaConfig.GetString("akka.loglevel"));
    }

    [Fact]
    public void Name_derives_data_dir_and_initial_cluster()
    {
        var c = Parse(["--name", "infra1", "--initial-advertise-peer-urls", "http://127.0.0.1:12380"]).Config;
        Assert.Equal("infra1.etcd", c.DataDir);
        Assert.Equal(Path.Combine("infra1.etcd", "member", "wal"), c.WalDir);
        Assert.Equal("infra1=http://127.0.0.1:12380", c.InitialClusterText);
        Assert.Equal([new Uri("http://127.0.0.1:12380")], c.InitialCluster["infra1"]);
    }

    [Fact]
    public void Go_flag_syntaxes_are_accepted()
    {
        var c = Parse(["-name", "a", "--data-dir=/d", "-snapshot-count=7", "--pre-vote", "--strict-reconfig-check=false", "-enable-v2", "--wal-dir", "/w"]).Config;
        Assert.Equal("a", c.Name);
        Assert.Equal("/d", c.DataDir);
        Assert.Equal(7UL, c.SnapshotCount);
        Assert.True(c.PreVote);
        Assert.False(c.StrictReconfigCheck);
        Assert.True(c.EnableV2);
        Assert.Equal("/w", c.WalDir);
        Assert.True(c.IsWalDirDedicated);
        Assert.Equal(0x10UL, Parse(["--snapshot-count=0x10"]).Config.SnapshotCount);
        Assert.Equal("b", Parse(["--name=a", "--name=b"]).Config.Name);
    }

    [Fact]
    public void Every_flag_is_accepted_and_stored()
    {
        string[] args =
        [
            "--name=m1", "--data-dir=/data", "--wal-dir=/wal", "--snapshot-count=10", "--heartbeat-interval=50",
            "--election-timeout=500", "--initial-election-tick-advance=false",
            "--listen-peer-urls=http://127.0.0.1:2380,https://10.0.0.1:2380", "--listen-client-urls=unix://localhost:12345",
            "--max-snapshots=1", "--max-wals=2", "--quota-backend-bytes=8589934592", "--backend-batch-interval=10ms",
            "--backend-batch-limit=99", "--max-txn-ops=64", "--max-request-bytes=2097152", "--max-concurrent-streams=100",
            "--grpc-keepalive-min-time=1s", "--grpc-keepalive-interval=1h", "--grpc-keepalive-timeout=3s",
            "--initial-advertise-peer-urls=http://127.0.0.1:2380", "--initial-cluster=m1=http://127.0.0.1:2380,m2=http://127.0.0.2:2380,m2=http://127.0.0.3:2380",
            "--initial-cluster-state=existing", "--initial-cluster-token=tok", "--advertise-client-urls=unix://localhost:12345",
            "--discovery-fallback=exit", "--discovery-proxy=p", "--discovery-srv-name=sn",
            "--strict-reconfig-check=false", "--pre-vote=true", "--auto-compaction-retention=1h", "--auto-compaction-mode=revision",
            "--enable-v2=true", "--cert-file=c.pem", "--key-file=k.pem", "--client-cert-auth", "--client-crl-file=c.crl",
            "--client-cert-allowed-hostname=h", "--trusted-ca-file=ca.pem", "--auto-tls", "--peer-cert-file=pc.pem",
            "--peer-key-file=pk.pem", "--peer-client-cert-auth", "--peer-trusted-ca-file=pca.pem", "--peer-cert-allowed-cn=cn",
            "--peer-cert-allowed-hostname=ph", "--peer-auto-tls", "--peer-crl-file=p.crl",
            "--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "--cors=http://a.com:80", "--host-whitelist=a,b", "--auth-token=jwt,pub-key=p,priv-key=k,sign-method=RS256",
            "--bcrypt-cost=4", "--auth-token-ttl=60", "--enable-pprof", "--metrics=extensive",
            "--listen-metrics-urls=http://127.0.0.1:2381", "--logger=zap", "--log-outputs=stdout,/tmp/x.log", "--log-level=warn",
            "--log-package-levels=etcdmain=DEBUG", "--proxy=on", "--proxy-failure-wait=1", "--enable-grpc-gateway=false",
            "--experimental-initial-corrupt-check", "--experimental-corrupt-check-time=5m", "--experimental-enable-v2v3=/v2",
            "--experimental-backend-bbolt-freelist-type=map", "--experimental-enable-lease-checkpoint",
            "--experimental-enable-lease-checkpoint-persist", "--experimental-compaction-batch-limit=5",
            "--experimental-peer-skip-client-san-verification", "--experimental-watch-progress-notify-interval=1s",
            "--experimental-warning-apply-duration=1s", "--unsafe-no-fsync", "--force-new-cluster",
        ];
        var c = Parse(args).Config;
        Assert.Equal(("m1", "/data", "/wal", 10UL), (c.Name, c.DataDir, c.WalDir, c.SnapshotCount));
        Assert.Equal((50U, 500U, false), (c.HeartbeatIntervalMs, c.ElectionTimeoutMs, c.InitialElectionTickAdvance));
        Assert.Equal([new Uri("http://127.0.0.1:2380"), new Uri("https://10.0.0.1:2380")], c.ListenPeerUrls);
        Assert.Equal("unix", c.ListenClientUrls[0].Scheme);
        Assert.Equal((1U, 2U, 8589934592L), (c.MaxSnapshots, c.MaxWals, c.QuotaBackendBytes));
        Assert.Equal((TimeSpan.FromMilliseconds(10), 99L, 64U, 2097152U, 100U), (c.BackendBatchInterval, c.BackendBatchLimit, c.MaxTxnOps, c.MaxRequestBytes, c.MaxConcurrentStreams));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), TimeSpan.FromSeconds(3)), (c.GrpcKeepAliveMinTime, c.GrpcKeepAliveInterval, c.GrpcKeepAliveTimeout));
        Assert.Equal(2, c.InitialCluster.Count);
        Assert.Equal([new Uri("http://127.0.0.2:2380"), new Uri("http://127.0.0.3:2380")], c.InitialCluster["m2"]);
        Assert.Equal((InitialClusterState.Existing, "tok"), (c.InitialClusterState, c.InitialClusterToken));
        Assert.Equal(("exit", "p", "sn"), (c.DiscoveryFallback, c.DiscoveryProxy, c.DiscoverySrvName));
        Assert.Equal((false, true, "1h", "revision", true), (c.StrictReconfigCheck, c.PreVote, c.AutoCompactionRetention, c.AutoCompactionMode, c.EnableV2));
        Assert.Equal(new TransportSecurity { CertFile = "c.pem", KeyFile = "k.pem", ClientCertAuth = true, CrlFile = "c.crl", AllowedHostname = "h", TrustedCaFile = "ca.pem", AutoTls = true }, c.ClientSecurity);
        Assert.Equal(new TransportSecurity { CertFile = "pc.pem", KeyFile = "pk.pem", ClientCertAuth = true, TrustedCaFile = "pca.pem", AllowedCn = "cn", AllowedHostname = "ph", AutoTls = true, CrlFile = "p.crl" }, c.PeerSecurity);
        Assert.Equal(2, c.CipherSuites.Count);
        Assert.Equal(["http://a.com:80"], c.Cors);
        Assert.Equal(["a", "b"], c.HostWhitelist);
        Assert.Equal(("jwt,pub-key=p,priv-key=k,sign-method=RS256", 4U, 60U), (c.AuthToken, c.BcryptCost, c.AuthTokenTtlSeconds));
        Assert.Equal((true, "extensive"), (c.EnablePprof, c.Metrics));
        Assert.Equal([new Uri("http://127.0.0.1:2381")], c.ListenMetricsUrls);
        Assert.Equal(["stdout", "/tmp/x.log"], c.LogOutputs);
        Assert.Equal(("warn", "etcdmain=DEBUG", "on", false), (c.LogLevel, c.LogPackageLevels, c.Proxy, c.EnableGrpcGateway));
        Assert.True(c.ExperimentalInitialCorruptCheck);
        Assert.Equal(TimeSpan.FromMinutes(5), c.ExperimentalCorruptCheckTime);
        Assert.Equal(("/v2", "map", true, true, 5L), (c.ExperimentalEnableV2V3, c.ExperimentalBackendFreelistType, c.ExperimentalEnableLeaseCheckpoint, c.ExperimentalEnableLeaseCheckpointPersist, c.ExperimentalCompactionBatchLimit));
        Assert.True(c.PeerSkipClientSanVerification);
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), (c.ExperimentalWatchProgressNotifyInterval, c.ExperimentalWarningApplyDuration));
        Assert.True(c.UnsafeNoFsync);
        Assert.True(c.ForceNewCluster);
    }

    [Fact]
    public void Unknown_flag_prints_go_message_and_usage_and_exits_2()
    {
        var r = Parse(["--foo"]);
        Assert.Equal(2, r.Outcome.ExitCode);
        Assert.StartsWith("flag provided but not defined: -foo\nUsage:", r.Stderr.ReplaceLineEndings("\n"));
        Assert.Empty(r.Stdout);
    }

    [Theory]
    [InlineData("--snapshot-count=x", "invalid value \"x\" for flag -snapshot-count: parse error")]
    [InlineData("--snapshot-count=-1", "invalid value \"-1\" for flag -snapshot-count: parse error")]
    [InlineData("--heartbeat-interval=99999999999999999999", "invalid value \"99999999999999999999\" for flag -heartbeat-interval: value out of range")]
    [InlineData("--pre-vote=x", "invalid boolean value \"x\" for -pre-vote: parse error")]
    [InlineData("--listen-client-urls=x", "invalid value \"x\" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: x")]
    [InlineData("--listen-client-urls=http://127.0.0.1", "invalid value \"http://127.0.0.1\" for flag -listen-client-urls: URL address does not have the form \"host:port\": http://127.0.0.1")]
    [InlineData("--listen-client-urls=http://127.0.0.1:1/p", "invalid value \"http://127.0.0.1:1/p\" for flag -listen-client-urls: URL must not contain a path: http://127.0.0.1:1/p")]
    [InlineData("--initial-cluster-state=foo", "invalid value \"foo\" for flag -initial-cluster-state: invalid value")]
    [InlineData("--grpc-keepalive-min-time=5", "invalid value \"5\" for flag -grpc-keepalive-min-time: parse error")]
    [InlineData("--max-concurrent-streams=x", "invalid value \"x\" for flag -max-concurrent-streams: strconv.ParseUint: parsing \"x\": invalid syntax")]
    [InlineData("--name", "flag needs an argument: -name")]
    [InlineData("---name=x", "bad flag syntax: ---name=x")]
    public void Bad_values_print_etcd_messages_and_exit_2(string arg, string message)
    {
        var r = Parse([arg]);
        Assert.Equal(2, r.Outcome.ExitCode);
        Assert.Equal(message, r.Stderr.ReplaceLineEndings("\n").Split('\n')[0]);
    }

    [Theory]
    [InlineData(new[] { "--heartbeat-interval=0" }, "--heartbeat-interval must be >0 (set to 0ms)")]
    [InlineData(new[] { "--election-timeout=400" }, "--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]")]
    [InlineData(new[] { "--election-timeout=60000" }, "--election-timeout[60000ms] is too long, and should be set less than 50000ms")]
    [InlineData(new[] { "--listen-client-urls=http://127.0.0.1:2379" }, "--advertise-client-urls is required when --listen-client-urls is set explicitly")]
    [InlineData(new[] { "--auto-compaction-mode=x" }, "unknown auto-compaction-mode \"x\"")]
    [InlineData(new[] { "--log-level=loud" }, "unknown log-level \"loud\" (only supports debug, info, warn, error, panic, or fatal)")]
    [InlineData(new[] { "--name=a", "extra" }, "'extra' is not a valid flag")]
    [InlineData(new[] { "--initial-cluster=a" }, "invalid initial-cluster entry \"a\": expected name=peer-url")]
    public void Verification_failures_log_json_and_exit_1(string[] args, string error)
    {
        var r = Parse(args);
        Assert.Equal(1, r.Outcome.ExitCode);
        var line = System.Text.Json.JsonDocument.Parse(r.Stderr.ReplaceLineEndings("\n").Split('\n')[0]).RootElement;
        Assert.Equal("warn", line.GetProperty("level").GetString());
        Assert.Equal("failed to verify flags", line.GetProperty("msg").GetString());
        Assert.Equal(error, line.GetProperty("error").GetString());
    }

    [Fact]
    public void Version_prints_our_lines_and_exits_0()
    {
        var r = Parse(["--version"]);
        Assert.Equal(0, r.Outcome.ExitCode);
        var lines = r.Stdout.ReplaceLineEndings("\n").Split('\n');
        Assert.StartsWith("akka-etcd Version: ", lines[0]);
        Assert.Equal("API Version: 3.4", lines[1]);
        Assert.Contains(lines, l => l.StartsWith(".NET Version: .NET ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void Help_prints_usage_to_stderr_and_grouped_flags_to_stdout(string arg)
    {
        var r = Parse([arg]);
        Assert.Equal(0, r.Outcome.ExitCode);
        Assert.StartsWith("Usage:", r.Stderr);
        Assert.Contains("\nMember:\n  --name 'default'\n    Human-readable name for this member.\n", r.Stdout);
        Assert.Contains("\nClustering:\n  --initial-advertise-peer-urls 'http://localhost:2380'\n", r.Stdout);
        Assert.Contains("  --max-concurrent-streams 'math.MaxUint32'\n", r.Stdout);
        Assert.Contains("\nSecurity:\n", r.Stdout);
        Assert.Contains("\nLogging:\n", r.Stdout);
    }

    [Fact]
    public void Environment_variables_map_to_flags_and_flags_win_elsewhere()
    {
        var env = new Dictionary<string, string>
        {
            ["ETCD_NAME"] = "env-name",
            ["ETCD_DATA_DIR"] = "/env/data",
            ["ETCD_SNAPSHOT_COUNT"] = "42",
            ["ETCD_PRE_VOTE"] = "true",
            ["ETCD_LISTEN_CLIENT_URLS"] = "http://127.0.0.1:3379",
            ["ETCD_ADVERTISE_CLIENT_URLS"] = "http://127.0.0.1:3379",
            ["PATH"] = "/usr/bin",
        };
        var r = Parse(["--heartbeat-interval=50"], env);
        var c = r.Config;
        Assert.Equal(("env-name", "/env/data", 42UL, true, 50U), (c.Name, c.DataDir, c.SnapshotCount, c.PreVote, c.HeartbeatIntervalMs));
        Assert.Equal([new Uri("http://127.0.0.1:3379")], c.ListenClientUrls);
        Assert.Contains("recognized and used environment variable ETCD_NAME=env-name", r.Stderr);
    }

    [Fact]
    public void Env_var_shadowed_by_flag_is_fatal_like_etcd()
    {
        var r = Parse(["--name=flag"], new() { ["ETCD_NAME"] = "env" });
        Assert.Equal(1, r.Outcome.ExitCode);
        Assert.Contains("conflicting environment variable \\\"ETCD_NAME\\\" is shadowed by corresponding command-line flag", r.Stderr);
    }

    [Fact]
    public void Unknown_etcd_env_var_is_a_warning_only()
    {
        var r = Parse([], new() { ["ETCD_FOO"] = "1" });
        Assert.NotNull(r.Outcome.Config);
        Assert.Contains("\"level\":\"warn\"", r.Stderr);
        Assert.Contains("unrecognized environment variable ETCD_FOO=1", r.Stderr);
    }

    [Fact]
    public void Bad_env_value_names_the_variable_and_exits_1()
    {
        var r = Parse([], new() { ["ETCD_SNAPSHOT_COUNT"] = "x" });
        Assert.Equal(1, r.Outcome.ExitCode);
        Assert.Contains("invalid value \\\"x\\\" for ETCD_SNAPSHOT_COUNT: parse error", r.Stderr);
    }

    [Fact]
    public void Yaml_config_file_is_used_and_other_flags_and_env_are_ignored()
    {
        var path = TempFile("""
            name: 'yaml-member'
            data-dir: /yaml/data
            snapshot-count: 5000
            heartbeat-interval: 200
            election-timeout: 2000
            listen-client-urls: http://127.0.0.1:4379,http://127.0.0.2:4379
            advertise-client-urls: http://127.0.0.1:4379
            initial-cluster-state: existing
            pre-vote: true
            log-outputs: [stdout]
            unknown-key: ignored
            client-transport-security:
              cert-file: /c.pem
              key-file: /k.pem
              client-cert-auth: true
            peer-transport-security:
              auto-tls: true
            """, ".yaml");
        try
        {
            var r = Parse(["--config-file", path, "--name=ignored"], new() { ["ETCD_SNAPSHOT_COUNT"] = "1" });
            var c = r.Config;
            Assert.Equal(("yaml-member", "/yaml/data", 5000UL, 200U, 2000U), (c.Name, c.DataDir, c.SnapshotCount, c.HeartbeatIntervalMs, c.ElectionTimeoutMs));
            Assert.Equal([new Uri("http://127.0.0.1:4379"), new Uri("http://127.0.0.2:4379")], c.ListenClientUrls);
            Assert.Equal(InitialClusterState.Existing, c.InitialClusterState);
            Assert.True(c.PreVote);
            Assert.Equal(["stdout"], c.LogOutputs);
            Assert.Equal(("/c.pem", "/k.pem", true), (c.ClientSecurity.CertFile, c.ClientSecurity.KeyFile, c.ClientSecurity.ClientCertAuth));
            Assert.True(c.PeerSecurity.AutoTls);
            Assert.Equal("yaml-member=http://localhost:2380", c.InitialClusterText);
            Assert.Equal(path, c.ConfigFile);
            Assert.Contains("loaded server configuration, other configuration command line flags and environment variables will be ignored if provided", r.Stderr);

            var fromEnv = Parse([], new() { ["ETCD_CONFIG_FILE"] = path }).Config;
            Assert.Equal("yaml-member", fromEnv.Name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Yaml_bad_value_exits_1()
    {
        var path = TempFile("snapshot-count: lots\n", ".yaml");
        try
        {
            Assert.Equal(1, Parse(["--config-file=" + path]).Outcome.ExitCode);
            Assert.Equal(1, Parse(["--config-file=/nonexistent/x.yaml"]).Outcome.ExitCode);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Hocon_file_is_the_base_and_env_then_flags_override_it()
    {
        var path = TempFile("""
            local.root = /root
            akka.etcd {
              name = hocon-member
              data-dir = ${local.root}"/hocon"
              snapshot-count = 777
              heartbeat-interval = 50ms
              election-timeout = 1.5s
              grpc-keepalive-min-time = 2 seconds
              listen-client-urls = ["http://127.0.0.1:5379", "http://127.0.0.2:5379"]
              advertise-client-urls = ["http://127.0.0.1:5379"]
              pre-vote = true
              max-txn-ops = 10
            }
            other.section = ignored
            """, ".conf");
        try
        {
            var env = new Dictionary<string, string> { ["ETCD_MAX_TXN_OPS"] = "20" };
            var c = Parse(["--config", path, "--snapshot-count=888"], env).Config;
            Assert.Equal("hocon-member", c.Name);
            Assert.Equal("/root/hocon", c.DataDir);
            Assert.Equal(888UL, c.SnapshotCount);
            Assert.Equal(20U, c.MaxTxnOps);
            Assert.Equal((50U, 1500U), (c.HeartbeatIntervalMs, c.ElectionTimeoutMs));
            Assert.Equal(TimeSpan.FromSeconds(2), c.GrpcKeepAliveMinTime);
            Assert.Equal(2, c.ListenClientUrls.Count);
            Assert.True(c.PreVote);
            Assert.Equal(path, c.HoconFile);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("akka.etcd {\n  name = x\n  no-such-setting = 1\n}\n", "line 3: unknown setting 'akka.etcd.no-such-setting'")]
    [InlineData("akka.etcd {\n  name = x\n  snapshot-count = lots\n}\n", "line 3: invalid value \\\"lots\\\" for 'akka.etcd.snapshot-count': parse error")]
    [InlineData("akka.etcd.heartbeat-interval = soon\n", "line 1: invalid value \\\"soon\\\" for 'akka.etcd.heartbeat-interval': parse error")]
    [InlineData("akka.etcd {\n  name = x\n  data-dir = @\n}\n", "line 3, column 14: unexpected '@' (HOCON syntax error)")]
    [InlineData("akka.etcd {\n  name = ${nowhere}\n}\n", "line 2, column 10: could not resolve substitution ${nowhere}")]
    [InlineData("akka.etcd {\n  name { a = 1 }\n}\n", "line 2: 'akka.etcd.name' must be a value, not an object")]
    public void Hocon_errors_name_the_file_and_line_and_exit_1(string text, string expected)
    {
        var path = TempFile(text, ".conf");
        try
        {
            var r = Parse(["--config=" + path]);
            Assert.Equal(1, r.Outcome.ExitCode);
            Assert.Contains("failed to verify flags", r.Stderr);
            Assert.Contains($"{path}: {expected}", r.Stderr);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Hocon_file_sets_the_actor_system_config_and_log_level_follows_the_member()
    {
        var path = TempFile("""
            akka {
              actor.ask-timeout = 7s
              etcd.log-level = warn
            }
            """, ".conf");
        try
        {
            var fromFile = Parse(["--config", path]).Config.AkkaConfig;
            Assert.Equal(TimeSpan.FromSeconds(7), fromFile.GetTimeSpan("akka.actor.ask-timeout"));
            Assert.Equal("WARNING", fromFile.GetString("akka.loglevel"));
            Assert.Equal("OFF", fromFile.GetString("akka.stdout-loglevel"));
            Assert.False(fromFile.GetBoolean("akka.log-config-on-start"));
            Assert.Equal("DEBUG", Parse(["--config", path, "--log-level=debug"]).Config.AkkaConfig.GetString("akka.loglevel"));
            var defaults = Parse([]).Config.AkkaConfig;
            Assert.Equal("INFO", defaults.GetString("akka.loglevel"));
            Assert.Equal("OFF", defaults.GetString("akka.stdout-loglevel"));
            Assert.Equal("10", defaults.GetString("akka.log-dead-letters"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Shipped_single_member_file_parses()
    {
        var c = Parse(["--config", RepoFile("hocon/single.conf")]).Config;
        Assert.Equal("default", c.Name);
        Assert.Equal("default.etcd", c.DataDir);
        Assert.Equal([new Uri("http://127.0.0.1:2379")], c.ListenClientUrls);
        Assert.Equal([new Uri("http://127.0.0.1:2379")], c.AdvertiseClientUrls);
        Assert.Equal([new Uri("http://127.0.0.1:2380")], c.ListenPeerUrls);
        Assert.Equal([new Uri("http://127.0.0.1:2380")], c.InitialCluster["default"]);
    }

    [Theory]
    [InlineData(1, 2379, 2380)]
    [InlineData(2, 22379, 22380)]
    [InlineData(3, 32379, 32380)]
    public void Shipped_cluster_member_files_parse(int member, int clientPort, int peerPort)
    {
        var c = Parse(["--config", RepoFile($"hocon/cluster/member-{member}.conf")]).Config;
        Assert.Equal($"infra{member}", c.Name);
        Assert.Equal($"infra{member}.etcd", c.DataDir);
        Assert.Equal([new Uri($"http://127.0.0.1:{clientPort}")], c.ListenClientUrls);
        Assert.Equal([new Uri($"http://127.0.0.1:{clientPort}")], c.AdvertiseClientUrls);
        Assert.Equal([new Uri($"http://127.0.0.1:{peerPort}")], c.InitialAdvertisePeerUrls);
        Assert.Equal("etcd-cluster-1", c.InitialClusterToken);
        Assert.Equal(["infra1", "infra2", "infra3"], c.InitialCluster.Keys);
        Assert.Equal([new Uri($"http://127.0.0.1:{peerPort}")], c.InitialCluster[$"infra{member}"]);
    }

    [Fact]
    public void Ignored_legacy_flags_warn_and_debug_sets_log_level()
    {
        var r = Parse(["--snapshot", "--debug"]);
        Assert.Equal("debug", r.Config.LogLevel);
        Assert.Contains("flag \\\"-snapshot\\\" is no longer supported - ignoring.", r.Stderr);
    }

    [Fact]
    public void Double_dash_ends_flags()
    {
        var r = Parse(["--name=a", "--", "--name=b"]);
        Assert.Equal(1, r.Outcome.ExitCode);
        Assert.Contains("'--name=b' is not a valid flag", r.Stderr);
    }
    private static readonly TransportSecurity ExpectedClientTls = new()
    {
        CertFile = "/tls/server.crt", KeyFile = "/tls/server.key", ClientCertAuth = true, TrustedCaFile = "/tls/ca.crt",
        CrlFile = "/tls/ca.crl", AutoTls = false,
    };

    [Fact]
    public void Client_tls_settings_and_auth_token_come_from_etcd_env_variables()
    {
        var env = new Dictionary<string, string>
        {
            ["ETCD_LISTEN_CLIENT_URLS"] = "https://127.0.0.1:3379,http://127.0.0.1:3380",
            ["ETCD_ADVERTISE_CLIENT_URLS"] = "https://127.0.0.1:3379",
            ["ETCD_CERT_FILE"] = "/tls/server.crt",
            ["ETCD_KEY_FILE"] = "/tls/server.key",
            ["ETCD_CLIENT_CERT_AUTH"] = "true",
            ["ETCD_TRUSTED_CA_FILE"] = "/tls/ca.crt",
            ["ETCD_CLIENT_CRL_FILE"] = "/tls/ca.crl",
            ["ETCD_CIPHER_SUITES"] = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            ["ETCD_AUTH_TOKEN"] = "jwt,pub-key=/k.pub,priv-key=/k.pem,sign-method=RS256",
            ["ETCD_BCRYPT_COST"] = "4",
        };
        var c = Parse([], env).Config;
        Assert.Equal(ExpectedClientTls, c.ClientSecurity);
        Assert.Equal(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"], c.CipherSuites);
        // etcd sorts URL lists (types.NewURLs); so do we.
        Assert.Equal([new Uri("http://127.0.0.1:3380"), new Uri("https://127.0.0.1:3379")], c.ListenClientUrls);
        Assert.Equal(("jwt,pub-key=/k.pub,priv-key=/k.pem,sign-method=RS256", 4U), (c.AuthToken, c.BcryptCost));
        Assert.True(Parse([], new() { ["ETCD_AUTO_TLS"] = "true" }).Config.ClientSecurity.AutoTls);
    }

    [Fact]
    public void Client_tls_settings_and_auth_token_come_from_the_yaml_file()
    {
        var path = TempFile("""
            name: tls-yaml
            listen-client-urls: https://127.0.0.1:4379
            advertise-client-urls: https://127.0.0.1:4379
            client-transport-security:
              cert-file: /tls/server.crt
              key-file: /tls/server.key
              client-cert-auth: true
              trusted-ca-file: /tls/ca.crt
              crl-file: /tls/ca.crl
              auto-tls: false
            cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
            auth-token: simple
            bcrypt-cost: 5
            """, ".yaml");
        try
        {
            var c = Parse(["--config-file=" + path]).Config;
            Assert.Equal(ExpectedClientTls, c.ClientSecurity);
            Assert.Equal(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], c.CipherSuites);
            Assert.Equal(("simple", 5U), (c.AuthToken, c.BcryptCost));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Client_tls_settings_and_auth_token_come_from_the_hocon_file_and_flags_override_them()
    {
        var path = TempFile("""
            akka.etcd {
              listen-client-urls = ["https://127.0.0.1:5379"]
              advertise-client-urls = ["https://127.0.0.1:5379"]
              cert-file = /tls/server.crt
              key-file = /tls/server.key
              client-cert-auth = true
              trusted-ca-file = /tls/ca.crt
              client-crl-file = /tls/ca.crl
              cipher-suites = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
              auth-token-ttl = 60
            }
            """, ".conf");
        try
        {
            var c = Parse(["--config", path]).Config;
            Assert.Equal(ExpectedClientTls, c.ClientSecurity);
            Assert.Equal(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], c.CipherSuites);
            Assert.Equal(60U, c.AuthTokenTtlSeconds);
            var overridden = Parse(["--config", path, "--client-cert-auth=false", "--auto-tls"]).Config.ClientSecurity;
            Assert.Equal(ExpectedClientTls with { ClientCertAuth = false, AutoTls = true }, overridden);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
