using System.Text.Json;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Peer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.Etcd.Api.Http;

/// <summary>
/// HTTP/1.1 endpoints on the peer port: <c>GET /members</c> lists the cluster's members as JSON
/// (<c>[{"id":"hex","name":..,"peerURLs":[..],"clientURLs":[..],"isLearner":..}]</c>) with the cluster ID in the
/// <c>X-Etcd-Cluster-ID</c> header (hex), as etcd's peer handler does, so a member joining with
/// <c>--initial-cluster-state existing</c> learns its ID; <c>GET /version</c> as on the client port; <c>POST /leases</c> and <c>/leases/internal</c> for followers'
/// forwarded lease calls (<see cref="LeaseHttpEndpoints"/>); <c>GET /members/hashkv</c> for the corruption checks
/// (<see cref="PeerHashKVEndpoints"/>).
/// </summary>
public static class PeerHttpEndpoints
{
    /// <summary>
    /// Maps the endpoints onto <paramref name="routes"/>; <paramref name="member"/> gives the member at request time
    /// (throws while it is still opening its data dir: the request fails and the caller retries).
    /// </summary>
    public static void Map(IEndpointRouteBuilder routes, Func<EtcdServer> member)
    {
        routes.MapGet("/members", (HttpContext context) =>
        {
            var server = member();
            var members = server.MemberList().Members.Select(m => new Dictionary<string, object>
            {
                ["id"] = m.ID.ToString("x"),
                ["name"] = m.Name,
                ["peerURLs"] = m.PeerURLs.ToArray(),
                ["clientURLs"] = m.ClientURLs.ToArray(),
                ["isLearner"] = m.IsLearner,
            }).ToList();
            context.Response.Headers["X-Etcd-Cluster-ID"] = server.Status.ClusterId.ToString("x");
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(JsonSerializer.Serialize(members), context.RequestAborted);
        });
        HttpEndpoints.MapVersion(routes);
        LeaseHttpEndpoints.Map(routes, member);
        PeerHashKVEndpoints.Map(routes, member);
    }
}
