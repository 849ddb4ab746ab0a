using System.Text;
using System.Text.Json;
using Akka.Etcd.Api.Http;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Akka.Etcd.Api.Gateway;

/// <summary>
/// etcd 3.4's JSON gateway (grpc-gateway) on the client port: <c>POST /v3/…</c> (and the <c>/v3beta/…</c> alias) with a
/// JSON request body, answered with the JSON of the gRPC response (<see cref="GatewayJson"/>), each call made as a real
/// gRPC call to this member (<see cref="GatewayChannel"/>), so requests pass the same checks and fail with the same
/// codes and texts as over gRPC. The HTTP status of a failure is grpc-gateway's for its code (<see cref="GatewayStatus"/>).
/// Streams (<c>/v3/watch</c>, <c>/v3/lease/keepalive</c>, <c>/v3/maintenance/snapshot</c>, <c>/v3/election/observe</c>)
/// answer one <c>{"result":…}</c> line per message, flushed as it comes; a client-streaming method reads the body as a
/// sequence of JSON requests and half-closes when the body ends (the watch stream then stays open, as etcd's). Headers:
/// <c>Authorization</c> goes on as the <c>authorization</c> metadata (the auth token, as etcd's gateway passes it),
/// <c>Grpc-Metadata-NAME</c> as <c>NAME</c>, <c>Grpc-Timeout</c> as the call's deadline; every answer carries etcd's
/// CORS headers (<c>--cors</c> default <c>*</c>) and <c>OPTIONS</c> answers 200. An unknown <c>/v3/</c> path is 404
/// "Not Found", another method than POST 405 "Method Not Allowed" (Go's http.Error texts).
/// </summary>
public static class GatewayEndpoints
{
    private const string JsonContentType = "application/json";

    /// <summary>Registers what the gateway needs (<see cref="GatewayChannel"/>); idempotent.</summary>
    public static IServiceCollection AddEtcdGateway(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<GatewayChannel>();
        return services;
    }

    /// <summary>Maps <c>/v3/{**path}</c> and <c>/v3beta/{**path}</c>; needs <see cref="AddEtcdGateway"/> on the same host.</summary>
    public static IEndpointRouteBuilder MapEtcdGateway(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var channel = endpoints.ServiceProvider.GetRequiredService<GatewayChannel>();
        RequestDelegate handler = context => HandleAsync(context, channel);
        endpoints.Map("/v3/{**path}", handler);
        endpoints.Map("/v3beta/{**path}", handler);
        return endpoints;
    }

