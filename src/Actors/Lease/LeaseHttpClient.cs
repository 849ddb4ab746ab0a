using System.Net;
using System.Net.Http.Headers;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// A forwarded lease call that failed in a way worth retrying (the leader is unreachable, not the primary yet, still
/// applying, or answered something unexpected), as etcd's <c>leasehttp</c> errors other than <c>ErrLeaseNotFound</c>.
/// </summary>
public sealed class LeaseForwardException : Exception
{
    /// <summary>Creates the error with etcd's text, e.g. <c>lease: unknown error(not a primary lessor)</c>.</summary>
    public LeaseForwardException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The follower's side of <see cref="LeaseHttpProtocol"/> (etcd's <c>leasehttp.RenewHTTP</c> and
/// <c>TimeToLiveHTTP</c>): one POST per call to a leader's peer URL, HTTP/1.1 over pooled keep-alive connections.
/// Thread-safe; one instance serves every call of the process (<see cref="Shared"/>).
/// </summary>
public sealed class LeaseHttpClient : IDisposable
{
    private static readonly MediaTypeHeaderValue Protobuf = new(LeaseHttpProtocol.ContentType);
    private readonly HttpClient _http;

    /// <summary>Creates a client over <paramref name="handler"/>, or over its own connection pool (connect timeout 1 s) if null.</summary>
    public LeaseHttpClient(HttpMessageHandler? handler = null)
    {
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(1),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>The process-wide client the member uses.</summary>
    public static LeaseHttpClient Shared { get; } = new();

    /// <summary>
    /// Renews lease <paramref name="id"/> on the leader reached at <paramref name="peerUrl"/> (POST
    /// <c>peerUrl + /leases</c>) and returns its TTL in seconds.
    /// </summary>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/>: the leader has no such lease (404).</exception>
    /// <exception cref="LeaseForwardException">Any other failure: unreachable, 408, 400, a malformed or mismatched answer.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired.</exception>
    public async Task<long> RenewAsync(string peerUrl, long id, CancellationToken cancel)
    {
        var body = await PostAsync(peerUrl, LeaseHttpProtocol.RenewPath, new LeaseKeepAliveRequest { ID = id }.ToByteArray(), cancel)
            .ConfigureAwait(false);
        LeaseKeepAliveResponse response;
        try
        {
            response = LeaseKeepAliveResponse.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new LeaseForwardException($"lease: {ex.Message}", ex);
        }
        if (response.ID != id)
        {
            throw new LeaseForwardException("lease: renew id mismatch");
        }
        return response.TTL;
    }

    /// <summary>
    /// Asks the leader reached at <paramref name="peerUrl"/> for lease <paramref name="request"/>.ID's remaining and
    /// granted TTL and, if asked, its keys (POST <c>peerUrl + /leases/internal</c>).
    /// </summary>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/>: the leader has no such lease (404).</exception>
    /// <exception cref="LeaseForwardException">Any other failure, as for <see cref="RenewAsync"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired.</exception>
    public async Task<LeaseTimeToLiveResponse> TimeToLiveAsync(string peerUrl, LeaseTimeToLiveRequest request, CancellationToken cancel)
    {
        var body = await PostAsync(peerUrl, LeaseHttpProtocol.TimeToLivePath, LeaseHttpProtocol.EncodeInternalRequest(request), cancel)
            .ConfigureAwait(false);
        LeaseTimeToLiveResponse response;
        try
        {
            response = LeaseHttpProtocol.DecodeInternalResponse(body);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new LeaseForwardException($"lease: {ex.Message}", ex);
        }
        if (response.ID != request.ID)
        {
            throw new LeaseForwardException("lease: renew id mismatch");
        }
        return response;
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private async Task<byte[]> PostAsync(string peerUrl, string path, byte[] payload, CancellationToken cancel)
    {
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = Protobuf;
        HttpResponseMessage response;
        byte[] body;
        try
        {
            response = await _http.PostAsync(peerUrl.TrimEnd('/') + path, content, cancel).ConfigureAwait(false);
            using (response)
            {
                body = await response.Content.ReadAsByteArrayAsync(cancel).ConfigureAwait(false);
            }
        }
        catch (HttpRequestException ex)
        {
            throw new LeaseForwardException($"lease: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new LeaseForwardException($"lease: {ex.Message}", ex);
        }
        catch (UriFormatException ex)
        {
            throw new LeaseForwardException($"lease: {ex.Message}", ex);
        }
        return response.StatusCode switch
        {
            HttpStatusCode.OK => body,
            HttpStatusCode.NotFound => throw EtcdErrors.LeaseNotFound,
            HttpStatusCode.RequestTimeout => throw new LeaseForwardException(LeaseHttpProtocol.ApplyTimeoutText),
            _ => throw new LeaseForwardException($"lease: unknown error({System.Text.Encoding.UTF8.GetString(body).TrimEnd()})"),
        };
    }
}
