using System.Globalization;
using Akka.Configuration;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Node.Configuration;

namespace Akka.Etcd.Node.Cluster;

/// <summary>
/// Maps the member's peer URLs onto Akka.Remote and Akka.Cluster: the listen peer URL is the address DotNetty binds
/// (<c>hostname</c>, <c>port</c>), the advertised peer URL the address the member is known by
/// (<c>public-hostname</c>, <c>public-port</c>), so <c>--listen-peer-urls http://0.0.0.0:2380</c> with
/// <c>--initial-advertise-peer-urls http://m1:2380</c> works as in docker compose. Akka.Remote binds one address, so a
/// member has exactly one peer URL; more is a start error. <c>https://</c> peer URLs turn on Akka.Remote's TLS
/// (<c>enable-ssl</c>; the certificates and checks come from <see cref="PeerTls"/> as a setup); all peer URLs of the
/// cluster then use https, since the transport is TLS for every peer or for none. The peer port is bound exclusively
/// (<c>tcp-reuse-addr = off</c>, see <see cref="PeerPort"/>). The other remoting and cluster settings (untrusted mode,
/// failure detectors, no automatic downing) are in the member's reference config, where a member's HOCON file may
/// override them; see docs/architecture.md. Pure.
/// </summary>
public static class PeerRemoting
{
    /// <summary>Largest Akka.Remote frame the members exchange, unless a request may be larger: 4 MiB.</summary>
    public const int MinimumFrameBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Checks that the member has one listen and one advertised peer URL, both http or both https, that every member
    /// of <c>--initial-cluster</c> has one peer URL of that scheme, and that https comes with a certificate
    /// (<see cref="PeerTls.Check"/>).
    /// </summary>
    /// <exception cref="ConfigErrorException">Any of these is not so; the message names the flag and the URLs.</exception>
    public static void Validate(MemberConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        One("--listen-peer-urls", config.ListenPeerUrls);
        One("--initial-advertise-peer-urls", config.InitialAdvertisePeerUrls);
        foreach (var (name, urls) in config.InitialCluster)
        {
            if (urls.Count != 1)
            {
                throw new ConfigErrorException(
                    $"--initial-cluster: member {name} has {urls.Count} peer URLs ({string.Join(",", urls.Select(Program.UrlText))}); " +
                    "akka-etcd members have exactly one peer URL each (Akka.Remote binds and advertises one address)");
            }
        }
        var scheme = config.ListenPeerUrls[0].Scheme;
        var mixed = config.InitialAdvertisePeerUrls.Select(url => ("--initial-advertise-peer-urls", url))
            .Concat(config.InitialCluster.SelectMany(member => member.Value.Select(url => ("--initial-cluster", url))))
            .FirstOrDefault(pair => pair.url.Scheme != scheme);
        if (mixed.url is not null)
        {
            throw new ConfigErrorException(
                $"{mixed.Item1}: peer URL {Program.UrlText(mixed.url)} is {mixed.url.Scheme} while --listen-peer-urls is {scheme}; " +
                "akka-etcd members use one scheme for all peer URLs (Akka.Remote's TLS is on for every peer or for none)");
        }
        PeerTls.Check(config);
    }

    /// <summary>
    /// Where the member's remoting binds: the host and port of its (only) listen peer URL, as <see cref="Config"/> puts
    /// them in <c>dot-netty.tcp.hostname</c> and <c>port</c>.
    /// </summary>
    public static (string Host, int Port) BindAddress(MemberConfig config) =>
        PeerAddress.HostAndPort(Program.UrlText(config.ListenPeerUrls[0]));

    /// <summary>
    /// The HOCON that puts the member's remoting on its peer URLs (with TLS for https ones: <c>enable-ssl</c>, whose
    /// certificate and checks <see cref="PeerTls.Setup"/> supplies) and registers the peer serializer: highest precedence
    /// (a member's file cannot move the peer port away from its peer URLs nor turn TLS off).
    /// </summary>
    /// <exception cref="ConfigErrorException">As <see cref="Validate"/>.</exception>
    public static Config Config(MemberConfig config)
    {
        Validate(config);
        var (bindHost, bindPort) = BindAddress(config);
        var (publicHost, publicPort) = PeerAddress.HostAndPort(Program.UrlText(config.InitialAdvertisePeerUrls[0]));
        var frame = Math.Max(MinimumFrameBytes, (long)config.MaxRequestBytes + 1024 * 1024);
        var hocon = $$"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp {
              hostname = {{Quote(bindHost)}}
              port = {{bindPort.ToString(CultureInfo.InvariantCulture)}}
              public-hostname = {{Quote(publicHost)}}
              public-port = {{publicPort.ToString(CultureInfo.InvariantCulture)}}
              maximum-frame-size = {{frame.ToString(CultureInfo.InvariantCulture)}}b
              enable-ssl = off
              # The peer port is this process's alone (see PeerPort): with SO_REUSEADDR, which .NET turns into
              # SO_REUSEPORT as well on Linux, a member started while an earlier one is still stopping would share it.
              tcp-reuse-addr = off
            }
            """;
        var remoting = ConfigurationFactory.ParseString(hocon);
        if (PeerTls.IsSecure(config))
            remoting = PeerTls.RemotingConfig.WithFallback(remoting);
        return remoting.WithFallback(PeerSerializer.Config);
    }

    /// <summary>The transport settings of the member (snapshot directory under its data dir, snapshot size cap).</summary>
    public static RaftTransportOptions TransportOptions(Akka.Etcd.Actors.Server.ServerOptions options) => new()
    {
        SnapshotDirectory = Path.Combine(options.SnapDir, "incoming"),
        // A backend can outgrow its quota only a little (writes stop at NOSPACE); twice the quota leaves room, 8 GiB at least.
        MaxSnapshotBytes = Math.Max(8L * 1024 * 1024 * 1024, 2 * options.EffectiveQuotaBytes),
    };

    private static void One(string flag, IReadOnlyList<Uri> urls)
    {
        if (urls.Count != 1)
        {
            throw new ConfigErrorException(
                $"{flag} has {urls.Count} URLs ({string.Join(",", urls.Select(Program.UrlText))}); akka-etcd members have exactly " +
                "one peer URL (Akka.Remote binds and advertises one address)");
        }
        try
        {
            PeerAddress.HostAndPort(Program.UrlText(urls[0]));
        }
        catch (ArgumentException ex)
        {
            throw new ConfigErrorException($"{flag}: {ex.Message}", ex);
        }
    }

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
