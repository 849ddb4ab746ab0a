using System.Text;
using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.Etcd.Api.Http;

/// <summary>
/// The HTTP/1.1 endpoints etcd serves on the client port next to gRPC: <c>GET /health</c>
/// (etcd 3.4: <c>{"health":"true"}</c>, 503 with <c>"false"</c> when there is no leader, an alarm is raised (unless
/// named in <c>?exclude=NOSPACE</c>) or a read fails), <c>GET /version</c> (<c>{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}</c>) and
/// <c>GET /metrics</c> (Prometheus text format with etcd's metric names).
/// </summary>
public static class HttpEndpoints
{
    /// <summary>Maps the endpoints onto <paramref name="routes"/>.</summary>
    public static void Map(IEndpointRouteBuilder routes, EtcdServer server)
    {
        MapVersion(routes);
        routes.MapGet("/health", async (HttpContext context) =>
        {
            var healthy = await IsHealthyAsync(server, context.Request.Query["serializable"] == "true",
                context.Request.Query["exclude"].Where(name => name is not null).ToHashSet(StringComparer.Ordinal)!, context.RequestAborted);
            context.Response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(healthy ? "{\"health\":\"true\"}" : "{\"health\":\"false\"}", context.RequestAborted);
        });
        routes.MapGet("/metrics", (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(Metrics(server), context.RequestAborted);
        });
    }

    /// <summary>Maps <c>GET /version</c> (served on the client and the peer port alike).</summary>
    public static void MapVersion(IEndpointRouteBuilder routes) =>
        routes.MapGet("/version", () => Results.Text(
            $"{{\"etcdserver\":\"{EtcdServer.ServerVersion}\",\"etcdcluster\":\"{EtcdServer.ClusterVersion}\"}}",
            "application/json"));

    private static async Task<bool> IsHealthyAsync(EtcdServer server, bool serializable, IReadOnlySet<string> excludedAlarms, CancellationToken cancel)
    {
        if (!server.Status.HasLeader)
        {
            return false;
        }
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            // As etcd 3.4: a raised alarm (NOSPACE, CORRUPT) makes the member unhealthy unless excluded with ?exclude=NAME.
            var alarms = await server.ActiveAlarmsAsync(timeout.Token);
            if (alarms.Any(alarm => !excludedAlarms.Contains(alarm.Alarm.ToString().ToUpperInvariant())))
            {
                return false;
            }
            if (serializable)
            {
                await server.RangeAsync(new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("health"), Serializable = true }, timeout.Token);
            }
            else
            {
                // As etcd 3.4: a quorum request through the log.
                await server.QuorumNoopAsync(timeout.Token);
            }
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static string Metrics(EtcdServer server)
    {
        var status = server.Status;
        var text = new StringBuilder();
        void Gauge(string name, string help, double value, string type = "gauge")
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            text.Append(name).Append(' ').Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        Gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.", status.HasLeader ? 1 : 0);
        Gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.", status.IsLeader ? 1 : 0);
        Gauge("etcd_server_leader_changes_seen_total", "The number of leader changes seen.", status.LeaderChangesSeen, "counter");
        Gauge("etcd_server_proposals_committed_total", "The total number of consensus proposals committed.", status.CommitIndex);
        Gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.", status.AppliedIndex);
        Gauge("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.", server.DbSizeBytes);
        Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", Environment.WorkingSet);
        return text.ToString();
    }
}
