using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary><c>etcdctl endpoint status</c> and <c>endpoint health</c> in each output format.</summary>
[Trait("Category", "EndToEnd")]
public sealed class EndpointScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    [Fact]
    public async Task Endpoint_status_and_health()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            await s.RunAsync("put", "ep/k", "v");
            await s.RunAsync("endpoint", "status");
            await s.RunAsync("endpoint", "status", "-w", "table");
            await s.RunAsync("endpoint", "status", "-w", "json");
            await s.RunAsync("endpoint", "status", "-w", "fields");
            await s.RunAsync("endpoint", "health");
            await s.RunAsync("endpoint", "health", "-w", "json");
            await s.RunAsync("endpoint", "health", "-w", "table");
        }, etcd =>
        {
            Assert.Contains("http://ADDR, HEXID, 3.4.23, SIZE, true, false, N", etcd.Replace(", 2,", ", N,"));
            Assert.Contains("| ENDPOINT | ID | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |", etcd);
            Assert.Contains("\"version\":\"3.4.23\",\"dbSize\":SIZE,\"leader\":N", etcd);
            Assert.Contains("\"IsLearner\" : false", etcd);
            Assert.Contains("\"Errors\" : []", etcd);
            Assert.Contains("http://ADDR is healthy: successfully committed proposal: took = T\nrc=0\n", etcd);
            Assert.Contains("[{\"endpoint\":\"http://ADDR\",\"health\":true,\"took\":\"T\"}]", etcd);
            Assert.Contains("| http://ADDR | true | T |  |", etcd);
        });
        output.WriteLine(transcript);
    }
}
