using System.Text;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Services;
using Etcdserverpb;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.Etcd.Api.Http;

/// <summary>
/// etcd's health probes over HTTP/1.1 (etcdserver/api/etcdhttp): <c>GET /health</c> as etcd 3.4 serves it, plus the
/// probes of etcd 3.5+ (<c>/health?serializable=true</c>, <c>/livez</c>, <c>/readyz</c> and their per-check sub-paths).
/// Every answer counts in <c>etcd_server_health_success</c> / <c>etcd_server_health_failures</c> (for /health) and
/// <c>etcd_server_healthcheck</c> (for /livez and /readyz). Methods other than GET get 405 "Method Not Allowed".
/// </summary>
public static class HealthEndpoints
{
    private static readonly Prometheus.Gauge CheckResult = Prometheus.Metrics.WithCustomRegistry(MetricsRegistry.Registry)
        .CreateGauge("etcd_server_healthcheck", "The result of each kind of healthcheck.", ["type", "name"]);

    private static readonly Prometheus.Counter Checks = Prometheus.Metrics.WithCustomRegistry(MetricsRegistry.Registry)
        .CreateCounter("etcd_server_healthchecks_total", "The total number of each kind of healthcheck.", ["type", "name", "status"]);

    private delegate Task<string?> Check(Probed server, CancellationToken cancel);

    /// <summary>What the probes read: the member's gateway and its KV service (the reads are checked as a client's).</summary>
    private sealed record Probed(MemberGateway Member, KvService Kv);

    private static readonly (string Name, Check Run)[] LivezChecks = [("serializable_read", SerializableRead)];

    private static readonly (string Name, Check Run)[] ReadyzChecks =
    [
        ("data_corruption", DataCorruption), ("serializable_read", SerializableRead), ("linearizable_read", LinearizableRead),
    ];

    /// <summary>
    /// Maps the probes onto <paramref name="routes"/>:
    /// <list type="bullet">
    /// <item><c>/health</c> (etcd 3.4): 200 <c>{"health":"true"}</c>, or 503 <c>{"health":"false"}</c> (text/plain,
    /// as Go's http.Error) when an alarm is raised that <c>?exclude=NAME</c> (repeatable: NOSPACE, CORRUPT) does not
    /// exclude, when there is no leader, or when a quorum read through the log fails within 1 s.
    /// <c>?serializable=true</c> (etcd 3.5+): no leader needed and a local read instead of the quorum one.</item>
    /// <item><c>/livez</c> (etcd 3.5+): the serializable_read check; <c>/readyz</c> (etcd 3.5+): data_corruption
    /// (no CORRUPT alarm), serializable_read and linearizable_read. 200 <c>ok</c> (with <c>?verbose</c> each check's
    /// <c>[+]name ok</c> line first), or 503 with a <c>[-]name failed: reason</c> line per failed check;
    /// <c>?exclude=name</c> skips a check; <c>/livez/NAME</c> and <c>/readyz/NAME</c> run one check.</item>
    /// </list>
    /// </summary>
    /// <param name="routes">The listener's routes.</param>
    /// <param name="member">The member probed.</param>
    /// <param name="kv">Its KV service: the probes' reads are served as a client's range.</param>
    public static void Map(IEndpointRouteBuilder routes, MemberGateway member, KvService kv)
    {
        var server = new Probed(member, kv);
        routes.Map("/health", context => HealthAsync(context, server));
        MapChecks(routes, server, "livez", LivezChecks);
        MapChecks(routes, server, "readyz", ReadyzChecks);
    }

