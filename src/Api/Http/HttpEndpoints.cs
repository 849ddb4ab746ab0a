using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Api.Metrics;
using Akka.Etcd.Api.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.Etcd.Api.Http;

/// <summary>
/// The HTTP/1.1 endpoints etcd serves on the client port next to gRPC (and, with <c>--listen-metrics-urls</c>, on the
/// metrics port): the health probes of <see cref="HealthEndpoints"/> (<c>/health</c>, <c>/livez</c>, <c>/readyz</c>),
/// <c>GET /version</c> (<c>{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}</c>) and <c>GET /metrics</c> (Prometheus text
/// format with etcd's metric names, <see cref="MetricsEndpoints"/>).
/// </summary>
public static class HttpEndpoints
{
    /// <summary>
    /// Maps the endpoints of <paramref name="member"/> onto <paramref name="routes"/>; the health probes read through
    /// <paramref name="kv"/>; <paramref name="clusterView"/> (may be null) feeds the Akka cluster gauges.
    /// </summary>
    public static void Map(IEndpointRouteBuilder routes, MemberGateway member, KvService kv, IAkkaClusterView? clusterView = null)
    {
        MapVersion(routes);
        HealthEndpoints.Map(routes, member, kv);
        MetricsEndpoints.Map(routes, member, clusterView);
    }

    /// <summary>
    /// Maps what etcd serves on a <c>--listen-metrics-urls</c> listener: <c>/metrics</c> and the health probes
    /// (<c>/health</c>; <c>/livez</c> and <c>/readyz</c> as etcd 3.5+), not the gRPC services or <c>/version</c>.
    /// </summary>
    public static void MapMetricsListener(IEndpointRouteBuilder routes, MemberGateway member, KvService kv, IAkkaClusterView? clusterView = null)
    {
        HealthEndpoints.Map(routes, member, kv);
        MetricsEndpoints.Map(routes, member, clusterView);
    }

    /// <summary>
    /// Maps <c>/version</c> (served on the client and the peer port alike): GET answers the JSON as etcd 3.4's
    /// serveVersion does; other methods get etcd's 405 "Method Not Allowed" with <c>Allow: GET</c>.
    /// </summary>
    public static void MapVersion(IEndpointRouteBuilder routes) =>
        routes.Map("/version", context =>
        {
            if (!HttpMethods.IsGet(context.Request.Method))
                return HealthEndpoints.MethodNotAllowed(context);
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(
                $"{{\"etcdserver\":\"{LocalMember.ServerVersion}\",\"etcdcluster\":\"{LocalMember.ClusterVersion}\"}}", context.RequestAborted);
        });
}
