using Akka.Etcd.Node.Cluster;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.TestDoubles;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Tests.Cluster;

/// <summary>
/// Peer TLS settings from every source etcd reads them from (flags, ETCD_* variables, the YAML config file, our HOCON
/// file) onto the member's Akka.Remote TLS, and the start errors: https without a certificate, mixed schemes, an
/// allowed CN next to an allowed hostname, a missing file.
/// </summary>
public sealed class PeerTlsConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("peer-tls-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] HttpsPeer =
    [
        "--listen-peer-urls", "https://127.0.0.1:12380", "--initial-advertise-peer-urls", "https://127.0.0.1:12380",
        "--initial-cluster", "default=https://127.0.0.1:12380",
    ];

    private static MemberConfig Parse(string[] args, Dictionary<string, string>? env = null)
    {
        var stderr = new StringWriter();
        var outcome = MemberConfigParser.Parse(args, env ?? [], new StringWriter(), stderr);
        return outcome.Config ?? throw new Xunit.Sdk.XunitException($"expected a config: {stderr}");
    }

    private static TransportSecurity Expected => new()
    {
        CertFile = "/p/peer.crt",
        KeyFile = "/p/peer.key",
        TrustedCaFile = "/p/ca.crt",
        ClientCertAuth = true,
        CrlFile = "/p/peer.crl",
        AllowedCn = "member",
        AutoTls = true,
    };

    [Fact]
    public void Flags_fill_the_peer_security()
    {
        var config = Parse([.. HttpsPeer, "--peer-cert-file", "/p/peer.crt", "--peer-key-file", "/p/peer.key",
            "--peer-trusted-ca-file", "/p/ca.crt", "--peer-client-cert-auth", "--peer-crl-file", "/p/peer.crl",
            "--peer-cert-allowed-cn", "member", "--peer-auto-tls"]);

        Assert.Equal(Expected, config.PeerSecurity);
        Assert.True(PeerRemoting.Config(config).GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
    }

    [Fact]
    public void Environment_variables_fill_the_peer_security()
    {
        var config = Parse(HttpsPeer, new Dictionary<string, string>
        {
            ["ETCD_PEER_CERT_FILE"] = "/p/peer.crt",
            ["ETCD_PEER_KEY_FILE"] = "/p/peer.key",
            ["ETCD_PEER_TRUSTED_CA_FILE"] = "/p/ca.crt",
            ["ETCD_PEER_CLIENT_CERT_AUTH"] = "true",
            ["ETCD_PEER_CRL_FILE"] = "/p/peer.crl",
            ["ETCD_PEER_CERT_ALLOWED_CN"] = "member",
            ["ETCD_PEER_AUTO_TLS"] = "true",
        });

        Assert.Equal(Expected, config.PeerSecurity);
    }

    [Fact]
    public void The_yaml_peer_transport_security_block_fills_the_peer_security()
    {
        var file = Path.Combine(_dir, "etcd.yaml");
        File.WriteAllText(file, """
            listen-peer-urls: https://127.0.0.1:12380
            initial-advertise-peer-urls: https://127.0.0.1:12380
            initial-cluster: default=https://127.0.0.1:12380
            peer-transport-security:
              cert-file: /p/peer.crt
              key-file: /p/peer.key
              trusted-ca-file: /p/ca.crt
              client-cert-auth: true
              crl-file: /p/peer.crl
              allowed-cn: member
              auto-tls: true
            """);

        var config = Parse(["--config-file", file]);

        Assert.Equal(Expected, config.PeerSecurity);
        Assert.True(PeerTls.IsSecure(config));
    }

    [Fact]
    public void The_hocon_etcd_section_fills_the_peer_security()
    {
        var file = Path.Combine(_dir, "member.conf");
        File.WriteAllText(file, """
            akka.etcd {
              listen-peer-urls = "https://127.0.0.1:12380"
              initial-advertise-peer-urls = "https://127.0.0.1:12380"
              initial-cluster = "default=https://127.0.0.1:12380"
              peer-cert-file = /p/peer.crt
              peer-key-file = /p/peer.key
              peer-trusted-ca-file = /p/ca.crt
              peer-client-cert-auth = true
              peer-crl-file = /p/peer.crl
              peer-cert-allowed-hostname = m1.example
              peer-auto-tls = true
            }
            """);

        var config = Parse(["--config", file]);

        Assert.Equal(Expected with { AllowedCn = "", AllowedHostname = "m1.example" }, config.PeerSecurity);
        Assert.True(PeerRemoting.Config(config).GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
    }

    [Fact]
    public void The_snapshot_catch_up_entries_flag_reaches_the_member_and_defaults_to_etcds_5000()
    {
        Assert.Equal(5_000UL, Program.ToServerOptions(Parse([])).SnapshotCatchUpEntries);
        Assert.Equal(7UL, Program.ToServerOptions(Parse(["--experimental-snapshot-catchup-entries", "7"])).SnapshotCatchUpEntries);
    }

    [Fact]
    public void Https_peer_urls_without_a_certificate_are_refused_with_etcds_message()
    {
        var config = Parse(HttpsPeer);

        var error = Assert.Throws<ConfigErrorException>(() => PeerRemoting.Validate(config));

        Assert.StartsWith("cannot listen on TLS for 127.0.0.1:12380: KeyFile and CertFile are not presented", error.Message);
    }

    [Fact]
    public void An_allowed_cn_and_an_allowed_hostname_together_are_refused()
    {
        var config = Parse([.. HttpsPeer, "--peer-auto-tls", "--peer-cert-allowed-cn", "a", "--peer-cert-allowed-hostname", "b"]);

        var error = Assert.Throws<ConfigErrorException>(() => PeerRemoting.Validate(config));

        Assert.Equal("AllowedCN and AllowedHostname are mutually exclusive (cn=\"a\", hostname=\"b\")", error.Message);
    }

    [Fact]
    public void An_http_member_in_an_https_initial_cluster_is_refused()
    {
        var config = Parse([.. HttpsPeer[..4], "--initial-cluster", "default=https://127.0.0.1:12380,other=http://127.0.0.1:12381", "--peer-auto-tls"]);

        var error = Assert.Throws<ConfigErrorException>(() => PeerRemoting.Validate(config));

        Assert.Contains("--initial-cluster: peer URL http://127.0.0.1:12381 is http while --listen-peer-urls is https", error.Message);
    }

    [Fact]
    public void A_missing_certificate_file_is_named_in_the_error()
    {
        var missing = Path.Combine(_dir, "nope.crt");
        var config = Parse([.. HttpsPeer, "--peer-cert-file", missing, "--peer-key-file", Path.Combine(_dir, "nope.key")]);

        var error = Assert.Throws<ArgumentException>(() => PeerTls.Load(config, new CapturingLogger()));

        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void Http_peer_urls_ignore_the_peer_certificate_with_etcds_warnings()
    {
        var log = new CapturingLogger();
        var config = Parse(["--peer-cert-file", "/p/peer.crt", "--peer-key-file", "/p/peer.key", "--peer-client-cert-auth"]);

        Assert.Null(PeerTls.Load(config, log));

        Assert.False(PeerRemoting.Config(config).GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.Contains(log.Lines, line => line.StartsWith("scheme is HTTP while key and cert files are present; ignoring key and cert files", StringComparison.Ordinal));
        Assert.Contains(log.Lines, line => line.StartsWith("scheme is HTTP while --peer-client-cert-auth is enabled", StringComparison.Ordinal));
    }

    [Fact]
    public void Peer_auto_tls_makes_a_pair_under_fixtures_peer_and_verifies_nothing_as_etcd()
    {
        var dataDir = Path.Combine(_dir, "data");
        var config = Parse([.. HttpsPeer, "--data-dir", dataDir, "--peer-auto-tls", "--peer-client-cert-auth", "--peer-cert-allowed-cn", "x"]);

        var tls = PeerTls.Load(config, new CapturingLogger())!;

        Assert.True(File.Exists(Path.Combine(dataDir, "fixtures", "peer", "cert.pem")));
        Assert.True(File.Exists(Path.Combine(dataDir, "fixtures", "peer", "key.pem")));
        Assert.True(tls.SelfSigned);
        Assert.False(tls.RequireClientCertificate);
        Assert.Equal("", tls.AllowedCn);
        Assert.False(tls.Setup().RequireMutualAuthentication);
    }

    [Fact]
    public void Given_certificates_with_a_ca_ask_connecting_peers_for_theirs()
    {
        using var ca = TestCertificateAuthority.Create();
        var caFile = ca.WriteCertificate(Path.Combine(_dir, "ca.crt"));
        var (cert, key, _) = ca.IssueFiles(_dir, "m1", "m1");
        var config = Parse([.. HttpsPeer, "--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", caFile, "--peer-auto-tls"]);
        var log = new CapturingLogger();

        var tls = PeerTls.Load(config, log)!;

        Assert.False(tls.SelfSigned);
        Assert.True(tls.Setup().RequireMutualAuthentication);
        Assert.Contains(log.Lines, line => line.StartsWith("ignoring peer auto TLS since certs given", StringComparison.Ordinal));
        Assert.Contains(log.Lines, line => line.StartsWith("starting with peer TLS", StringComparison.Ordinal));
    }
}

/// <summary>An ILogger keeping each formatted line (thread-safe).</summary>
internal sealed class CapturingLogger : ILogger
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
                return [.. _lines];
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = formatter(state, exception);
        lock (_lines)
            _lines.Add(line);
    }
}
