using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Akka.Etcd.Api.Peer;

/// <summary>
/// The leader's side of <see cref="LeaseHttpProtocol"/> on the peer port (etcd's <c>leasehttp.NewHandler</c>):
/// <c>POST /leases</c> renews a lease for a follower's keep-alive, <c>POST /leases/internal</c> answers a follower's
/// time-to-live query. Any member serves them from its own lessor; a member whose lessor is not the primary answers
/// 400 to a renew, and the follower tries again. Status codes and texts as etcd: 404 "lease not found", 408 when the
/// applied index does not catch up within 1 s, 400 for a body that does not parse, 405 for other methods.
/// Thread-safe (every request is one call into <see cref="EtcdServer"/>).
/// </summary>
public static class LeaseHttpEndpoints
{
    /// <summary>
    /// Maps both paths onto <paramref name="routes"/> (the peer listener's HTTP side); <paramref name="server"/> gives the
    /// member at request time (the peer listener may accept a request before the member has opened its data dir: that
    /// request fails and the follower retries).
    /// </summary>
    public static void Map(IEndpointRouteBuilder routes, Func<EtcdServer> server)
    {
        routes.Map(LeaseHttpProtocol.RenewPath, context => ServeAsync(context, async (body, cancel) =>
        {
            var request = LeaseKeepAliveRequest.Parser.ParseFrom(body);
            var ttl = await server().RenewForwardedLeaseAsync(request.ID, cancel).ConfigureAwait(false);
            return new LeaseKeepAliveResponse { ID = request.ID, TTL = ttl }.ToByteArray();
        }));
        routes.Map(LeaseHttpProtocol.TimeToLivePath, context => ServeAsync(context, async (body, cancel) =>
        {
            var request = LeaseHttpProtocol.DecodeInternalRequest(body);
            var response = await server().ForwardedLeaseTimeToLiveAsync(request, cancel).ConfigureAwait(false);
            return LeaseHttpProtocol.EncodeInternalResponse(response);
        }));
    }

    private static async Task ServeAsync(HttpContext context, Func<byte[], CancellationToken, Task<byte[]>> serve)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Method Not Allowed").ConfigureAwait(false);
            return;
        }
        var cancel = context.RequestAborted;
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, cancel).ConfigureAwait(false);
            body = buffer.ToArray();
        }
        catch (IOException)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "error reading body").ConfigureAwait(false);
            return;
        }

        byte[] answer;
        try
        {
            answer = await serve(body, cancel).ConfigureAwait(false);
        }
        catch (InvalidProtocolBufferException)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "error unmarshalling request").ConfigureAwait(false);
            return;
        }
        catch (TimeoutException)
        {
            await WriteErrorAsync(context, StatusCodes.Status408RequestTimeout, LeaseHttpProtocol.ApplyTimeoutText).ConfigureAwait(false);
            return;
        }
        catch (EtcdException ex) when (ex.Message == EtcdErrors.LeaseNotFound.Message)
        {
            await WriteErrorAsync(context, StatusCodes.Status404NotFound, LeaseHttpProtocol.LeaseNotFoundText).ConfigureAwait(false);
            return;
        }
        catch (EtcdException ex) when (ex.Message == EtcdErrors.NotLeader.Message)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, LeaseHttpProtocol.NotPrimaryText).ConfigureAwait(false);
            return;
        }
        catch (EtcdException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, ex.Message).ConfigureAwait(false);
            return;
        }
        context.Response.ContentType = LeaseHttpProtocol.ContentType;
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, cancel).ConfigureAwait(false);
    }

    /// <summary>Writes an error as Go's <c>http.Error</c> does: plain text with a trailing newline.</summary>
    private static Task WriteErrorAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }
}
