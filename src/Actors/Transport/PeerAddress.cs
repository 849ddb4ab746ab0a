using System.Globalization;
using Akka.Actor;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// How a member's peer URL maps onto Akka.Remote: every member runs one ActorSystem named <see cref="SystemName"/>
/// whose remoting (DotNetty TCP) is bound to its listen peer URL and advertises its first advertised peer URL
/// (<c>--initial-advertise-peer-urls</c>, as listed in <c>--initial-cluster</c>). Members address each other exactly as
/// advertised: Akka drops a message whose recipient address is another spelling of the receiver's host (<c>localhost</c>
/// against <c>127.0.0.1</c>), so the host and port of a peer URL are used verbatim. An <c>https://</c> peer URL is a member
/// whose remoting runs over TLS: Akka names that transport <c>akka.ssl.tcp</c>, so its addresses use
/// <see cref="SecureProtocol"/>. Pure and thread-safe.
/// </summary>
public static class PeerAddress
{
    /// <summary>The ActorSystem name of every member (Akka addresses carry it, so all members must share it).</summary>
    public const string SystemName = "akka-etcd";

    /// <summary>Akka's protocol name for classic remoting over DotNetty TCP.</summary>
    public const string Protocol = "akka.tcp";

    /// <summary>Akka's protocol name for classic remoting over DotNetty TCP with TLS (<c>enable-ssl = true</c>).</summary>
    public const string SecureProtocol = "akka.ssl.tcp";

    /// <summary>The name of the peer-facing actor under <c>/user</c> (<see cref="PeerActor"/>).</summary>
    public const string PeerActorName = "peer";

    /// <summary>The path of the peer-facing actor, the only user path in <c>akka.remote.trusted-selection-paths</c>.</summary>
    public const string PeerActorPath = "/user/" + PeerActorName;

    /// <summary>
    /// The Akka address of the member reachable at <paramref name="peerUrl"/> (e.g. <c>http://10.0.0.2:2380</c> gives
    /// <c>akka.tcp://akka-etcd@10.0.0.2:2380</c>, <c>https://10.0.0.2:2380</c> gives
    /// <c>akka.ssl.tcp://akka-etcd@10.0.0.2:2380</c>).
    /// </summary>
    /// <param name="peerUrl">The member's peer URL.</param>
    /// <param name="protocol">The Akka protocol of the members' remoting; null for the one the URL's scheme gives
    /// (<see cref="Protocol"/> for http, <see cref="SecureProtocol"/> for https). A transport adapter that adds its scheme
    /// changes it (Akka's throttler, which tests use to cut members apart, makes it <c>akka.trttl.tcp</c>): the peer
    /// actor passes its own system's, so it reaches peers over the transport it runs.</param>
    /// <exception cref="ArgumentException">Not an absolute http or https URL with a host and an explicit or default port.</exception>
    public static Address FromPeerUrl(string peerUrl, string? protocol = null)
    {
        var (host, port) = HostAndPort(peerUrl);
        protocol ??= peerUrl.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? SecureProtocol : Protocol;
        return new Address(protocol, SystemName, host, port);
    }

    /// <summary>
    /// The host (verbatim, IPv6 literals without brackets) and port of a peer URL; the port defaults to 80 for http and
    /// 443 for https as etcd's URL parsing does.
    /// </summary>
    /// <exception cref="ArgumentException">Not an absolute http or https URL with a host.</exception>
    public static (string Host, int Port) HostAndPort(string peerUrl)
    {
        if (!Uri.TryCreate(peerUrl, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw new ArgumentException($"invalid peer URL \"{peerUrl}\"", nameof(peerUrl));
        }
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"peer URL \"{peerUrl}\": members talk over TCP (Akka.Remote); use an http:// or https:// URL", nameof(peerUrl));
        }
        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        return (host, uri.Port);
    }

    /// <summary>The remote path of the peer actor of the member at <paramref name="address"/>.</summary>
    public static string PeerActorPathAt(Address address) => address + PeerActorPath;

    /// <summary>Formats a member or cluster ID as etcd does: lower-case hex, no padding.</summary>
    public static string FormatId(ulong id) => id.ToString("x", CultureInfo.InvariantCulture);
}
