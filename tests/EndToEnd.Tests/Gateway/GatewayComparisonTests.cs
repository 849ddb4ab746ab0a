using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Etcd.EndToEnd.Tests.Harness;

namespace Akka.Etcd.EndToEnd.Tests.Gateway;

/// <summary>
/// etcd's JSON gateway with the real curl against Debian's etcd 3.4 and against akka-etcd, both fresh single members
/// with the same flags: the same calls must give the same HTTP status and the same JSON, once the figures that
/// legitimately differ are masked (member and cluster IDs, ports, db sizes, Raft indexes, a TTL that may have ticked).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class GatewayComparisonTests(ScenarioServers servers) : IClassFixture<ScenarioServers>
{
    private static readonly TimeSpan WatchDeadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Curl_gets_the_same_json_from_akka_etcd_as_from_etcd()
    {
        var expected = await RunAsync(servers.Etcd);
        var etcdText = string.Join('\n', expected);
        Assert.Contains("put foo=bar -> 200 {\"header\":{\"cluster_id\":\"<cluster>\",\"member_id\":\"<member>\",\"revision\":\"2\",\"raft_term\":\"2\"}}", etcdText);
        Assert.Contains("range foo with a bad base64 key -> 400 {\"error\":\"illegal base64 data at input byte 4\"", etcdText);
        if (servers.Ours is null)
            return;
        var actual = await RunAsync(servers.Ours);
        var difference = Transcript.Difference(etcdText, string.Join('\n', actual));
        Assert.True(difference.Length == 0, difference + "\n--- ours ---\n" + string.Join('\n', actual) + "\n--- server log ---\n" + servers.Ours.LogTail());
    }

    /// <summary>Runs the calls against one member and returns one masked line per call.</summary>
    private static async Task<List<string>> RunAsync(MemberProcess member)
    {
        var url = member.ClientUrl;
        var lines = new List<string>();
        var status = await Curl.PostAsync(url + "/v3/maintenance/status", "{}");
        using (var doc = JsonDocument.Parse(status.Body))
        {
            var header = doc.RootElement.GetProperty("header");
            var mask = new Mask(header.GetProperty("member_id").GetString()!, header.GetProperty("cluster_id").GetString()!, member);
            async Task Call(string label, string path, string body, Func<JsonNode, JsonNode>? normalise = null)
            {
                var (code, answer) = await Curl.PostAsync(url + path, body);
                lines.Add($"{label} -> {code} {mask.Apply(answer, normalise)}");
            }

            await Call("put foo=bar", "/v3/kv/put", "{\"key\":\"Zm9v\",\"value\":\"YmFy\"}");
            await Call("put foo1=baz", "/v3/kv/put", "{\"key\":\"Zm9vMQ==\",\"value\":\"YmF6\"}");
            await Call("range foo", "/v3/kv/range", "{\"key\":\"Zm9v\"}");
            await Call("range [foo, fop) keys only", "/v3/kv/range", "{\"key\":\"Zm9v\",\"range_end\":\"Zm9w\",\"keys_only\":true}");
            await Call("range [foo, fop) limit 1 descending", "/v3/kv/range", "{\"key\":\"Zm9v\",\"range_end\":\"Zm9w\",\"limit\":1,\"sort_order\":\"DESCEND\"}");
            await Call("range with unknown fields", "/v3/kv/range", "{\"key\":\"Zm9v\",\"count_only\":true,\"not_a_field\":[1,2]}");
            await Call("range foo with a bad base64 key", "/v3/kv/range", "{\"key\":\"Zm9v!\"}");
            await Call("range with a short base64 key", "/v3/kv/range", "{\"key\":\"Zm9\"}");
            await Call("put without a key", "/v3/kv/put", "{\"value\":\"YmFy\"}");
            await Call("txn foo==bar then put and range", "/v3/kv/txn",
                "{\"compare\":[{\"key\":\"Zm9v\",\"result\":\"EQUAL\",\"target\":\"VALUE\",\"value\":\"YmFy\"}]," +
                "\"success\":[{\"request_put\":{\"key\":\"Zm9v\",\"value\":\"cXV4\"}},{\"request_range\":{\"key\":\"Zm9v\"}}]," +
                "\"failure\":[{\"request_delete_range\":{\"key\":\"Zm9v\"}}]}");
            await Call("txn version(foo)==0 fails", "/v3/kv/txn",
                "{\"compare\":[{\"key\":\"Zm9v\",\"target\":\"VERSION\",\"version\":\"0\"}],\"failure\":[{\"request_range\":{\"key\":\"Zm9vMQ==\"}}]}");
            await Call("lease grant", "/v3/lease/grant", "{\"TTL\":60,\"ID\":12345}");
            await Call("put with the lease", "/v3/kv/put", "{\"key\":\"bGVhc2Vk\",\"value\":\"dg==\",\"lease\":\"12345\"}");
            await Call("lease timetolive with keys", "/v3/lease/timetolive", "{\"ID\":12345,\"keys\":true}", MaskTtl);
            await Call("lease leases", "/v3/lease/leases", "{}");
            await Call("lease revoke", "/v3/lease/revoke", "{\"ID\":12345}");
            await Call("lease timetolive after revoke", "/v3/lease/timetolive", "{\"ID\":12345}");
            await Call("lease revoke again", "/v3/lease/revoke", "{\"ID\":12345}");
            await Call("range the leased key", "/v3/kv/range", "{\"key\":\"bGVhc2Vk\"}");
            await Call("member list", "/v3/cluster/member/list", "{}");
            await Call("status", "/v3/maintenance/status", "{}", MaskStatus);
            await Call("v3beta alias", "/v3beta/kv/range", "{\"key\":\"Zm9v\",\"count_only\":true}");

            // A watch on foo (curl keeps the stream open), then a put that it must receive.
            using var watch = Curl.Stream(url + "/v3/watch", "{\"create_request\":{\"key\":\"Zm9v\"}}");
            var created = await watch.WaitForLinesAsync(1, WatchDeadline);
            await Call("put foo=watched", "/v3/kv/put", "{\"key\":\"Zm9v\",\"value\":\"d2F0Y2hlZA==\"}");
            var events = await watch.WaitForLinesAsync(2, WatchDeadline);
            lines.Add("watch foo -> " + mask.Apply(events[0], null));
            lines.Add("watch foo -> " + mask.Apply(events[1], null));
        }
        return lines;
    }

    /// <summary>The remaining TTL may have ticked from 60 to 59 between grant and read: both are right.</summary>
    private static JsonNode MaskTtl(JsonNode node)
    {
        var ttl = long.Parse(node["TTL"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 58, 60);
        node["TTL"] = "<ttl>";
        return node;
    }

    /// <summary>Backend sizes (bbolt against SQLite) and Raft indexes (bootstrap entries) differ by design; they must be there.</summary>
    private static JsonNode MaskStatus(JsonNode node)
    {
        foreach (var field in new[] { "dbSize", "dbSizeInUse", "raftIndex", "raftAppliedIndex" })
        {
            Assert.NotNull(node[field]);
            node[field] = $"<{field}>";
        }
        return node;
    }

    /// <summary>Replaces one server's IDs and URLs by placeholders.</summary>
    private sealed class Mask(string memberId, string clusterId, MemberProcess member)
    {
        private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        public string Apply(string json, Func<JsonNode, JsonNode>? normalise)
        {
            var text = json;
            if (normalise is not null && JsonNode.Parse(json) is JsonObject node && node["error"] is null)
                text = normalise(node).ToJsonString(Relaxed);
            return text.Replace(memberId, "<member>", StringComparison.Ordinal)
                .Replace(clusterId, "<cluster>", StringComparison.Ordinal)
                .Replace(member.ClientUrl, "<client-url>", StringComparison.Ordinal)
                .Replace(member.PeerUrl, "<peer-url>", StringComparison.Ordinal);
        }
    }
}
