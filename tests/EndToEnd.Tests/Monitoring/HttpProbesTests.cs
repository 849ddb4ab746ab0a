using Akka.Etcd.EndToEnd.Tests.Harness;

namespace Akka.Etcd.EndToEnd.Tests.Monitoring;

/// <summary>
/// The plain-HTTP probes: <c>/version</c> and <c>/health</c> (with <c>?exclude=NOSPACE</c>) answer as Debian's etcd 3.4
/// does, byte for byte; <c>/livez</c>, <c>/readyz</c> and <c>/health?serializable=true</c> answer as etcd 3.5+ does;
/// <c>--listen-metrics-urls</c> opens a port of its own that serves <c>/metrics</c> and <c>/health</c> and nothing of
/// the client API, as etcd 3.4's does.
/// </summary>
[Collection(Cluster.ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class HttpProbesTests(ScenarioServers servers) : IClassFixture<ScenarioServers>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Version_and_health_answer_as_etcd_3_4()
    {
        var expected = await ProbeAsync(servers.Etcd.ClientUrl);
        Assert.StartsWith("GET /version -> 200 ", expected);
        Assert.Contains(" {\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}\nGET /health -> 200 ", expected);
        Assert.Contains(" {\"health\":\"true\"}\nGET /health?exclude=NOSPACE -> 200 ", expected);
        if (servers.Ours is null)
            return;
        var actual = await ProbeAsync(servers.Ours.ClientUrl);
        var difference = Transcript.Difference(expected, actual);
        Assert.True(difference.Length == 0, difference + "\n--- ours ---\n" + actual);
    }

    [Fact]
    public async Task Livez_readyz_and_serializable_health_answer_as_etcd_3_5()
    {
        if (servers.Ours is not { } ours)
            return;
        var url = ours.ClientUrl;
        Assert.Equal((200, "ok"), await GetAsync(url + "/livez"));
        Assert.Equal((200, "ok"), await GetAsync(url + "/readyz"));
        var (status, verbose) = await GetAsync(url + "/readyz?verbose");
        Assert.Equal(200, status);
        foreach (var check in new[] { "data_corruption", "serializable_read", "linearizable_read" })
            Assert.Contains($"[+]{check} ok", verbose);
        Assert.EndsWith("ok", verbose.TrimEnd());
        Assert.Equal((200, "ok"), await GetAsync(url + "/readyz/linearizable_read"));
        Assert.Equal((200, "ok"), await GetAsync(url + "/livez?exclude=serializable_read"));
        Assert.Equal((200, "{\"health\":\"true\"}"), await GetAsync(url + "/health?serializable=true"));
    }

    [Fact]
    public async Task Listen_metrics_urls_serves_metrics_and_health_on_a_port_of_its_own_as_etcd_3_4()
    {
        var transcripts = new Dictionary<ServerKind, string>();
        foreach (var kind in ServerKinds.UnderTest)
        {
            var metricsUrl = $"http://127.0.0.1:{LoopbackPorts.Free(1)[0]}";
            await using var cluster = await ClusterProcesses.StartAsync(kind, 1, ["--listen-metrics-urls", metricsUrl]);
            var lines = new List<string>();
            var (metricsStatus, metrics) = await GetAsync(metricsUrl + "/metrics");
            lines.Add($"GET /metrics -> {metricsStatus}, has etcd_server_has_leader 1: {metrics.Contains("\netcd_server_has_leader 1", StringComparison.Ordinal)}");
            foreach (var path in new[] { "/health", "/version", "/v3/kv/range" })
            {
                var (status, body) = await GetAsync(metricsUrl + path);
                lines.Add($"GET {path} -> {status} {(status == 200 ? body : "")}");
            }
            var (clientStatus, clientMetrics) = await GetAsync(cluster.Members[0].ClientUrl + "/metrics");
            lines.Add($"client port GET /metrics -> {clientStatus}, has etcd_server_has_leader: {clientMetrics.Contains("etcd_server_has_leader", StringComparison.Ordinal)}");
            transcripts[kind] = string.Join('\n', lines);
        }
        Assert.Equal("""
            GET /metrics -> 200, has etcd_server_has_leader 1: True
            GET /health -> 200 {"health":"true"}
            GET /version -> 404 
            GET /v3/kv/range -> 404 
            client port GET /metrics -> 200, has etcd_server_has_leader: True
            """, transcripts[ServerKind.Etcd]);
        if (transcripts.TryGetValue(ServerKind.Ours, out var ours))
            Assert.Equal(transcripts[ServerKind.Etcd], ours);
    }

    /// <summary>One line per probe: method, path, status, content type and body, for a side-by-side comparison.</summary>
    private static async Task<string> ProbeAsync(string url)
    {
        var lines = new List<string>();
        foreach (var (method, path) in new[]
                 {
                     ("GET", "/version"), ("GET", "/health"), ("GET", "/health?exclude=NOSPACE"), ("POST", "/health"), ("POST", "/version"),
                 })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), url + path);
            using var response = await Http.SendAsync(request);
            var body = (await response.Content.ReadAsStringAsync()).TrimEnd('\n');
            lines.Add($"{method} {path} -> {(int)response.StatusCode} {response.Content.Headers.ContentType} {body}");
        }
        return string.Join('\n', lines);
    }

    private static async Task<(int Status, string Body)> GetAsync(string url)
    {
        using var response = await Http.GetAsync(url);
        return ((int)response.StatusCode, (await response.Content.ReadAsStringAsync()).TrimEnd('\n'));
    }
}
