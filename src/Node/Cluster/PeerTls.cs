using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Etcd.Api.Hosting.Tls;
using Akka.Etcd.Node.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Cluster;

/// <summary>
/// TLS between members (<c>https://</c> peer URLs), carried by Akka.Remote's DotNetty transport
/// (<c>akka.remote.dot-netty.tcp.enable-ssl</c> plus a <see cref="DotNettySslSetup"/>), with etcd's peer flags:
/// <list type="bullet">
/// <item><c>--peer-cert-file</c>/<c>--peer-key-file</c>: the member's certificate, served to peers that connect and
/// presented to peers it connects to when client certificates are asked for.</item>
/// <item><c>--peer-trusted-ca-file</c> or <c>--peer-client-cert-auth</c>: a connecting peer must present a certificate
/// chaining to the CA bundle (the system's roots without one) and allowing client authentication (etcd's
/// RequireAndVerifyClientCert); without either, no client certificate is asked for.</item>
/// <item>The certificate a member connects to must chain to the CA bundle, allow server authentication and name the
/// host of the peer URL (IP SAN for an IP), as Go's TLS client checks.</item>
/// <item><c>--peer-crl-file</c>: a certificate (or one of its chain) whose serial the CRL lists is refused, both ways.</item>
/// <item><c>--peer-cert-allowed-cn</c> / <c>--peer-cert-allowed-hostname</c> (mutually exclusive): the other side's
/// certificate must have that CN / match that host name, both ways (etcd's VerifyPeerCertificate).</item>
/// <item>A connecting peer's certificate that carries SANs must name its remote IP (directly or through a DNS SAN),
/// unless <c>--experimental-peer-skip-client-san-verification</c>.</item>
/// <item><c>--peer-auto-tls</c> without cert files: a self-signed pair under <c>&lt;data-dir&gt;/fixtures/peer</c>;
/// as etcd 3.4, such a member verifies no certificate (encryption only, peers' self-signed certificates are
/// accepted) and asks for none; CA, CRL, client-cert-auth and allowed CN/hostname do not apply.</item>
/// </list>
/// Each refusal is logged at warn as etcd's <c>rejected connection</c> with the reason; <see cref="PeerTlsGate"/>
/// then closes the connection before Akka reads or writes anything on it, so nothing of the peer reaches an actor
/// (the handshake itself is let through: Akka.Remote stops the whole member when an outbound handshake fails).
/// Thread-safe.
/// </summary>
public sealed class PeerTls
{
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, string> _outboundRefusals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string?>> _inboundVerdicts = new(StringComparer.Ordinal);

    /// <summary>Name of the transport adapter (<see cref="PeerTlsGate"/>) in <c>akka.remote.adapters</c>.</summary>
    public const string AdapterName = "etcd-peer-tls";

    /// <summary>
    /// The remoting HOCON of a member with peer TLS: <c>enable-ssl</c> on the DotNetty TCP transport and
    /// <see cref="PeerTlsGate"/> applied to it. The certificate and checks come with <see cref="Setup"/>.
    /// </summary>
    public static Akka.Configuration.Config RemotingConfig { get; } = Akka.Configuration.ConfigurationFactory.ParseString($$"""
        akka.remote.dot-netty.tcp {
          enable-ssl = on
          applied-adapters = ["{{AdapterName}}"]
        }
        # No space after the comma: Akka reads the adapter table with HoconValue.ToString, which quotes a value with spaces.
        akka.remote.adapters {
          {{AdapterName}} = "{{typeof(PeerTlsGateProvider).FullName}},{{typeof(PeerTlsGateProvider).Assembly.GetName().Name}}"
        }
        """);

    private PeerTls(LoadedTls tls, bool selfSigned, TransportSecurity security, bool skipClientSanVerification, ILogger log)
    {
        Tls = tls;
        SelfSigned = selfSigned;
        AllowedCn = selfSigned ? "" : security.AllowedCn;
        AllowedHostname = selfSigned ? "" : security.AllowedHostname;
        SkipClientSanVerification = skipClientSanVerification;
        RequireClientCertificate = !selfSigned && tls.RequireClientCertificate;
        _log = log;
    }

    /// <summary>The member's certificate, CA bundle and revoked serials, as loaded from the peer flags.</summary>
    public LoadedTls Tls { get; }

    /// <summary>True under <c>--peer-auto-tls</c> without cert files: no certificate is verified (etcd's InsecureSkipVerify).</summary>
    public bool SelfSigned { get; }

