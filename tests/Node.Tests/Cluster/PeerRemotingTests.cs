using Akka.Etcd.Node.Cluster;
using Akka.Etcd.Node.Configuration;

namespace Akka.Etcd.Node.Tests.Cluster;

/// <summary>
/// The member's peer URLs onto Akka.Remote: bind address from the listen URL, public address from the advertised one,
/// one URL per member or a start error; the shipped compose configs map as docker compose needs them.
/// </summary>
public class PeerRemotingTests
{
    private static MemberConfig Parse(params string[] args)
    {
        var stderr = new StringWriter();
        var outcome = MemberConfigParser.Parse(args, new Dictionary<string, string>(), new StringWriter(), stderr);
        return outcome.Config ?? throw new Xunit.Sdk.XunitException($"expected a config: {stderr}");
    }

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException(relative);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_compose_member_files_bind_every_interface_and_advertise_the_container_hostname(int member)
    {
        var config = Parse("--config", RepoFile($"hocon/compose/member-{member}.conf"));

        var akka = PeerRemoting.Config(config).WithFallback(config.AkkaConfig);

        Assert.Equal($"m{member}", config.Name);
        Assert.Equal(["m1", "m2", "m3"], config.InitialCluster.Keys);
        Assert.Equal("0.0.0.0", akka.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(2380, akka.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal($"m{member}", akka.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        Assert.Equal(2380, akka.GetInt("akka.remote.dot-netty.tcp.public-port"));
        Assert.Equal("cluster", akka.GetString("akka.actor.provider"));
        Assert.True(akka.GetBoolean("akka.remote.untrusted-mode"));
        Assert.Equal("", akka.GetString("akka.cluster.downing-provider-class"));
        Assert.Contains("/user/peer", akka.GetStringList("akka.remote.trusted-selection-paths"));
    }

    [Fact]
    public void A_listen_port_apart_from_the_advertised_one_is_bound_while_the_advertised_one_is_public()
    {
        var config = Parse("--listen-peer-urls", "http://0.0.0.0:12380", "--initial-advertise-peer-urls", "http://10.1.2.3:2380",
            "--initial-cluster", "default=http://10.1.2.3:2380", "--max-request-bytes", "10485760");

        var akka = PeerRemoting.Config(config);

        Assert.Equal((12380, 2380), (akka.GetInt("akka.remote.dot-netty.tcp.port"), akka.GetInt("akka.remote.dot-netty.tcp.public-port")));
        Assert.Equal("10.1.2.3", akka.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        Assert.Equal(11L * 1024 * 1024, akka.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size", null));
    }

    [Theory]
    [InlineData("--listen-peer-urls", "http://127.0.0.1:2380,http://127.0.0.1:2381", "--listen-peer-urls has 2 URLs")]
    [InlineData("--initial-advertise-peer-urls", "http://127.0.0.1:2380,http://10.0.0.1:2380", "--initial-advertise-peer-urls has 2 URLs")]
    [InlineData("--initial-cluster", "default=http://localhost:2380,default=http://127.0.0.1:2381", "member default has 2 peer URLs")]
    [InlineData("--listen-peer-urls", "https://127.0.0.1:2380", "--initial-advertise-peer-urls: peer URL http://localhost:2380 is http while --listen-peer-urls is https")]
    public void More_than_one_peer_url_or_mixed_schemes_is_a_clear_start_error(string flag, string value, string expected)
    {
        var config = Parse(flag, value);

        var error = Assert.Throws<ConfigErrorException>(() => PeerRemoting.Validate(config));

        Assert.Contains(expected, error.Message);
    }
}