    private static async Task HandleAsync(HttpContext context, GatewayChannel channel)
    {
        AddCorsHeaders(context.Response);
        if (HttpMethods.IsOptions(context.Request.Method))
            return;
        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/v3beta/", StringComparison.Ordinal))
            path = "/v3/" + path["/v3beta/".Length..];
        if (!GatewayRoutes.ByPath.TryGetValue(path, out var route))
        {
            await HealthEndpoints.GoHttpError(context, "Not Found", StatusCodes.Status404NotFound).ConfigureAwait(false);
            return;
        }
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await HealthEndpoints.GoHttpError(context, "Method Not Allowed", StatusCodes.Status405MethodNotAllowed).ConfigureAwait(false);
            return;
        }
        CallOptions options;
        try
        {
            options = CallOptionsFor(context);
        }
        catch (RpcException e)
        {
            await WriteErrorAsync(context, e.Status).ConfigureAwait(false);
            return;
        }
        var method = GatewayRoutes.GrpcMethod(route);
        try
        {
            if (route.ClientStreams)
                await DuplexAsync(context, channel.Invoker, method, route.Method.InputType, options).ConfigureAwait(false);
            else if (route.ServerStreams)
                await ServerStreamAsync(context, channel.Invoker, method, route.Method.InputType, options).ConfigureAwait(false);
            else
                await UnaryAsync(context, channel.Invoker, method, route.Method.InputType, options).ConfigureAwait(false);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or RpcException or IOException)
        {
            // The HTTP client went away; its gRPC call was cancelled with it.
        }
    }

    private static async Task UnaryAsync(HttpContext context, CallInvoker invoker, Method<IMessage, IMessage> method, MessageDescriptor input,
        CallOptions options)
    {
        IMessage request;
        try
        {
            request = GatewayJson.ParseRequest(input, await ReadBodyAsync(context.Request).ConfigureAwait(false));
        }
        catch (RpcException e)
        {
            await WriteErrorAsync(context, e.Status).ConfigureAwait(false);
            return;
        }
        IMessage response;
        try
        {
            using var call = invoker.AsyncUnaryCall(method, null, options, request);
            response = await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            await WriteErrorAsync(context, e.Status).ConfigureAwait(false);
            return;
        }
        SetSuccessHeaders(context.Response);
        await context.Response.WriteAsync(GatewayJson.Format(response), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task ServerStreamAsync(HttpContext context, CallInvoker invoker, Method<IMessage, IMessage> method,
        MessageDescriptor input, CallOptions options)
    {
        IMessage request;
        try
        {
            request = GatewayJson.ParseRequest(input, await ReadBodyAsync(context.Request).ConfigureAwait(false));
        }
        catch (RpcException e)
        {
            await WriteErrorAsync(context, e.Status).ConfigureAwait(false);
            return;
        }
        using var call = invoker.AsyncServerStreamingCall(method, null, options, request);
        await ForwardResponsesAsync(context, call.ResponseStream).ConfigureAwait(false);
    }

    private static async Task DuplexAsync(HttpContext context, CallInvoker invoker, Method<IMessage, IMessage> method,
        MessageDescriptor input, CallOptions options)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        using var call = invoker.AsyncDuplexStreamingCall(method, null, options.WithCancellationToken(cancel.Token));
        var requests = PumpRequestsAsync(context.Request.Body, input, call.RequestStream, cancel);
        await ForwardResponsesAsync(context, call.ResponseStream).ConfigureAwait(false);
        cancel.Cancel();
        await requests.ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the body as a sequence of JSON values, sends each as one request, and half-closes the call at the end of
    /// the body. A value that is not a valid request cancels the call, as grpc-gateway does ("Failed to decode request").
    /// </summary>
    private static async Task PumpRequestsAsync(Stream body, MessageDescriptor input, IClientStreamWriter<IMessage> requests,
        CancellationTokenSource cancel)
    {
        try
        {
            await foreach (var element in JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(body, topLevelValues: true,
                               cancellationToken: cancel.Token).ConfigureAwait(false))
            {
                await requests.WriteAsync(GatewayJson.ParseRequest(input, element.GetRawText()), cancel.Token).ConfigureAwait(false);
            }
            await requests.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or JsonException or InvalidOperationException)
        {
            cancel.Cancel();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The call ended or the client went away.
        }
    }

    /// <summary>
    /// Writes each response as a <c>{"result":…}</c> line, flushed; a failure after that is one <c>{"error":…}</c> object
    /// (no newline), with the failure's HTTP status when it comes before any message (grpc-gateway's ForwardResponseStream).
    /// </summary>
    private static async Task ForwardResponsesAsync(HttpContext context, IAsyncStreamReader<IMessage> responses)
    {
        var response = context.Response;
        var wrote = false;
        try
        {
            while (await responses.MoveNext(context.RequestAborted).ConfigureAwait(false))
            {
                if (!wrote)
                {
                    SetSuccessHeaders(response);
                    wrote = true;
                }
                await response.WriteAsync(GatewayJson.FormatStreamResult(responses.Current) + "\n", context.RequestAborted).ConfigureAwait(false);
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
            if (!wrote)
                SetSuccessHeaders(response);
        }
        catch (RpcException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            if (!wrote)
            {
                response.StatusCode = GatewayStatus.HttpStatusOf(e.StatusCode);
                response.ContentType = JsonContentType;
            }
            await response.WriteAsync(GatewayJson.FormatStreamError(e.Status), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static CallOptions CallOptionsFor(HttpContext context)
    {
        var metadata = new Metadata();
        DateTime? deadline = null;
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var value in values)
                    metadata.Add("authorization", value ?? "");
            }
            else if (name.StartsWith("Grpc-Metadata-", StringComparison.OrdinalIgnoreCase))
            {
                var key = name["Grpc-Metadata-".Length..].ToLowerInvariant();
                foreach (var value in values)
                {
                    if (key.EndsWith("-bin", StringComparison.Ordinal))
                        metadata.Add(key, DecodeBinaryHeader(key, value ?? ""));
                    else
                        metadata.Add(key, value ?? "");
                }
            }
            else if (name.Equals("Grpc-Timeout", StringComparison.OrdinalIgnoreCase))
            {
                deadline = DateTime.UtcNow + (TryParseTimeout(values.ToString(), out var timeout)
                    ? timeout
                    : throw new RpcException(new Status(StatusCode.InvalidArgument, $"invalid grpc-timeout: {values}")));
            }
        }
        return new CallOptions(metadata, deadline, context.RequestAborted);
    }

    /// <summary>A <c>Grpc-Timeout</c> value: up to 8 digits and a unit (H, M, S, m, u, n), as grpc-gateway's timeoutDecode.</summary>
    private static bool TryParseTimeout(string text, out TimeSpan timeout)
    {
        timeout = default;
        if (text.Length < 2 || text.Length > 9 || !long.TryParse(text.AsSpan(0, text.Length - 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var value))
            return false;
        long? ticks = text[^1] switch
        {
            'H' => value * TimeSpan.TicksPerHour,
            'M' => value * TimeSpan.TicksPerMinute,
            'S' => value * TimeSpan.TicksPerSecond,
            'm' => value * TimeSpan.TicksPerMillisecond,
            'u' => value * 10,
            'n' => value / 100,
            _ => null,
        };
        if (ticks is null)
            return false;
        timeout = TimeSpan.FromTicks(ticks.Value);
        return true;
    }

    private static byte[] DecodeBinaryHeader(string key, string value)
    {
        try
        {
            return Convert.FromBase64String(value.Length % 4 == 0 ? value : value.PadRight(value.Length + (4 - value.Length % 4) % 4, '='));
        }
        catch (FormatException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"invalid binary header {key}: {e.Message}"));
        }
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    private static void SetSuccessHeaders(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonContentType;
        response.Headers["Grpc-Metadata-Content-Type"] = "application/grpc";
    }

    private static Task WriteErrorAsync(HttpContext context, Status status)
    {
        context.Response.StatusCode = GatewayStatus.HttpStatusOf(status.StatusCode);
        context.Response.ContentType = JsonContentType;
        return context.Response.WriteAsync(GatewayJson.FormatError(status), context.RequestAborted);
    }

    /// <summary>etcd's CORS headers for the default <c>--cors=*</c> (embed/serve.go addCORSHeader).</summary>
    internal static void AddCorsHeaders(HttpResponse response)
    {
        response.Headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS, PUT, DELETE";
        response.Headers["Access-Control-Allow-Origin"] = "*";
        response.Headers["Access-Control-Allow-Headers"] = "accept, content-type, authorization";
    }
}