    /// <summary>The CN the other side's certificate must have (<c>--peer-cert-allowed-cn</c>); empty = any.</summary>
    public string AllowedCn { get; }

    /// <summary>The host name the other side's certificate must match (<c>--peer-cert-allowed-hostname</c>); empty = any.</summary>
    public string AllowedHostname { get; }

    /// <summary>Skip the check that a connecting peer's certificate names its remote IP.</summary>
    public bool SkipClientSanVerification { get; }

    /// <summary>
    /// Ask connecting peers for a certificate and present ours when connecting (Akka's
    /// <c>require-mutual-authentication</c>): <c>--peer-client-cert-auth</c> or <c>--peer-trusted-ca-file</c>, never under auto TLS.
    /// </summary>
    public bool RequireClientCertificate { get; }

    /// <summary>True when the member's peer URLs are <c>https://</c> (all of them are, or none: see <see cref="PeerRemoting.Validate"/>).</summary>
    public static bool IsSecure(MemberConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ListenPeerUrls.Count > 0 && config.ListenPeerUrls[0].Scheme == Uri.UriSchemeHttps;
    }

    /// <summary>
    /// The member's peer TLS, or null when its peer URLs are http (peer cert flags are then ignored with etcd's warnings).
    /// Creates the auto TLS pair under <c>&lt;data-dir&gt;/fixtures/peer</c> when asked and logs "starting with peer TLS".
    /// </summary>
    /// <exception cref="ConfigErrorException">https peer URLs without a certificate (etcd's "cannot listen on TLS for
    /// HOST:PORT: KeyFile and CertFile are not presented"), or both an allowed CN and an allowed hostname.</exception>
    /// <exception cref="ArgumentException">A certificate, key, CA or CRL file is missing or unreadable (the message names it).</exception>
    public static PeerTls? Load(MemberConfig config, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        var security = config.PeerSecurity;
        if (!IsSecure(config))
        {
            foreach (var url in config.ListenPeerUrls)
            {
                if (security.IsEnabled)
                    log.LogWarning("scheme is HTTP while key and cert files are present; ignoring key and cert files {peer-url}", Program.UrlText(url));
                if (security.ClientCertAuth)
                    log.LogWarning("scheme is HTTP while --peer-client-cert-auth is enabled; ignoring client cert auth for this URL {peer-url}", Program.UrlText(url));
            }
            return null;
        }
        Check(config);
        var selfSigned = security.AutoTls && security.CertFile.Length == 0 && security.KeyFile.Length == 0;
        var loaded = new EtcdTlsOptions
        {
            Side = "peer",
            CertFile = security.CertFile,
            KeyFile = security.KeyFile,
            // etcd 3.4's auto TLS replaces the peer TLS settings with the self-signed pair alone.
            TrustedCaFile = selfSigned ? "" : security.TrustedCaFile,
            ClientCertAuth = !selfSigned && security.ClientCertAuth,
            CrlFile = selfSigned ? "" : security.CrlFile,
            AutoTls = security.AutoTls,
            AutoTlsDir = Path.Combine(config.DataDir, "fixtures", "peer"),
            AutoTlsHosts = config.ListenPeerUrls.Select(url => url.Authority).ToList(),
        }.Load(log);
        var tls = new PeerTls(loaded, selfSigned, security, config.PeerSkipClientSanVerification, log);
        if (config.CipherSuites.Count > 0)
            log.LogWarning("--cipher-suites is not applied to peer TLS: Akka.Remote offers the platform's TLS 1.2 and 1.3 suites");
        log.LogInformation("starting with peer TLS {tls-info}", tls.Describe(security));
        return tls;
    }

    /// <summary>
    /// Checks the peer TLS flags without reading files: https peer URLs need a certificate (files or auto TLS), and an
    /// allowed CN excludes an allowed hostname.
    /// </summary>
    /// <exception cref="ConfigErrorException">As <see cref="Load"/>.</exception>
    public static void Check(MemberConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var security = config.PeerSecurity;
        if (!IsSecure(config))
            return;
        if (!security.IsEnabled)
        {
            throw new ConfigErrorException(
                $"cannot listen on TLS for {config.ListenPeerUrls[0].Authority}: KeyFile and CertFile are not presented " +
                "(https peer URLs need --peer-cert-file and --peer-key-file, or --peer-auto-tls)");
        }
        if (security.AllowedCn.Length > 0 && security.AllowedHostname.Length > 0)
        {
            throw new ConfigErrorException(
                $"AllowedCN and AllowedHostname are mutually exclusive (cn=\"{security.AllowedCn}\", hostname=\"{security.AllowedHostname}\")");
        }
    }

