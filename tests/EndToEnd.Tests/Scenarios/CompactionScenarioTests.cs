using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary><c>etcdctl compaction</c> and reads below the compacted revision; its own server (compaction is global).</summary>
[Trait("Category", "EndToEnd")]
public sealed class CompactionScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    [Fact]
    public async Task Compaction_then_reads_below_it_fail()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var first = await s.PutAsync("cmp/k", "v1");
            var second = await s.PutAsync("cmp/k", "v2");
            var third = await s.PutAsync("cmp/k", "v3");
            await s.PutAsync("cmp/other", "o1");
            await s.RunAsync("del", "cmp/other");
            await s.RunAsync("compaction", second.ToString());
            await s.RunAsync("get", "cmp/k", "--rev", first.ToString());
            await s.RunAsync("get", "cmp/k", "--rev", second.ToString());
            await s.RunAsync("get", "cmp/k", "--rev", third.ToString());
            await s.RunAsync("get", "cmp/", "--prefix", "-w", "json");
            await s.RunAsync("compaction", second.ToString());
            await s.RunAsync("compaction", first.ToString());
            await s.RunAsync("compaction", (third + 1000).ToString());
            await s.RunAsync("compaction", "--physical", third.ToString());
            await s.RunAsync("get", "cmp/k", "--rev", second.ToString());
            await s.RunAsync("get", "cmp/k", "--rev", third.ToString());
            await s.RunAsync("get", "cmp/other", "--rev", (third + 1).ToString());
        }, etcd =>
        {
            Assert.Matches(@"\$ etcdctl compaction \d+\ncompacted revision \d+\nrc=0\n", etcd);
            Assert.Contains("code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted", etcd);
            Assert.Contains("Error: etcdserver: mvcc: required revision has been compacted\nrc=1\n", etcd);
            Assert.Matches(@"\$ etcdctl get cmp/k --rev \d+\ncmp/k\nv2\nrc=0\n\$ etcdctl get cmp/k --rev \d+\ncmp/k\nv3\nrc=0\n", etcd);
            Assert.Contains("code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision", etcd);
            Assert.Contains("\"kvs\":[{\"key\":\"Y21wL2s=\"", etcd);
            Assert.Matches(@"\$ etcdctl get cmp/other --rev \d+\ncmp/other\no1\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }
}
