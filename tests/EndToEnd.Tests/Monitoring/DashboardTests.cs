using System.Diagnostics;
using System.Text.Json.Nodes;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Monitoring;

/// <summary>
/// The live dashboard (<c>/dashboard</c>) in headless Chromium against a 3-member akka-etcd cluster: the page shows the
/// leader and the member count; after SIGKILL of the leader it shows the new leader and the old one unreachable, without
/// a reload. Set <c>AKKA_ETCD_DASHBOARD_SCREENSHOT=path.png</c> to keep a screenshot of the healthy cluster.
/// </summary>
[Collection(Cluster.ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class DashboardTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PageDeadline = TimeSpan.FromSeconds(30);

    /// <summary>What the page shows: the header's figures and each member's role.</summary>
    private const string ReadPage = """
        JSON.stringify({
          leader: document.getElementById('leader-name').textContent,
          members: document.getElementById('member-count').textContent,
          reachable: document.getElementById('reachable-count').textContent,
          akkaUnavailable: !!document.getElementById('akka-unavailable'),
          akkaMembers: [...document.querySelectorAll('#akka-view tr[data-akka]')].length,
          clusterRate: parseFloat((document.getElementById('rate-total').textContent.match(/cluster: ([0-9.]+)/) || [0, '0'])[1]),
          roles: Object.fromEntries([...document.querySelectorAll('#raft-table tbody tr')].map(r => [r.dataset.member, r.dataset.role])),
          watchers: [...document.querySelectorAll('#watch-table tbody tr')].length
        })
        """;

    [Fact]
    public async Task The_page_shows_the_leader_and_the_members_and_follows_a_leader_kill()
    {
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, 3);
        try
        {
            var (leader, _, _) = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
            var etcdctl = cluster.Etcdctl();
            for (var i = 0; i < 10; i++)
                Assert.True((await etcdctl.RunAsync("put", $"dashboard/{i}", "x")).Succeeded);
            Assert.True((await etcdctl.RunAsync("lease", "grant", "300")).Succeeded);
            var viewer = cluster.Members.First(member => member != leader);

            await using var browser = await HeadlessChromium.StartAsync();
            await browser.NavigateAsync(viewer.ClientUrl + "/dashboard");
            // The Raft view, and beside it the Akka cluster view (which forms a few seconds after Raft elects) with the
            // three nodes.
            var healthy = await WaitForPageAsync(browser, page =>
                page["leader"]!.GetValue<string>() == leader.Name && page["members"]!.GetValue<string>() == "3"
                && page["reachable"]!.GetValue<string>() == "3 / 3"
                && !page["akkaUnavailable"]!.GetValue<bool>() && page["akkaMembers"]!.GetValue<int>() == 3);
            Assert.Equal("leader", healthy["roles"]![leader.Name]!.GetValue<string>());
            output.WriteLine("healthy: " + healthy.ToJsonString());

            // Requests made while the page is open show up as a cluster request rate (a 10 s window) within the deadline.
            for (var i = 0; i < 20; i++)
                Assert.True((await etcdctl.RunAsync("get", "dashboard/", "--prefix")).Succeeded);
            var busy = await WaitForPageAsync(browser, page => page["clusterRate"]!.GetValue<double>() > 0);
            output.WriteLine("with requests: " + busy.ToJsonString());
            if (Environment.GetEnvironmentVariable("AKKA_ETCD_DASHBOARD_SCREENSHOT") is { Length: > 0 } screenshot)
                await File.WriteAllBytesAsync(screenshot, await browser.ScreenshotAsync());

            leader.Kill();
            var failedOver = await WaitForPageAsync(browser, page =>
            {
                var shown = page["leader"]!.GetValue<string>();
                return shown != leader.Name && shown != "none" && page["reachable"]!.GetValue<string>() == "2 / 3"
                    && page["roles"]![leader.Name]?.GetValue<string>() == "unreachable";
            });
            output.WriteLine("after the kill: " + failedOver.ToJsonString());
            Assert.Equal("3", failedOver["members"]!.GetValue<string>());
            Assert.Equal("leader", failedOver["roles"]![failedOver["leader"]!.GetValue<string>()]!.GetValue<string>());
        }
        catch
        {
            output.WriteLine(cluster.LogTails(40));
            throw;
        }
    }

    /// <summary>Reads the page until <paramref name="shows"/> holds; throws with the last reading after <see cref="PageDeadline"/>.</summary>
    private static async Task<JsonNode> WaitForPageAsync(HeadlessChromium browser, Func<JsonNode, bool> shows)
    {
        var clock = Stopwatch.StartNew();
        JsonNode? last = null;
        while (clock.Elapsed < PageDeadline)
        {
            try
            {
                var text = (await browser.EvaluateAsync(ReadPage))?.GetValue<string>();
                last = text is null ? null : JsonNode.Parse(text);
                if (last is not null && shows(last))
                    return last;
            }
            catch (InvalidOperationException)
            {
                // The page is still loading (its elements are not there yet).
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the dashboard did not show the expected state within {PageDeadline}; last: {last?.ToJsonString()}");
    }
}