    /// <summary>
    /// The Akka.Remote setup carrying this TLS: our certificate, mutual authentication as
    /// <see cref="RequireClientCertificate"/>, no hostname check of Akka's own (ours is in <see cref="Validate"/>),
    /// and <see cref="Validate"/> as the certificate validation callback of both directions.
    /// </summary>
    public DotNettySslSetup Setup() => new(Tls.Certificate, suppressValidation: false,
        requireMutualAuthentication: RequireClientCertificate, validateCertificateHostname: false, customValidator: Validate);

    /// <summary>
    /// Akka.Remote's certificate validation callback. Checks the certificate, logs a refusal (warn, <c>rejected
    /// connection</c>, with the peer, the certificate's names and the reason) and records the verdict for
    /// <see cref="PeerTlsGate"/>, which drops a refused connection once the handshake is done. Returns true whenever
    /// there is a certificate (see <see cref="PeerTlsGate"/> for why the handshake is not failed).
    /// </summary>
    /// <param name="certificate">The other side's certificate (null when it sent none).</param>
    /// <param name="chain">The chain it sent, for its intermediates.</param>
    /// <param name="remotePeer">Akka's description of the other side: the transport address connected to
    /// (<c>ssl.tcp://akka-etcd@host:port</c>) when this member connects, the remote IP endpoint (<c>127.0.0.1:41234</c>
    /// or <c>[::ffff:127.0.0.1]:41234</c>) when a peer connected.</param>
    /// <param name="errors">The platform's verdict: not used, every check is made here against the member's CA.</param>
    /// <param name="log">Akka's logger (unused: refusals go to the member's JSON log).</param>
    public bool Validate(X509Certificate2? certificate, X509Chain? chain, string remotePeer, SslPolicyErrors errors, ILoggingAdapter? log)
    {
        var inbound = !remotePeer.Contains("://", StringComparison.Ordinal);
        string? reason;
        try
        {
            reason = Refusal(certificate, chain, remotePeer, inbound);
        }
#pragma warning disable CA1031 // a failing check refuses the connection and says why instead of tearing down the handshake
        catch (Exception ex)
#pragma warning restore CA1031
        {
            reason = "certificate check failed: " + ex.Message;
        }
        if (inbound)
        {
            _inboundVerdicts.GetOrAdd(EndpointKey(remotePeer), _ => NewVerdict()).TrySetResult(reason);
        }
        else if (reason is null)
        {
            _outboundRefusals.TryRemove(remotePeer, out _);
        }
        else
        {
            _outboundRefusals[remotePeer] = reason;
        }
        if (reason is null)
            return true;
        var (ips, dns) = certificate is null ? ([], []) : SubjectAlternativeNames(certificate);
        _log.LogWarning("rejected connection {direction} {remote-addr}: {error} (certificate subject {subject}, ip-addresses {ip-addresses}, dns-names {dns-names})",
            inbound ? "from" : "to", remotePeer, reason, certificate?.Subject ?? "", string.Join(",", ips), string.Join(",", dns));
        return certificate is not null;
    }

    /// <summary>
    /// Why the last TLS handshake with <paramref name="remote"/> (an outbound connection, as the transport addressed
    /// it) refused the server's certificate, or null when it passed; consumes the verdict.
    /// </summary>
    public string? TakeOutboundRefusal(Address remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        return _outboundRefusals.TryRemove(remote.ToString(), out var reason) ? reason : null;
    }

    /// <summary>
    /// Why the inbound connection from <paramref name="remote"/> (its IP and port) was refused, or null when it passed;
    /// waits for its TLS handshake up to <paramref name="timeout"/> (then: refused). Without client certificate
    /// authentication no certificate is asked for: null at once.
    /// </summary>
    public async Task<string?> InboundRefusalAsync(Address remote, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (!RequireClientCertificate)
            return null;
        var key = EndpointKey($"{remote.Host}:{remote.Port}");
        var verdict = _inboundVerdicts.GetOrAdd(key, _ => NewVerdict());
        try
        {
            return await verdict.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return $"no TLS handshake within {timeout.TotalSeconds:F0} s";
        }
        finally
        {
            _inboundVerdicts.TryRemove(new KeyValuePair<string, TaskCompletionSource<string?>>(key, verdict));
        }
    }

