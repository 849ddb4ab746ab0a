using Akka.Actor;
using Akka.Etcd.Actors.Transport;

namespace Akka.Etcd.Actors.Tests.Transport;

/// <summary>How a peer URL maps onto the Akka address a member is reached at.</summary>
public sealed class PeerAddressTests
{
    [Fact]
    public void A_peer_url_becomes_the_akka_tcp_address_of_the_member_with_its_host_verbatim()
    {
        Assert.Equal(new Address("akka.tcp", "akka-etcd", "127.0.0.1", 2380), PeerAddress.FromPeerUrl("http://127.0.0.1:2380"));
        Assert.Equal(new Address("akka.tcp", "akka-etcd", "localhost", 80), PeerAddress.FromPeerUrl("http://localhost"));
    }

    [Fact]
    public void With_a_transport_adapter_the_address_carries_the_protocol_the_member_runs()
    {
        // Akka's throttler adapter (the multi-node specs' partitions) adds its scheme to the protocol.
        Assert.Equal(new Address("akka.trttl.tcp", "akka-etcd", "127.0.0.1", 2380),
            PeerAddress.FromPeerUrl("http://127.0.0.1:2380", "akka.trttl.tcp"));
    }

    [Fact]
    public void An_https_peer_url_gives_the_ssl_protocol_and_other_schemes_are_refused()
    {
        Assert.Equal(new Address("akka.ssl.tcp", "akka-etcd", "127.0.0.1", 2380), PeerAddress.FromPeerUrl("https://127.0.0.1:2380"));
        Assert.Throws<ArgumentException>(() => PeerAddress.FromPeerUrl("unix://socket"));
        Assert.Throws<ArgumentException>(() => PeerAddress.FromPeerUrl("not a url"));
    }
}
