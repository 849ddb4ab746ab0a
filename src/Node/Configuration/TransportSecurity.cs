namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// TLS settings of one listener side (client or peer), as etcd's transport.TLSInfo plus auto-tls. File
/// paths are stored as given (not checked here); the serving layer loads them. Immutable.
/// </summary>
public sealed record TransportSecurity
{
    /// <summary>Path of the server certificate (PEM); --cert-file / --peer-cert-file. Empty = none.</summary>
    public string CertFile { get; init; } = "";

    /// <summary>Path of the server key (PEM); --key-file / --peer-key-file. Empty = none.</summary>
    public string KeyFile { get; init; } = "";

    /// <summary>Require and verify client certificates; --client-cert-auth / --peer-client-cert-auth.</summary>
    public bool ClientCertAuth { get; init; }

    /// <summary>Path of the CA bundle to verify client certificates; --trusted-ca-file / --peer-trusted-ca-file.</summary>
    public string TrustedCaFile { get; init; } = "";

    /// <summary>Path of the certificate revocation list; --client-crl-file / --peer-crl-file.</summary>
    public string CrlFile { get; init; } = "";

    /// <summary>Required CN of client certificates (peer side only: --peer-cert-allowed-cn).</summary>
    public string AllowedCn { get; init; } = "";

    /// <summary>Allowed hostname of client certificates; --client-cert-allowed-hostname / --peer-cert-allowed-hostname.</summary>
    public string AllowedHostname { get; init; } = "";

    /// <summary>Generate a self-signed certificate when no cert/key files are given; --auto-tls / --peer-auto-tls.</summary>
    public bool AutoTls { get; init; }

    /// <summary>True when a certificate pair or auto-tls is configured, i.e. the listener serves TLS.</summary>
    public bool IsEnabled => AutoTls || (CertFile.Length > 0 && KeyFile.Length > 0);
}
