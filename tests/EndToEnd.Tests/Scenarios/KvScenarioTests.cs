using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary>put / get / del with etcdctl's output formats and range options; one key prefix per scenario.</summary>
[Trait("Category", "EndToEnd")]
public sealed class KvScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    [Fact]
    public async Task Get_with_range_options_and_output_formats()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            await s.RunAsync("put", "get/a", "va");
            await s.RunAsync("put", "get/c", "vc");
            await s.RunAsync("put", "get/b", "vb");
            await s.RunAsync("put", "get/a", "va2");
            await s.RunAsync("put", "geu", "outside");
            await s.RunAsync("get", "get/", "--prefix");
            await s.RunAsync("get", "get/", "--prefix", "--limit", "2");
            await s.RunAsync("get", "get/", "--prefix", "--keys-only");
            await s.RunAsync("get", "get/", "--prefix", "--print-value-only");
            await s.RunAsync("get", "get/", "--prefix", "--sort-by", "MODIFY", "--order", "DESCEND");
            await s.RunAsync("get", "get/", "--prefix", "--sort-by", "CREATE", "--order", "ASCEND");
            await s.RunAsync("get", "get/", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND");
            await s.RunAsync("get", "get/", "--prefix", "--sort-by", "VERSION", "--order", "DESCEND", "--limit", "1");
            await s.RunAsync("get", "get/", "--prefix", "--order", "DESCEND");
            await s.RunAsync("get", "get/b", "--from-key", "--limit", "3");
            await s.RunAsync("get", "get/a", "get/c");
            await s.RunAsync("get", "get/missing");
            await s.RunAsync("get", "get/", "--prefix", "--hex");
            await s.RunAsync("get", "get/", "--prefix", "-w", "json");
            await s.RunAsync("get", "get/", "--prefix", "--limit", "1", "-w", "fields");
            await s.RunAsync("get", "get/", "--prefix", "-w", "table");
            await s.RunAsync("get", "get/", "--prefix", "--keys-only", "-w", "json");
            await s.RunAsync("get", "get/a", "--consistency", "s");
        }, etcd =>
        {
            Assert.Contains("$ etcdctl get get/ --prefix\nget/a\nva2\nget/b\nvb\nget/c\nvc\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get get/ --prefix --limit 2\nget/a\nva2\nget/b\nvb\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get get/ --prefix --keys-only\nget/a\n\nget/b\n\nget/c\n\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get get/ --prefix --print-value-only\nva2\nvb\nvc\nrc=0\n", etcd);
            Assert.Contains("--sort-by MODIFY --order DESCEND\nget/a\nva2\nget/b\nvb\nget/c\nvc\nrc=0\n", etcd);
            Assert.Contains("--sort-by CREATE --order ASCEND\nget/a\nva2\nget/c\nvc\nget/b\nvb\nrc=0\n", etcd);
            Assert.Contains("--sort-by VALUE --order DESCEND\nget/c\nvc\nget/b\nvb\nget/a\nva2\nrc=0\n", etcd);
            Assert.Contains("--sort-by VERSION --order DESCEND --limit 1\nget/a\nva2\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get get/ --prefix --order DESCEND\nget/c\nvc\nget/b\nvb\nget/a\nva2\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get get/b --from-key --limit 3\nget/b\nvb\nget/c\nvc\ngeu\noutside\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get get/a get/c\nget/a\nva2\nget/b\nvb\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get get/missing\nrc=0\n", etcd);
            Assert.Contains(@"\x67\x65\x74\x2f\x61" + "\n" + @"\x76\x61\x32", etcd);
            Assert.Contains("\"key\":\"Z2V0L2E=\"", etcd);
            Assert.Contains("\"version\":2,\"value\":\"dmEy\"", etcd);
            Assert.Contains("\"More\" : true", etcd);
            Assert.Contains("$ etcdctl get get/ --prefix -w table\nError: table not supported as output format\nrc=4\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Get_at_revision_and_future_revision()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            var first = await s.PutAsync("rev/k", "one");
            var second = await s.PutAsync("rev/k", "two");
            await s.RunAsync("del", "rev/k");
            await s.RunAsync("get", "rev/k", "--rev", first.ToString());
            await s.RunAsync("get", "rev/k", "--rev", second.ToString(), "-w", "json");
            await s.RunAsync("get", "rev/k");
            await s.RunAsync("get", "rev/k", "--rev", (second + 1000).ToString());
        }, etcd =>
        {
            Assert.Matches(@"\$ etcdctl get rev/k --rev \d+\nrev/k\none\nrc=0\n", etcd);
            Assert.Matches("\"mod_revision\":\\d+,\"version\":2,\"value\":\"dHdv\"", etcd);
            Assert.Contains("$ etcdctl get rev/k\nrc=0\n", etcd);
            Assert.Contains("code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision", etcd);
            Assert.Contains("Error: etcdserver: mvcc: required revision is a future revision\nrc=1\n", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Delete_prefix_range_and_prev_kv()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            foreach (var key in new[] { "del/a", "del/b", "del/c", "del/d", "del/e", "dem" })
                await s.RunAsync("put", key, "v-" + key);
            await s.RunAsync("del", "del/a");
            await s.RunAsync("del", "del/a");
            await s.RunAsync("del", "del/b", "del/d", "--prev-kv");
            await s.RunAsync("del", "del/", "--prefix", "--prev-kv", "-w", "json");
            await s.RunAsync("get", "del/", "--prefix");
            await s.RunAsync("put", "del/f", "again");
            await s.RunAsync("del", "del/e", "del/g");
            await s.RunAsync("get", "dem");
            await s.RunAsync("put", "del/g", "x", "--prev-kv");
            await s.RunAsync("put", "del/g", "y", "--prev-kv");
            await s.RunAsync("put", "del/g", "--ignore-value");
            await s.RunAsync("get", "del/g", "-w", "fields");
        }, etcd =>
        {
            Assert.Contains("$ etcdctl del del/a\n1\nrc=0\n$ etcdctl del del/a\n0\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl del del/b del/d --prev-kv\n2\ndel/b\nv-del/b\ndel/c\nv-del/c\nrc=0\n", etcd);
            Assert.Contains("\"deleted\":2,\"prev_kvs\":[", etcd);
            Assert.Contains("$ etcdctl get del/ --prefix\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl put del/f again\nOK\nrc=0\n$ etcdctl del del/e del/g\n1\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get dem\ndem\nv-dem\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl put del/g y --prev-kv\nOK\ndel/g\nx\nrc=0\n", etcd);
            Assert.Contains("\"Value\" : \"y\"", etcd);
        });
        output.WriteLine(transcript);
    }

    [Fact]
    public async Task Request_errors_empty_key_unknown_lease_oversize_value()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            await s.RunAsync("put", "", "x");
            await s.RunAsync("get", "");
            await s.RunAsync("del", "");
            await s.RunAsync("put", "err/leased", "x", "--lease=1234abcd");
            await s.RunAsync("get", "err/leased");
            await s.RunWithInputAsync(new string('a', 1024 * 1024 + 600 * 1024), "put", "err/big");
            await s.RunWithInputAsync(new string('b', 1024 * 1024), "put", "err/fits");
            await s.RunAsync("get", "err/", "--prefix", "--keys-only");
        }, etcd =>
        {
            Assert.Contains("$ etcdctl put '' x\n", etcd);
            Assert.Contains("code = InvalidArgument desc = etcdserver: key is not provided", etcd);
            Assert.Contains("Error: etcdserver: key is not provided\nrc=1\n", etcd);
            Assert.Contains("code = NotFound desc = etcdserver: requested lease not found", etcd);
            Assert.Contains("Error: etcdserver: requested lease not found\nrc=1\n$ etcdctl get err/leased\nrc=0\n", etcd);
            Assert.Contains("code = InvalidArgument desc = etcdserver: request is too large", etcd);
            Assert.Contains("Error: etcdserver: request is too large\nrc=1\n", etcd);
            Assert.Contains("$ etcdctl put err/fits\nOK\nrc=0\n", etcd);
            Assert.Contains("$ etcdctl get err/ --prefix --keys-only\nerr/fits\n\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }
}
