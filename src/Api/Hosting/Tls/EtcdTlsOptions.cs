using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Hosting.Tls;

/// <summary>
/// TLS of one listener side, as etcd's transport.TLSInfo (<c>--cert-file --key-file --trusted-ca-file
/// --client-cert-auth --client-crl-file --auto-tls --cipher-suites</c>). File paths are as given; <see cref="Load"/>
/// reads them (and makes the self-signed pair of <c>--auto-tls</c>). Immutable.
/// </summary>
public sealed record EtcdTlsOptions
{
    /// <summary>Server certificate chain (PEM); empty = none.</summary>
    public string CertFile { get; init; } = "";

    /// <summary>Server private key (PEM: PKCS#1, PKCS#8 or SEC1); empty = none.</summary>
    public string KeyFile { get; init; } = "";

    /// <summary>CA bundle (PEM) client certificates must chain to; given alone it also requires them, as etcd.</summary>
    public string TrustedCaFile { get; init; } = "";

    /// <summary>Require a client certificate signed by a trusted CA at the handshake.</summary>
    public bool ClientCertAuth { get; init; }

    /// <summary>Certificate revocation list (PEM or DER): a client certificate whose serial it lists is refused.</summary>
    public string CrlFile { get; init; } = "";

    /// <summary>
    /// When no cert/key files are given, generate a self-signed ECDSA P-521 certificate for the listen hosts into
    /// <see cref="AutoTlsDir"/> (<c>cert.pem</c>, <c>key.pem</c>; reused when both exist), valid a year, as etcd's SelfCert.
    /// </summary>
    public bool AutoTls { get; init; }

    /// <summary>Where <see cref="AutoTls"/> keeps its pair (etcd: <c>&lt;data-dir&gt;/fixtures/client</c>).</summary>
    public string AutoTlsDir { get; init; } = "";

    /// <summary>Hosts (<c>host:port</c> or <c>host</c>) the self-signed certificate names: IPs become IP SANs, others DNS SANs.</summary>
    public IReadOnlyList<string> AutoTlsHosts { get; init; } = [];

    /// <summary>TLS 1.2 cipher suites by their IANA/Go names (<c>TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</c>); empty = the platform's.</summary>
    public IReadOnlyList<string> CipherSuites { get; init; } = [];

    /// <summary>
    /// Which listener the options are for, as etcd's flags name it: "" for the client side (<c>--cert-file</c>,
    /// <c>--auto-tls</c>), "peer" for the peer side (<c>--peer-cert-file</c>, <c>--peer-auto-tls</c>); used in messages only.
    /// </summary>
    public string Side { get; init; } = "";

    /// <summary>True when a certificate is (or will be) served: cert and key files, or auto TLS.</summary>
    public bool IsEnabled => AutoTls || (CertFile.Length > 0 && KeyFile.Length > 0);

    /// <summary>
    /// Reads the certificate, key, CA bundle and CRL (creating the auto-TLS pair first when asked). Throws
    /// <see cref="ArgumentException"/> naming the file for a missing or unreadable one, an unknown cipher suite, or a
    /// key that does not match the certificate.
    /// </summary>
    public LoadedTls Load(ILogger? logger = null)
    {
        var certFile = CertFile;
        var keyFile = KeyFile;
        if (AutoTls)
        {
            if (certFile.Length > 0 || keyFile.Length > 0)
            {
                logger?.LogWarning("ignoring {side} auto TLS since certs given", Side.Length == 0 ? "client" : Side);
            }
            else
            {
                (certFile, keyFile) = SelfSignedCertificate.Ensure(AutoTlsDir, AutoTlsHosts, logger);
            }
        }
        if (certFile.Length == 0 || keyFile.Length == 0)
        {
            var prefix = Side.Length == 0 ? "--" : "--" + Side + "-";
            throw new ArgumentException($"TLS key/cert ({prefix}cert-file, {prefix}key-file) must be provided");
        }
        X509Certificate2 certificate;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // SslStream on Linux needs the key in an exportable, non-ephemeral form.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or ArgumentException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot load TLS certificate {certFile} with key {keyFile}: {ex.Message}", ex);
        }
        var intermediates = new X509Certificate2Collection();
        try
        {
            intermediates.ImportFromPemFile(certFile);
        }
        catch (CryptographicException)
        {
            // A lone certificate: nothing else to send.
        }
        X509Certificate2Collection? trusted = null;
        if (TrustedCaFile.Length > 0)
        {
            trusted = new X509Certificate2Collection();
            try
            {
                trusted.ImportFromPemFile(TrustedCaFile);
            }
            catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"cannot load trusted CA file {TrustedCaFile}: {ex.Message}", ex);
            }
        }
        IReadOnlySet<string>? revoked = null;
        if (CrlFile.Length > 0)
        {
            try
            {
                revoked = RevocationList.SerialsOf(File.ReadAllBytes(CrlFile));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                throw new ArgumentException($"cannot load CRL file {CrlFile}: {ex.Message}", ex);
            }
        }
        var suites = new List<TlsCipherSuite>();
        foreach (var name in CipherSuites)
        {
            if (!Enum.TryParse<TlsCipherSuite>(name, ignoreCase: false, out var suite) || !name.StartsWith("TLS_", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected TLS cipher suite \"{name}\"");
            }
            suites.Add(suite);
        }
        var chain = intermediates.Cast<X509Certificate2>()
            .Where(c => !c.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span)).ToList();
        return new LoadedTls(certificate, new X509Certificate2Collection(chain.ToArray()), ClientCertAuth || TrustedCaFile.Length > 0,
            trusted, revoked, suites);
    }
}

