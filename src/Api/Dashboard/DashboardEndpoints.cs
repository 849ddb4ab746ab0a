using System.Net.Http.Json;
using System.Text.Json;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.Etcd.Api.Dashboard;

/// <summary>
/// The live cluster dashboard on the client port: <c>GET /dashboard</c> (one self-contained HTML page, inline CSS and
/// JS, no external assets), <c>GET /dashboard/member</c> (this member's <see cref="MemberReport"/>) and
/// <c>GET /dashboard/cluster</c> (<see cref="ClusterReport"/>: the member list, each member's report fetched from its
/// advertised client URL by this member, at most 1 s each and in parallel, and the Akka cluster view). The member
/// gathers rather than the browser, so the page needs to reach one member only (a port-forward, a proxy); when that
/// member goes away the page itself falls back to the other members' client URLs it has seen, which is why the JSON
/// answers carry CORS headers.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly HttpClient Peers = new() { Timeout = TimeSpan.FromSeconds(1) };
    private static readonly Lazy<string> Page = new(() =>
    {
        using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("Akka.Etcd.Api.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("the dashboard page is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>Maps the dashboard's routes; <paramref name="clusterView"/> null shows "cluster view not available".</summary>
    public static void Map(IEndpointRouteBuilder routes, MemberGateway server, IAkkaClusterView? clusterView)
    {
        var view = clusterView ?? AkkaClusterViewUnavailable.Instance;
        routes.MapGet("/dashboard", () => Results.Content(Page.Value, "text/html; charset=utf-8"));
        routes.MapGet("/dashboard/member", async context =>
        {
            GatewayEndpoints.AddCorsHeaders(context.Response);
            var report = await MemberReport.OfAsync(server, await ViewAsync(view, context.RequestAborted).ConfigureAwait(false), context.RequestAborted).ConfigureAwait(false);
            await context.Response.WriteAsJsonAsync(report, Json, context.RequestAborted).ConfigureAwait(false);
        });
        routes.MapGet("/dashboard/cluster", async context =>
        {
            GatewayEndpoints.AddCorsHeaders(context.Response);
            var report = await GatherAsync(server, view, context.RequestAborted).ConfigureAwait(false);
            await context.Response.WriteAsJsonAsync(report, Json, context.RequestAborted).ConfigureAwait(false);
        });
    }

    /// <summary>The cluster report: this member's own report plus every other member's, fetched from its client URL.</summary>
    public static async Task<ClusterReport> GatherAsync(MemberGateway server, IAkkaClusterView view, CancellationToken cancel)
    {
        var akka = await ViewAsync(view, cancel).ConfigureAwait(false);
        var self = server.Status.MemberId;
        var members = server.MemberList().Members.OrderBy(member => member.Name, StringComparer.Ordinal).ThenBy(member => member.ID).ToList();
        var reports = await Task.WhenAll(members.Select(async member =>
        {
            var id = member.ID.ToString("x");
            MemberReport? report = null;
            string? error = null;
            if (member.ID == self)
                report = await MemberReport.OfAsync(server, akka, cancel).ConfigureAwait(false);
            else
                (report, error) = await FetchAsync(member.ClientURLs, cancel).ConfigureAwait(false);
            return new ClusterMemberReport(id, member.Name, member.PeerURLs.ToArray(), member.ClientURLs.ToArray(), member.IsLearner, report, error);
        })).ConfigureAwait(false);
        return new ClusterReport(server.Status.ClusterId.ToString("x"), self.ToString("x"), reports, akka, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    private static async Task<(MemberReport?, string?)> FetchAsync(IEnumerable<string> clientUrls, CancellationToken cancel)
    {
        var url = clientUrls.FirstOrDefault(u => u.StartsWith("http://", StringComparison.Ordinal) || u.StartsWith("https://", StringComparison.Ordinal));
        if (url is null)
            return (null, "no http client URL published yet");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            var report = await Peers.GetFromJsonAsync<MemberReport>(url.TrimEnd('/') + "/dashboard/member", Json, timeout.Token).ConfigureAwait(false);
            return (report, report is null ? "empty answer" : null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException or JsonException)
        {
            return (null, "unreachable: " + (e is HttpRequestException { InnerException: { } inner } ? inner.Message : e.Message));
        }
    }

    private static async Task<AkkaClusterState?> ViewAsync(IAkkaClusterView view, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            return await view.GetAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return null;
        }
    }
}
