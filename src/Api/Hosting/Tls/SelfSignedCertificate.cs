using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Hosting.Tls;

/// <summary>
/// etcd's transport.SelfCert for <c>--auto-tls</c>: an ECDSA P-521 certificate for the listen hosts (subject
/// O=etcd, server auth, valid a year), written as <c>cert.pem</c> and <c>key.pem</c> (mode 0600) in a directory and
/// reused from there on later starts.
/// </summary>
public static class SelfSignedCertificate
{
    /// <summary>
    /// The pair in <paramref name="directory"/>, created first when either file is missing. Returns (cert path, key path).
    /// </summary>
    /// <param name="directory">Where the pair lives (etcd: <c>&lt;data-dir&gt;/fixtures/client</c>).</param>
    /// <param name="hosts"><c>host:port</c> (or <c>host</c>) entries: IPs become IP SANs, names DNS SANs.</param>
    /// <param name="logger">Logs "created cert file" / "created key file" as etcd.</param>
    public static (string CertPath, string KeyPath) Ensure(string directory, IEnumerable<string> hosts, ILogger? logger = null)
    {
        Directory.CreateDirectory(directory);
        var certPath = Path.Combine(directory, "cert.pem");
        var keyPath = Path.Combine(directory, "key.pem");
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            return (certPath, keyPath);
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP521);
        var request = new CertificateRequest(new X500DistinguishedName("O=etcd"), key, HashAlgorithmName.SHA512);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        var names = new SubjectAlternativeNameBuilder();
        var any = false;
        foreach (var host in hosts)
        {
            var name = HostOf(host);
            if (IPAddress.TryParse(name, out var ip))
            {
                names.AddIpAddress(ip);
            }
            else
            {
                names.AddDnsName(name);
            }
            any = true;
        }
        if (any)
        {
            request.CertificateExtensions.Add(names.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now, now.AddDays(365),
            new BigInteger(serial, isUnsigned: true, isBigEndian: true).ToByteArray(isUnsigned: true, isBigEndian: true));
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n");
        logger?.LogInformation("created cert file: path {path}", certPath);
        File.WriteAllText(keyPath, key.ExportECPrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        logger?.LogInformation("created key file: path {path}", keyPath);
        return (certPath, keyPath);
    }

    private static string HostOf(string host)
    {
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']');
            return close > 0 ? host[1..close] : host;
        }
        var colon = host.LastIndexOf(':');
        return colon > 0 && host.IndexOf(':') == colon ? host[..colon] : host;
    }
}
