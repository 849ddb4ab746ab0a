using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Cluster;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Lease;

/// <summary>
/// <c>etcdctl lease ...</c> through a follower of a 3-member cluster: keep-alive and time-to-live are the leader's
/// (etcd 3.4 forwards them over the peer port), so the follower prints what etcd prints.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class FollowerLeaseTests(ITestOutputHelper output)
{
    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Keep_alive_once_and_timetolive_through_a_follower_print_what_etcd_prints(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind);
        try
        {
            var (leader, _, _) = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
            var follower = cluster.Members.First(m => m != leader);
            var etcdctl = follower.Etcdctl();

            var grant = await etcdctl.RunAsync("lease", "grant", "30");
            var id = Regex.Match(grant.Stdout, "^lease ([0-9a-f]+) granted with TTL\\(30s\\)\n$").Groups[1].Value;
            Assert.True(id.Length > 0, grant.Stdout + grant.Stderr);
            Assert.True((await etcdctl.RunAsync("put", "follower/k", "v", "--lease=" + id)).Succeeded);

            var keepAlive = await etcdctl.RunAsync("lease", "keep-alive", "--once", id);
            Assert.Equal((0, $"lease {id} keepalived with TTL(30)\n"), (keepAlive.ExitCode, keepAlive.Stdout));

            var ttl = await etcdctl.RunAsync("lease", "timetolive", id, "--keys");
            Assert.Equal(0, ttl.ExitCode);
            Assert.Matches($"^lease {id} granted with TTL\\(30s\\), remaining\\((2[89]|30)s\\), attached keys\\(\\[follower/k\\]\\)\n$", ttl.Stdout);

            var unknownTtl = await etcdctl.RunAsync("lease", "timetolive", "1234abcd");
            Assert.Equal((0, "lease 000000001234abcd already expired\n"), (unknownTtl.ExitCode, unknownTtl.Stdout));
            var unknownKeepAlive = await etcdctl.RunAsync("lease", "keep-alive", "--once", "1234abcd");
            Assert.NotEqual(0, unknownKeepAlive.ExitCode);
            Assert.Contains("etcdserver: requested lease not found", unknownKeepAlive.Stderr);

            var revoke = await etcdctl.RunAsync("lease", "revoke", id);
            Assert.Equal((0, $"lease {id} revoked\n"), (revoke.ExitCode, revoke.Stdout));
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }
}
