using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Akka.Etcd.TestDoubles;

/// <summary>
/// A throw-away certificate authority for TLS tests, made in memory at test time (no key is checked in): ECDSA P-256
/// CA, leaf certificates for members (server and client authentication, SANs of the caller's choice) written as PEM
/// files, and CRLs listing revoked leaves. Not thread-safe.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;
    private readonly X509Certificate2 _certificate;
    private readonly CertificateRevocationListBuilder _revoked = new();
    private BigInteger _crlNumber = BigInteger.One;

    private TestCertificateAuthority(ECDsa key, X509Certificate2 certificate)
    {
        _key = key;
        _certificate = certificate;
    }

    /// <summary>A new CA named <c>CN=<paramref name="name"/></c>, valid from an hour ago for two days.</summary>
    public static TestCertificateAuthority Create(string name = "test-ca")
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return new TestCertificateAuthority(key, request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2)));
    }

    /// <summary>Writes the CA certificate (PEM) to <paramref name="path"/> and returns the path.</summary>
    public string WriteCertificate(string path)
    {
        File.WriteAllText(path, _certificate.ExportCertificatePem() + "\n");
        return path;
    }

    /// <summary>
    /// Issues a leaf certificate <c>CN=<paramref name="commonName"/></c> for server and client authentication, with
    /// <paramref name="sans"/> as SANs (IP literals become IP SANs, other names DNS SANs; none given = 127.0.0.1 and
    /// localhost), and writes <c>NAME.crt</c> and <c>NAME.key</c> (PKCS#8) into <paramref name="directory"/>.
    /// Returns the two paths and the serial number (upper-case hex).
    /// </summary>
    public (string CertFile, string KeyFile, string Serial) IssueFiles(string directory, string name, string commonName, params string[] sans)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var san in sans.Length == 0 ? ["127.0.0.1", "localhost"] : sans)
        {
            if (IPAddress.TryParse(san, out var ip))
                names.AddIpAddress(ip);
            else
                names.AddDnsName(san);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        serial[0] |= 0x10;
        using var issued = request.Create(_certificate, DateTimeOffset.UtcNow.AddMinutes(-30), DateTimeOffset.UtcNow.AddDays(1), serial);
        var certFile = Path.Combine(directory, name + ".crt");
        var keyFile = Path.Combine(directory, name + ".key");
        File.WriteAllText(certFile, issued.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certFile, keyFile, issued.SerialNumber);
    }

    /// <summary>Adds <paramref name="serial"/> (hex) to the revoked list and writes the CRL (PEM) to <paramref name="path"/>.</summary>
    public string Revoke(string serial, string path)
    {
        _revoked.AddEntry(Convert.FromHexString(serial), DateTimeOffset.UtcNow.AddMinutes(-5));
        var crl = _revoked.Build(_certificate, _crlNumber, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256);
        _crlNumber += 1;
        File.WriteAllText(path, PemEncoding.WriteString("X509 CRL", crl) + "\n");
        return path;
    }

    /// <summary>Disposes the CA's key and certificate.</summary>
    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
    }
}
