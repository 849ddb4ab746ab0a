using System.Text;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary><c>etcdctl txn</c> read from stdin: compares, success/failure branches, limits.</summary>
[Trait("Category", "EndToEnd")]
public sealed class TxnScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    [Fact]
    public async Task Txn_compares_choose_the_branch()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            await s.RunAsync("put", "txn/a", "1");
            await s.RunAsync("put", "txn/a", "2");
            await s.RunAsync("put", "txn/b", "bee");
            // Success branch: every compare holds.
            await s.RunWithInputAsync(
                "value(\"txn/a\") = \"2\"\nversion(\"txn/a\") = \"2\"\nmod(\"txn/b\") > \"0\"\n\nput txn/c yes\nget txn/a\ndel txn/b\n\nput txn/c no\n\n",
                "txn");
            // Failure branch: one compare fails.
            await s.RunWithInputAsync(
                "value(\"txn/a\") = \"2\"\ncreate(\"txn/b\") > \"0\"\n\nput txn/d yes\n\nput txn/d no\nget txn/c\n\n",
                "txn");
            await s.RunWithInputAsync("version(\"txn/missing\") = \"0\"\n\nput txn/e created\n\n\n", "txn", "-w", "json");
            await s.RunWithInputAsync("value(\"txn/a\") != \"2\"\n\n\nget txn/ --prefix --keys-only\n\n", "txn");
            await s.RunWithInputAsync("value(\"txn/a\") < \"3\"\n\nget txn/c\n\n\n", "txn", "-w", "fields");
            await s.RunAsync("get", "txn/", "--prefix");
        }, etcd =>
        {
            Assert.Contains("$ etcdctl txn\nSUCCESS\n\nOK\n\ntxn/a\n2\n\n1\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl txn\nFAILURE\n\nOK\n\ntxn/c\nyes\nrc=0\n", etcd);
            Assert.Contains("\"succeeded\":true,\"responses\":[{\"Response\":{\"ResponsePut\":", etcd);
            Assert.Contains("$ etcdctl txn\nFAILURE\n\ntxn/a\n\ntxn/c\n\ntxn/d\n\ntxn/e\n\nrc=0\n", etcd);
            Assert.Contains("\"Succeeded\" : true", etcd);
            Assert.Contains("\"Key\" : \"txn/c\"\n\"CreateRevision\"", etcd);
            Assert.Contains("$ etcdctl get txn/ --prefix\ntxn/a\n2\ntxn/c\nyes\ntxn/d\nno\ntxn/e\ncreated\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Txn_limits_too_many_ops_and_duplicate_keys()
    {
        static string Puts(string prefix, int count)
        {
            var text = new StringBuilder("\n");
            for (var i = 0; i < count; i++) text.Append($"put {prefix}{i:D3} v\n");
            return text.Append("\n\n").ToString();
        }

        var transcript = await servers.RunAsync(async s =>
        {
            await s.RunWithInputAsync(Puts("ops/over/", 129), "txn");
            await s.RunWithInputAsync(Puts("ops/max/", 128), "txn");
            await s.RunAsync("get", "ops/", "--prefix", "--keys-only", "--limit", "1", "-w", "json");
            await s.RunWithInputAsync("\nput ops/dup a\nput ops/dup b\n\n\n", "txn");
            await s.RunWithInputAsync("\nput ops/dup2 a\ndel ops/dup2\n\n\n", "txn");
            await s.RunWithInputAsync("\nput ops/range/a a\ndel ops/range/ ops/range0\n\n\n", "txn");
            await s.RunWithInputAsync("\nget ops/dup3\nput ops/dup3 a\n\n\n", "txn");
            await s.RunAsync("get", "ops/dup", "--prefix");
        }, etcd =>
        {
            Assert.Contains("code = InvalidArgument desc = etcdserver: too many operations in txn request", etcd);
            Assert.Contains("Error: etcdserver: too many operations in txn request\nrc=1\n", etcd);
            Assert.Contains("\"more\":true,\"count\":128}", etcd);
            Assert.Contains("code = InvalidArgument desc = etcdserver: duplicate key given in txn request", etcd);
            Assert.Contains("Error: etcdserver: duplicate key given in txn request\nrc=1\n", etcd);
            Assert.Contains("$ etcdctl get ops/dup --prefix\nops/dup3\na\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }
}