/// <summary>
/// A listener's TLS material, loaded (<see cref="EtcdTlsOptions.Load"/>): what <c>EtcdWebHost.AddEtcdListener</c>
/// gives Kestrel for its <c>https://</c> URLs.
/// </summary>
/// <param name="Certificate">The server certificate with its private key.</param>
/// <param name="Intermediates">Other certificates of the cert file, sent along as the chain.</param>
/// <param name="RequireClientCertificate">Refuse a client without a certificate at the handshake (<c>--client-cert-auth</c>
/// or a <c>--trusted-ca-file</c>, as etcd's RequireAndVerifyClientCert).</param>
/// <param name="TrustedCertificates">The CAs a client certificate must chain to; null = the system's.</param>
/// <param name="RevokedSerials">Serial numbers (upper-case hex, no leading zeros) of revoked client certificates; null = no CRL.</param>
/// <param name="CipherSuites">TLS 1.2 suites to offer; empty = the platform's (TLS 1.3 suites are always offered, as in Go).</param>
public sealed record LoadedTls(X509Certificate2 Certificate, X509Certificate2Collection Intermediates, bool RequireClientCertificate,
    X509Certificate2Collection? TrustedCertificates, IReadOnlySet<string>? RevokedSerials, IReadOnlyList<TlsCipherSuite> CipherSuites)
{
    private static readonly TlsCipherSuite[] Tls13Suites =
        [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    /// <summary>The TLS versions served: 1.2 and 1.3 (etcd's MinVersion TLS 1.2).</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>The cipher suite policy for <see cref="CipherSuites"/> (plus TLS 1.3's), or null for the platform default.</summary>
    /// <remarks>Windows picks its suites system-wide: there the list is ignored.</remarks>
    public CipherSuitesPolicy? CipherSuitesPolicy() =>
        CipherSuites.Count == 0 || OperatingSystem.IsWindows() ? null : new CipherSuitesPolicy(CipherSuites.Concat(Tls13Suites).Distinct());

    /// <summary>OID of the extended key usage "TLS web client authentication" (a client certificate needs it).</summary>
    public const string ClientAuthUsage = "1.3.6.1.5.5.7.3.2";

    /// <summary>OID of the extended key usage "TLS web server authentication" (a server certificate needs it).</summary>
    public const string ServerAuthUsage = "1.3.6.1.5.5.7.3.1";

    /// <summary>
    /// Verifies a client certificate as Go's RequireAndVerifyClientCert does: it must chain (with the intermediates
    /// it sent) to <see cref="TrustedCertificates"/> (or the system's roots), be valid now, and be usable for client
    /// authentication; with a CRL, neither it nor its chain may be listed.
    /// </summary>
    public bool ValidateClientCertificate(X509Certificate2 certificate, X509Chain? presented) =>
        VerifyCertificate(certificate, presented, ClientAuthUsage) is null;

    /// <summary>
    /// Verifies the certificate of the other side as Go's crypto/tls does: it must chain (with the intermediates it
    /// sent) to <see cref="TrustedCertificates"/> (or the system's roots), be valid now and allow
    /// <paramref name="usage"/> (<see cref="ClientAuthUsage"/> for a client's certificate, <see cref="ServerAuthUsage"/>
    /// for a server's); with a CRL, neither it nor its chain may be listed. Returns null when it passes, else the
    /// reason in Go's words (<c>x509: certificate signed by unknown authority</c>, <c>transport: certificate serial 1f revoked</c>).
    /// </summary>
    public string? VerifyCertificate(X509Certificate2 certificate, X509Chain? presented, string usage)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage));
        if (TrustedCertificates is not null)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(TrustedCertificates);
        }
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
        }
        if (!chain.Build(certificate))
        {
            var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, status) => all | status.Status);
            if ((flags & (X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested)) != 0)
                return "x509: certificate has expired or is not yet valid";
            if ((flags & X509ChainStatusFlags.NotValidForUsage) != 0)
                return "x509: certificate specifies an incompatible key usage";
            if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
                return "x509: certificate signed by unknown authority";
            return "x509: " + string.Join("; ", chain.ChainStatus.Select(status => status.StatusInformation.Trim()));
        }
        if (RevokedSerials is { } revoked)
        {
            foreach (var element in chain.ChainElements)
            {
                var serial = RevocationList.NormalizeSerial(element.Certificate.SerialNumber);
                if (revoked.Contains(serial))
                {
                    return "transport: certificate serial " + serial.ToLowerInvariant() + " revoked";
                }
            }
        }
        return null;
    }
}
