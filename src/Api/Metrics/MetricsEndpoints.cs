using Akka.Actor;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Actors.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prometheus;

namespace Akka.Etcd.Api.Metrics;

/// <summary>
/// <c>GET /metrics</c>: every metric of <see cref="MetricsRegistry.Registry"/> in the Prometheus text exposition format
/// 0.0.4 (what etcd's promhttp handler serves), written by prometheus-net. Before each scrape the member's sampled figures
/// are refreshed: the mailbox depths of its main actors, the backend quota, and the Akka cluster gauges from the
/// <see cref="IAkkaClusterView"/> when one is registered.
/// </summary>
public static class MetricsEndpoints
{
    /// <summary>The content type of the Prometheus text format, as promhttp sends it.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Maps <c>GET /metrics</c> for <paramref name="server"/>; <paramref name="clusterView"/> may be null.</summary>
    public static void Map(IEndpointRouteBuilder routes, EtcdServer server, IAkkaClusterView? clusterView = null)
    {
        Describe(server);
        routes.MapGet("/metrics", async context =>
        {
            SampleMailboxes(server);
            if (clusterView is not null)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                timeout.CancelAfter(TimeSpan.FromSeconds(1));
                if (await clusterView.GetAsync(timeout.Token).ConfigureAwait(false) is { } state)
                    AkkaMetrics.Publish(state);
            }
            context.Response.ContentType = ContentType;
            await MetricsRegistry.Registry.CollectAndExportAsTextAsync(context.Response.Body, ExpositionFormat.PrometheusText, context.RequestAborted)
                .ConfigureAwait(false);
        });
    }

    /// <summary>Creates every metric and sets the member's constant ones (ID, version, quota); idempotent.</summary>
    public static void Describe(EtcdServer server)
    {
        MetricsRegistry.EnsureCreated();
        EtcdMetrics.DescribeMember(server.Status.MemberId, server.Options.EffectiveQuotaBytes, EtcdServer.ServerVersion, EtcdServer.ClusterVersion);
        EtcdMetrics.IsLearner.Set(server.Membership.Members.Any(member => member.ID == server.Status.MemberId && member.IsLearner) ? 1 : 0);
        GrpcMetricsInterceptor.DescribeEtcdMethods();
    }

    /// <summary>
    /// Samples the mailbox depth of the member's root actor (<c>member</c>), of each of its children by name (raft,
    /// store, lessor, watch, ... whatever the member runs) and of the Raft log's journal plugin (<c>journal</c>), read
    /// from the local actor cells.
    /// </summary>
    public static void SampleMailboxes(EtcdServer server)
    {
        var actors = new List<(string, IActorRef)> { ("member", server.Member), ("journal", server.JournalActor) };
        if (server.Member is ActorRefWithCell member)
            actors.AddRange(member.Underlying.ChildrenContainer.Children.Select(child => (child.Path.Name, (IActorRef)child)));
        AkkaMetrics.SampleMailboxes(actors);
    }
}
