using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Node.Cluster;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Node.Tests.Cluster;

/// <summary>
/// Two ActorSystems with the member's remoting over TLS on loopback (the peer TLS of <see cref="PeerTls"/> as the
/// node builds it, untrusted mode as the node runs): messages to the peer path go through with certificates of one CA
/// and with auto TLS; a peer whose certificate is of another CA, has the wrong CN or is revoked is refused at the
/// handshake, the refusal is logged with its reason, and nothing reaches the peer actor.
/// </summary>
public sealed class PeerTlsRemotingTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("peer-tls-remoting-").FullName;
    private readonly TestCertificateAuthority _ca = TestCertificateAuthority.Create("members-ca");
    private readonly List<ActorSystem> _systems = [];

    public void Dispose()
    {
        foreach (var system in _systems)
            system.Terminate().Wait(Deadline);
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Counts what reaches the peer path and answers each string with "pong:" and the string.</summary>
    private sealed class EchoPeer : ReceiveActor
    {
        public EchoPeer(Action onMessage)
        {
            Receive<string>(text =>
            {
                onMessage();
                Sender.Tell("pong:" + text);
            });
        }
    }

    private sealed record Member(ActorSystem System, int Port, CapturingLogger Log, Func<int> Received)
    {
        public ActorSelection PeerOf(Member other) =>
            System.ActorSelection(PeerAddress.PeerActorPathAt(PeerAddress.FromPeerUrl($"https://127.0.0.1:{other.Port}")));
    }

    private Member Start(int port, params string[] flags)
    {
        var url = $"https://127.0.0.1:{port}";
        var outcome = MemberConfigParser.Parse(
            ["--data-dir", Path.Combine(_dir, $"data-{port}"), "--listen-peer-urls", url, "--initial-advertise-peer-urls", url,
                "--initial-cluster", $"default={url}", .. flags],
            new Dictionary<string, string>(), new StringWriter(), new StringWriter());
        var config = outcome.Config!;
        var log = new CapturingLogger();
        var tls = PeerTls.Load(config, log)!;
        var hocon = PeerTls.RemotingConfig.WithFallback(RemotingTestConfig.ForPort(port, cluster: false));
        var system = ActorSystem.Create(PeerAddress.SystemName, ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(hocon), tls.Setup()));
        _systems.Add(system);
        var received = 0;
        system.ActorOf(Props.Create(() => new EchoPeer(() => Interlocked.Increment(ref received))), PeerAddress.PeerActorName);
        return new Member(system, port, log, () => Volatile.Read(ref received));
    }

    private string[] Certificate(string name, string commonName, TestCertificateAuthority? ca = null)
    {
        var (cert, key, _) = (ca ?? _ca).IssueFiles(_dir, name, commonName);
        return ["--peer-cert-file", cert, "--peer-key-file", key];
    }

    private string CaFile => _ca.WriteCertificate(Path.Combine(_dir, "ca.crt"));

    /// <summary>
    /// The first "rejected connection" line <paramref name="member"/> logs, sending with <paramref name="send"/> again every
    /// second until then, as a member keeps sending Raft messages: one message alone may go down with a connection attempt
    /// that timed out on a loaded machine before any handshake, and Akka.Remote drops it then.
    /// </summary>
    private static async Task<string> RejectionBy(Member member, Action send, string direction = "from")
    {
        var deadline = DateTime.UtcNow + Deadline;
        var nextSend = DateTime.MinValue;
        while (DateTime.UtcNow < deadline)
        {
            var line = member.Log.Lines.FirstOrDefault(l => l.StartsWith("rejected connection " + direction, StringComparison.Ordinal));
            if (line is not null)
                return line;
            if (DateTime.UtcNow >= nextSend)
            {
                send();
                nextSend = DateTime.UtcNow.AddSeconds(1);
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"no rejected connection logged by the member on port {member.Port}");
    }

    /// <summary>
    /// The answer of <paramref name="to"/>'s peer actor to <paramref name="text"/> from <paramref name="from"/>, sent
    /// again every few seconds until an answer comes, as a member resends Raft messages: Akka.Remote delivers at most
    /// once, and drops what it buffered for an association attempt that timed out (a loaded machine can take longer
    /// than the handshake timeout for the first TLS association).
    /// </summary>
    private static async Task<string> AnswerOf(Member from, Member to, string text)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            Assert.False(from.System.WhenTerminated.IsCompleted, $"the member on port {from.Port} stopped");
            Assert.False(to.System.WhenTerminated.IsCompleted, $"the member on port {to.Port} stopped");
            try
            {
                return await from.PeerOf(to).Ask<string>(text, TimeSpan.FromSeconds(3));
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    [Fact]
    public async Task Members_with_certificates_of_the_trusted_ca_exchange_messages_both_ways()
    {
        var ports = RemotingTestConfig.FreePorts(2);
        var a = Start(ports[0], [.. Certificate("a", "member-a"), "--peer-trusted-ca-file", CaFile, "--peer-client-cert-auth", "--peer-cert-allowed-hostname", "127.0.0.1"]);
        var b = Start(ports[1], [.. Certificate("b", "member-b"), "--peer-trusted-ca-file", CaFile, "--peer-client-cert-auth", "--peer-crl-file", _ca.Revoke("7F01", Path.Combine(_dir, "other.crl"))]);

        Assert.Equal("pong:from-a", await AnswerOf(a, b, "from-a"));
        Assert.Equal("pong:from-b", await AnswerOf(b, a, "from-b"));
        Assert.DoesNotContain(a.Log.Lines.Concat(b.Log.Lines), line => line.StartsWith("rejected connection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Auto_tls_members_accept_each_others_self_signed_certificates()
    {
        var ports = RemotingTestConfig.FreePorts(2);
        var a = Start(ports[0], "--peer-auto-tls");
        var b = Start(ports[1], "--peer-auto-tls");

        Assert.Equal("pong:hello", await AnswerOf(a, b, "hello"));
        Assert.Equal("pong:back", await AnswerOf(b, a, "back"));
    }

    [Fact]
    public async Task A_peer_with_a_certificate_of_another_ca_is_refused()
    {
        using var otherCa = TestCertificateAuthority.Create("intruder-ca");
        var ports = RemotingTestConfig.FreePorts(2);
        var b = Start(ports[1], [.. Certificate("b", "member-b"), "--peer-trusted-ca-file", CaFile, "--peer-client-cert-auth"]);
        var intruder = Start(ports[0], [.. Certificate("x", "member-x", otherCa), "--peer-trusted-ca-file", CaFile, "--peer-client-cert-auth"]);

        Assert.Contains("x509: certificate signed by unknown authority", await RejectionBy(b, () => intruder.PeerOf(b).Tell("let me in")));
        Assert.Contains("x509: certificate signed by unknown authority",
            await RejectionBy(b, () => b.PeerOf(intruder).Tell("are you a member?"), "to"));

        Assert.Equal(0, b.Received());
        Assert.Equal(0, intruder.Received());
        // Refusing (or being refused) drops the connection only: neither side's ActorSystem stops, as etcd's members go on.
        Assert.False(b.System.WhenTerminated.IsCompleted);
        Assert.False(intruder.System.WhenTerminated.IsCompleted);
    }

    [Fact]
    public async Task A_peer_whose_cn_is_not_the_allowed_one_is_refused()
    {
        var ports = RemotingTestConfig.FreePorts(2);
        var b = Start(ports[1], [.. Certificate("b", "member"), "--peer-trusted-ca-file", CaFile, "--peer-cert-allowed-cn", "member"]);
        var intruder = Start(ports[0], [.. Certificate("x", "intruder"), "--peer-trusted-ca-file", CaFile]);

        var line = await RejectionBy(b, () => intruder.PeerOf(b).Tell("let me in"));
        Assert.Contains("client certificate authentication failed: CN \"intruder\" is not the allowed CN \"member\"", line);
        Assert.Equal(0, b.Received());
    }

    [Fact]
    public async Task A_peer_with_a_revoked_certificate_is_refused()
    {
        var ports = RemotingTestConfig.FreePorts(2);
        var (cert, key, serial) = _ca.IssueFiles(_dir, "revoked", "member-r");
        var crl = _ca.Revoke(serial, Path.Combine(_dir, "members.crl"));
        var b = Start(ports[1], [.. Certificate("b", "member-b"), "--peer-trusted-ca-file", CaFile, "--peer-crl-file", crl]);
        var revoked = Start(ports[0], ["--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", CaFile]);

        Assert.Contains($"transport: certificate serial {serial.TrimStart('0').ToLowerInvariant()} revoked",
            await RejectionBy(b, () => revoked.PeerOf(b).Tell("let me in")));
        Assert.Equal(0, b.Received());
    }
}
