using System.Text.Json;
using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.Etcd.Api.Http;

/// <summary>
/// The peer port's <c>GET /members/hashkv</c> (etcd 3.4's hashKVHandler, corrupt.go): the body <c>{"revision":R}</c>,
/// the answer this member's HashKV at R as JSON (<see cref="PeerHashKVHttp.ResponseJson"/>) with the cluster ID in
/// <c>X-Etcd-Cluster-ID</c>; a bad body or a revision that cannot be hashed (compacted, future) is a 400 with the error
/// text, which the asking member maps back. What <see cref="PeerHashKVHttp"/> calls.
/// </summary>
public static class PeerHashKVEndpoints
{
    /// <summary>Maps the route; <paramref name="member"/> gives the member at request time.</summary>
    public static void Map(IEndpointRouteBuilder routes, Func<EtcdServer> member)
    {
        routes.MapGet(PeerHashKVPath, async (HttpContext context) =>
        {
            var server = member();
            long revision;
            try
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
                revision = body.RootElement.TryGetProperty("revision", out var value) ? value.GetInt64() : 0;
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("error unmarshalling request\n", context.RequestAborted);
                return;
            }
            HashKVResponse hash;
            try
            {
                hash = await server.LocalHashKVAsync(revision, context.RequestAborted);
            }
            catch (EtcdException ex)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync(ex.Message.Replace("etcdserver: ", "", StringComparison.Ordinal) + "\n", context.RequestAborted);
                return;
            }
            context.Response.Headers["X-Etcd-Cluster-ID"] = server.Status.ClusterId.ToString("x");
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(PeerHashKVHttp.ResponseJson(hash), context.RequestAborted);
        });
    }

    private const string PeerHashKVPath = PeerHashKVHttp.Path;
}
