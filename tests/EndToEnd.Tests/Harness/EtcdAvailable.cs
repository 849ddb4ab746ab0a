namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// Locates the reference binaries. CI (.ci/run) installs them; tests never skip when they are
/// missing, they fail with the install instruction.
/// </summary>
public static class EtcdAvailable
{
    /// <summary>Path of the reference server (Debian package etcd-server).</summary>
    public const string EtcdPath = "/usr/bin/etcd";

    /// <summary>Path of the real client (Debian package etcd-client).</summary>
    public const string EtcdctlPath = "/usr/bin/etcdctl";

    /// <summary>Returns <see cref="EtcdctlPath"/>; throws when it is not installed.</summary>
    /// <exception cref="InvalidOperationException">etcdctl is missing.</exception>
    public static string Etcdctl()
    {
        if (!File.Exists(EtcdctlPath))
            throw new InvalidOperationException(
                $"{EtcdctlPath} is missing: install Debian's etcd-client (apt-get install -y etcd-client); end-to-end tests never skip.");
        return EtcdctlPath;
    }

    /// <summary>Returns <see cref="EtcdPath"/>; throws when it is not installed.</summary>
    /// <exception cref="InvalidOperationException">etcd is missing.</exception>
    public static string Etcd()
    {
        if (!File.Exists(EtcdPath))
            throw new InvalidOperationException(
                $"{EtcdPath} is missing: install Debian's etcd-server (apt-get install -y etcd-server); end-to-end tests never skip.");
        return EtcdPath;
    }
}
