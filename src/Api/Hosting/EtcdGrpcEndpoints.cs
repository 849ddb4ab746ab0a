using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// How our services sit on Grpc.AspNetCore, whichever listener maps them: <see cref="AddEtcdGrpc"/> once per host,
/// <see cref="MapEtcdGrpcService{TService}"/> per service (with the listener's receive limit) and
/// <see cref="MapEtcdGrpcFallback"/> once per host for the methods nobody serves, answered as grpc-go (etcd) does.
/// </summary>
public static class EtcdGrpcEndpoints
{
    /// <summary>
    /// Adds Grpc.AspNetCore with what every etcd service needs: <see cref="EtcdErrorInterceptor"/> (etcd's error codes and
    /// texts), no receive limit of its own (each mapped service gets its listener's, see
    /// <see cref="MapEtcdGrpcService{TService}"/>), no send limit (as etcd), and unknown services and methods left to
    /// <see cref="MapEtcdGrpcFallback"/>. Idempotent enough to call for each API on one host.
    /// </summary>
    public static IGrpcServerBuilder AddEtcdGrpc(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = null;
            options.MaxSendMessageSize = null;
            options.IgnoreUnknownServices = true;
            if (!options.Interceptors.Any(i => i.Type == typeof(EtcdErrorInterceptor)))
                options.Interceptors.Add<EtcdErrorInterceptor>();
        });
    }

    /// <summary>
    /// Maps a gRPC service (a class deriving from a generated <c>…Base</c>, activated from DI: register it as a singleton
    /// to share one instance) whose request messages may be at most <see cref="GrpcServerOptions.MaxReceiveMessageBytes"/>
    /// long: a longer one is refused from its 5-byte prefix with RESOURCE_EXHAUSTED "grpc: received message larger than
    /// max (N vs. M)", grpc-go's text, before its body is buffered.
    /// </summary>
    public static GrpcServiceEndpointConventionBuilder MapEtcdGrpcService<TService>(this IEndpointRouteBuilder endpoints, GrpcServerOptions limits)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(limits);
        var maxMessageBytes = limits.MaxReceiveMessageBytes;
        var service = endpoints.MapGrpcService<TService>();
        service.Add(endpoint =>
        {
            if (endpoint.RequestDelegate is not { } inner)
                return;
            endpoint.RequestDelegate = context =>
            {
                var body = context.Request.BodyReader;
                context.Features.Set<IRequestBodyPipeFeature>(new LimitedRequestBody(new GrpcReceiveLimitReader(body, maxMessageBytes)));
                return inner(context);
            };
        });
        return service;
    }

    /// <summary>
    /// Answers every request no other endpoint took: a gRPC one (content type <c>application/grpc…</c>) with a
    /// trailers-only UNIMPLEMENTED and grpc-go's text ("unknown service etcdserverpb.Auth", "unknown method Foo for
    /// service etcdserverpb.KV", "malformed method name: …"), anything else with 404. Map it once per host, after the
    /// services (its route has the lowest priority whatever the order).
    /// </summary>
    public static IEndpointConventionBuilder MapEtcdGrpcFallback(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = new Lazy<HashSet<string>>(() => endpoints.DataSources
            .SelectMany(source => source.Endpoints)
            .Select(endpoint => endpoint.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.ServiceName)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal));
        return endpoints.MapFallback("{**path}", context =>
        {
            if (!IsGrpcContentType(context.Request.ContentType))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            var path = context.Request.Path.Value ?? string.Empty;
            var message = !TrySplitPath(path, out var service, out var method) ? $"malformed method name: \"{path}\""
                : services.Value.Contains(service) ? $"unknown method {method} for service {service}"
                : $"unknown service {service}";
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = GrpcContentType;
            response.Headers["grpc-status"] = ((int)StatusCode.Unimplemented).ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["grpc-message"] = EncodeStatusMessage(message);
            return Task.CompletedTask;
        });
    }

    private const string GrpcContentType = "application/grpc";

    /// <summary>
    /// True for <c>application/grpc</c> and its sub-types such as <c>application/grpc+proto</c> (case-insensitive,
    /// parameters after ';' allowed), as grpc/doc/PROTOCOL-HTTP2.md names them.
    /// </summary>
    internal static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase))
            return false;
        return contentType.Length == GrpcContentType.Length || contentType[GrpcContentType.Length] is '+' or ';';
    }

    /// <summary>
    /// The <c>grpc-message</c> encoding of grpc/doc/PROTOCOL-HTTP2.md: UTF-8, every byte outside printable ASCII and
    /// '%' itself as "%XX" (upper-case hex).
    /// </summary>
    internal static string EncodeStatusMessage(string message)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(message);
        var text = new System.Text.StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E || b == (byte)'%')
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            else
                text.Append((char)b);
        }
        return text.ToString();
    }

    /// <summary>Splits <c>/svc/method</c> into its parts; false when the path is not of that shape.</summary>
    internal static bool TrySplitPath(string path, out string service, out string method)
    {
        service = method = string.Empty;
        if (path.Length < 4 || path[0] != '/')
            return false;
        var slash = path.IndexOf('/', 1);
        if (slash <= 1 || slash == path.Length - 1 || path.IndexOf('/', slash + 1) >= 0)
            return false;
        service = path[1..slash];
        method = path[(slash + 1)..];
        return true;
    }

    private sealed class LimitedRequestBody(System.IO.Pipelines.PipeReader reader) : IRequestBodyPipeFeature
    {
        public System.IO.Pipelines.PipeReader Reader { get; } = reader;
    }
}
