using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Server;

namespace Akka.Etcd.Actors.Tests.Membership;

public class MemberIdentityTests
{
    // Values printed by etcd 3.4.23 for `--initial-cluster default=http://127.0.0.1:12380` and the default token:
    // "starting member ddd67b312462fd7b in cluster a7ef944b95711739".
    [Fact]
    public void Ids_match_what_etcd_derives_for_the_same_flags()
    {
        var memberId = MemberIdentity.ComputeMemberId(new[] { "http://127.0.0.1:12380" }, "etcd-cluster");
        Assert.Equal(0xddd67b312462fd7bUL, memberId);
        Assert.Equal(0xa7ef944b95711739UL, MemberIdentity.ComputeClusterId(new[] { memberId }));
    }

    [Fact]
    public void Peer_url_order_does_not_change_the_member_id()
    {
        var a = MemberIdentity.ComputeMemberId(new[] { "http://10.0.0.1:2380", "http://10.0.0.2:2380" }, "t");
        var b = MemberIdentity.ComputeMemberId(new[] { "http://10.0.0.2:2380", "http://10.0.0.1:2380" }, "t");
        Assert.Equal(a, b);
        Assert.NotEqual(a, MemberIdentity.ComputeMemberId(new[] { "http://10.0.0.2:2380", "http://10.0.0.1:2380" }, "u"));
    }

    [Fact]
    public void Bootstrap_resolves_every_member_and_rejects_a_name_missing_from_the_cluster()
    {
        var options = new ServerOptions
        {
            Name = "m2",
            InitialCluster = new Dictionary<string, IReadOnlyList<string>>
            {
                ["m1"] = new[] { "http://127.0.0.1:2380" },
                ["m2"] = new[] { "http://127.0.0.1:22380" },
                ["m3"] = new[] { "http://127.0.0.1:32380" },
            },
            AdvertisePeerUrls = new[] { "http://127.0.0.1:22380" },
        };
        var boot = MemberBootstrap.Resolve(options);
        Assert.Equal(3, boot.Members.Count);
        Assert.Equal(MemberIdentity.ComputeMemberId(new[] { "http://127.0.0.1:22380" }, "etcd-cluster"), boot.MemberId);
        Assert.Equal(MemberIdentity.ComputeClusterId(boot.Members.Select(m => m.ID)), boot.ClusterId);
        Assert.Throws<ArgumentException>(() => MemberBootstrap.Resolve(options with { Name = "m9" }));
    }
}