    private static TaskCompletionSource<string?> NewVerdict() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>An IP endpoint as "ip:port" with IPv4-mapped IPv6 addresses as IPv4 (DotNetty reports either).</summary>
    private static string EndpointKey(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0)
            return endpoint;
        var host = endpoint[..colon].Trim('[', ']');
        if (!IPAddress.TryParse(host, out var ip))
            return endpoint;
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        return ip + ":" + endpoint[(colon + 1)..];
    }

    /// <summary>Why the certificate is refused, or null when it passes (see the type's summary for the checks).</summary>
    private string? Refusal(X509Certificate2? certificate, X509Chain? chain, string remotePeer, bool inbound)
    {
        if (certificate is null)
            return inbound ? "tls: client didn't provide a certificate" : "tls: server didn't provide a certificate";
        if (SelfSigned)
            return null;
        var reason = Tls.VerifyCertificate(certificate, chain, inbound ? LoadedTls.ClientAuthUsage : LoadedTls.ServerAuthUsage);
        if (reason is not null)
            return reason;
        if (!inbound)
        {
            var host = Address.Parse(remotePeer).Host ?? "";
            if (host.Length > 0 && !certificate.MatchesHostname(host))
                return $"x509: certificate is not valid for {host} ({NamesOf(certificate)})";
        }
        if (AllowedCn.Length > 0 && CommonName(certificate) != AllowedCn)
            return $"client certificate authentication failed: CN \"{CommonName(certificate)}\" is not the allowed CN \"{AllowedCn}\"";
        if (AllowedHostname.Length > 0 && !certificate.MatchesHostname(AllowedHostname))
            return $"client certificate authentication failed: certificate is not valid for the allowed hostname {AllowedHostname} ({NamesOf(certificate)})";
        if (inbound && !SkipClientSanVerification)
            return RemoteAddressRefusal(certificate, remotePeer);
        return null;
    }

    /// <summary>etcd's checkCertSAN: a connecting peer's certificate with SANs must name the IP it connects from.</summary>
    private static string? RemoteAddressRefusal(X509Certificate2 certificate, string remotePeer)
    {
        var (ips, dns) = SubjectAlternativeNames(certificate);
        if (ips.Count == 0 && dns.Count == 0)
            return null;
        if (!IPEndPoint.TryParse(remotePeer, out var endpoint))
            return $"tls: cannot read the remote address \"{remotePeer}\"";
        var remote = endpoint!.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        if (ips.Any(ip => ip.Equals(remote)))
            return null;
        if (dns.Count == 0)
            return $"x509: certificate is valid for {string.Join(", ", ips)}, not {remote}";
        foreach (var name in dns)
        {
            try
            {
                if (Dns.GetHostAddresses(name).Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Contains(remote))
                    return null;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // An unresolvable name matches nothing.
            }
        }
        return $"tls: \"{remote}\" does not match any of DNSNames [{string.Join(" ", dns.Select(n => "\"" + n + "\""))}]";
    }

    private static string CommonName(X509Certificate2 certificate)
    {
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value == "2.5.4.3")
                return rdn.GetSingleElementValue() ?? "";
        }
        return "";
    }

    private static (IReadOnlyList<IPAddress> Ips, IReadOnlyList<string> Dns) SubjectAlternativeNames(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
                continue;
            try
            {
                var names = extension as X509SubjectAlternativeNameExtension ?? new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);
                return (names.EnumerateIPAddresses().ToList(), names.EnumerateDnsNames().ToList());
            }
            catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or AsnContentException)
            {
                return ([], []);
            }
        }
        return ([], []);
    }

    private static string NamesOf(X509Certificate2 certificate)
    {
        var (ips, dns) = SubjectAlternativeNames(certificate);
        var all = ips.Select(ip => ip.ToString()).Concat(dns).ToList();
        return all.Count == 0 ? "no SANs, CN " + CommonName(certificate) : "valid for " + string.Join(", ", all);
    }

    private string Describe(TransportSecurity security) =>
        $"cert = {(SelfSigned ? "<auto-tls>" : security.CertFile)}, key = {(SelfSigned ? "<auto-tls>" : security.KeyFile)}, " +
        $"trusted-ca = {(SelfSigned ? "" : security.TrustedCaFile)}, client-cert-auth = {RequireClientCertificate.ToString().ToLowerInvariant()}, " +
        $"crl-file = {(SelfSigned ? "" : security.CrlFile)}, allowed-cn = {AllowedCn}, allowed-hostname = {AllowedHostname}, " +
        $"skip-client-san-verification = {SkipClientSanVerification.ToString().ToLowerInvariant()}";
}
