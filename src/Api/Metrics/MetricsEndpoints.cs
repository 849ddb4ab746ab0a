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

    /// <summary>Maps <c>GET /metrics</c> for <paramref name="member"/>; <paramref name="clusterView"/> may be null.</summary>
    public static void Map(IEndpointRouteBuilder routes, MemberGateway member, IAkkaClusterView? clusterView = null)
    {
        Describe(member);
        routes.MapGet("/metrics", async context =>
        {
            SampleMailboxes(member);
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
    public static void Describe(MemberGateway member)
    {
        MetricsRegistry.EnsureCreated();
        EtcdMetrics.DescribeMember(member.Status.MemberId, member.Options.EffectiveQuotaBytes, LocalMember.ServerVersion, LocalMember.ClusterVersion);
        EtcdMetrics.IsLearner.Set(member.IsLearner ? 1 : 0);
        GrpcMetricsInterceptor.DescribeEtcdMethods();
    }

    /// <summary>
    /// Samples the mailbox depth of the member's root actor (<c>member</c>), of each of its children by name (raft,
    /// store, lessor, watch, ... whatever the member runs) and of the Raft log's journal plugin (<c>journal</c>), read
    /// from the local actor cells.
    /// </summary>
    public static void SampleMailboxes(MemberGateway member)
    {
        var root = member.Actors.Member;
        var actors = new List<(string, IActorRef)> { ("member", root), ("journal", member.Actors.Journal) };
        if (root is ActorRefWithCell cell)
            actors.AddRange(cell.Underlying.ChildrenContainer.Children.Select(child => (child.Path.Name, (IActorRef)child)));
        AkkaMetrics.SampleMailboxes(actors);
    }
}