    private static async Task HealthAsync(HttpContext context, Probed server)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await MethodNotAllowed(context).ConfigureAwait(false);
            return;
        }
        var excluded = context.Request.Query["exclude"].Where(alarm => !string.IsNullOrEmpty(alarm)).Select(alarm => alarm!).ToHashSet(StringComparer.Ordinal);
        var serializable = context.Request.Query["serializable"] == "true";
        var healthy = await IsHealthyAsync(server, excluded, serializable, context.RequestAborted).ConfigureAwait(false);
        (healthy ? EtcdMetrics.HealthSuccesses : EtcdMetrics.HealthFailures).Inc();
        if (healthy)
        {
            // Go's ResponseWriter sniffs a JSON body as text/plain.
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("{\"health\":\"true\"}", context.RequestAborted).ConfigureAwait(false);
            return;
        }
        await GoHttpError(context, "{\"health\":\"false\"}", StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
    }

    private static async Task<bool> IsHealthyAsync(Probed server, HashSet<string> excludedAlarms, bool serializable, CancellationToken cancel)
    {
        if (!serializable && !server.Member.Status.HasLeader)
            return false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            // As etcd 3.4: a raised alarm (NOSPACE, CORRUPT; replicated through the log) makes the member unhealthy
            // unless excluded with ?exclude=NAME.
            foreach (var alarm in await MaintenanceService.ActiveAlarmsAsync(server.Member, timeout.Token).ConfigureAwait(false))
            {
                if (!excludedAlarms.Contains(AlarmName(alarm.Alarm)))
                    return false;
            }
            if (serializable)
                await server.Kv.RangeAsync(new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("health"), Serializable = true, KeysOnly = true, Limit = 1 }, timeout.Token).ConfigureAwait(false);
            else
                // etcd 3.4's QGET: a no-op entry through the log, answered once it is applied here.
                await server.Member.ProposeAsync(new InternalRaftRequest(), checkQuota: false, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    private static void MapChecks(IEndpointRouteBuilder routes, Probed server, string type, (string Name, Check Run)[] checks)
    {
        routes.Map("/" + type, context =>
        {
            var excluded = context.Request.Query["exclude"].ToHashSet(StringComparer.Ordinal);
            return RunChecksAsync(context, server, type, checks.Where(check => !excluded.Contains(check.Name)).ToArray());
        });
        foreach (var check in checks)
            routes.Map($"/{type}/{check.Name}", context => RunChecksAsync(context, server, type, [check]));
    }

    private static async Task RunChecksAsync(HttpContext context, Probed server, string type, (string Name, Check Run)[] checks)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await MethodNotAllowed(context).ConfigureAwait(false);
            return;
        }
        var report = new StringBuilder();
        var failed = false;
        foreach (var (name, run) in checks)
        {
            string? error;
            try
            {
                error = await run(server, context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                error = e.Message;
            }
            var status = error is null ? "success" : "error";
            CheckResult.WithLabels(type, name).Set(error is null ? 1 : 0);
            Checks.WithLabels(type, name, status).Inc();
            report.Append(error is null ? $"[+]{name} ok\n" : $"[-]{name} failed: {error}\n");
            failed |= error is not null;
        }
        if (failed)
        {
            await GoHttpError(context, report.ToString(), StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        var body = context.Request.Query.ContainsKey("verbose") ? report + "ok\n" : "ok\n";
        await context.Response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<string?> DataCorruption(Probed server, CancellationToken cancel) =>
        (await MaintenanceService.ActiveAlarmsAsync(server.Member, cancel).ConfigureAwait(false)).Any(alarm => alarm.Alarm == AlarmType.Corrupt)
            ? "alarm activated: CORRUPT" : null;

    private static Task<string?> SerializableRead(Probed server, CancellationToken cancel) => ReadAsync(server, serializable: true, cancel);

    private static Task<string?> LinearizableRead(Probed server, CancellationToken cancel) => ReadAsync(server, serializable: false, cancel);

    private static async Task<string?> ReadAsync(Probed server, bool serializable, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(server.Member.RequestTimeout);
        await server.Kv.RangeAsync(new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("health"), KeysOnly = true, Limit = 1, Serializable = serializable }, timeout.Token)
            .ConfigureAwait(false);
        return null;
    }

    /// <summary>etcd's alarm names as <c>?exclude=</c> takes them (AlarmType's proto enum names).</summary>
    private static string AlarmName(AlarmType alarm) => alarm switch
    {
        AlarmType.Nospace => "NOSPACE",
        AlarmType.Corrupt => "CORRUPT",
        _ => "NONE",
    };

    /// <summary>What etcd's <c>allowMethod</c> answers to a method other than GET: 405, <c>Allow: GET</c>, Go's <c>http.Error</c> text.</summary>
    internal static Task MethodNotAllowed(HttpContext context)
    {
        context.Response.Headers.Allow = "GET";
        return GoHttpError(context, "Method Not Allowed", StatusCodes.Status405MethodNotAllowed);
    }

    /// <summary>What Go's <c>http.Error</c> writes: the status, text/plain, nosniff, and the text with a newline.</summary>
    internal static Task GoHttpError(HttpContext context, string text, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }
}
