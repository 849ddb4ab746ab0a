using System.Net;
using System.Text;
using System.Text.Json;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Operations;

/// <summary>
/// <see cref="IPeerHashKV"/> over the peer port, wire-compatible with etcd 3.4 (corrupt.go): <c>GET
/// peerUrl/members/hashkv</c> with the JSON body <c>{"revision":R}</c>, answered <c>{"header":{"revision":N},
/// "hash":H,"compact_revision":C}</c>, or 400 with the MVCC error text. Each peer's URLs are tried in turn; a peer none of
/// whose URLs answered gets the last error. Thread-safe; one HTTP/1.1 connection pool per instance.
/// </summary>
public sealed class PeerHashKVHttp : IPeerHashKV, IDisposable
{
    /// <summary>etcd's <c>PeerHashKVPath</c>.</summary>
    public const string Path = "/members/hashkv";

    private readonly Func<IReadOnlyList<Member>> _peers;
    private readonly ILogger _logger;
    private readonly ulong _localId;
    private readonly HttpClient _http;

    /// <summary>Creates the client.</summary>
    /// <param name="localId">This member's ID (left out of the peers).</param>
    /// <param name="members">The current member list (read at every call).</param>
    /// <param name="logger">Where "failed hash kv request" warnings go.</param>
    /// <param name="handler">The HTTP handler; its own pool (connect timeout 1 s) when null.</param>
    public PeerHashKVHttp(ulong localId, Func<IReadOnlyList<Member>> members, ILogger logger, HttpMessageHandler? handler = null)
    {
        _localId = localId;
        _peers = members;
        _logger = logger;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PeerHashKV>> HashKVOfPeersAsync(long revision, TimeSpan perPeerTimeout, CancellationToken cancel)
    {
        var peers = _peers().Where(m => m.ID != _localId && m.PeerURLs.Count > 0).ToList();
        var answers = await Task.WhenAll(peers.Select(peer => AskPeerAsync(peer, revision, perPeerTimeout, cancel))).ConfigureAwait(false);
        return answers;
    }

    /// <summary>Closes the connection pool.</summary>
    public void Dispose() => _http.Dispose();

    /// <summary>The request body etcd sends: <c>{"revision":R}</c>.</summary>
    public static string RequestJson(long revision) => "{\"revision\":" + revision + "}";

    /// <summary>The answer etcd's hashKVHandler writes: header revision, hash, compact revision (Go's encoding/json names).</summary>
    public static string ResponseJson(HashKVResponse response) =>
        $"{{\"header\":{{\"revision\":{response.Header?.Revision ?? 0}}},\"hash\":{response.Hash},\"compact_revision\":{response.CompactRevision}}}";

    /// <summary>Reads etcd's answer JSON (unknown fields are ignored).</summary>
    /// <exception cref="JsonException">Not JSON.</exception>
    public static HashKVResponse ParseResponse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var response = new HashKVResponse { Header = new ResponseHeader() };
        if (root.TryGetProperty("header", out var header))
        {
            if (header.TryGetProperty("revision", out var revision)) response.Header.Revision = revision.GetInt64();
            if (header.TryGetProperty("member_id", out var member)) response.Header.MemberId = member.GetUInt64();
        }
        if (root.TryGetProperty("hash", out var hash)) response.Hash = hash.GetUInt32();
        if (root.TryGetProperty("compact_revision", out var compact)) response.CompactRevision = compact.GetInt64();
        return response;
    }

    private async Task<PeerHashKV> AskPeerAsync(Member peer, long revision, TimeSpan timeout, CancellationToken cancel)
    {
        Exception? last = null;
        foreach (var url in peer.PeerURLs)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            deadline.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url.TrimEnd('/') + Path)
                {
                    Content = new StringContent(RequestJson(revision), Encoding.UTF8, "application/json"),
                };
                using var answer = await _http.SendAsync(request, deadline.Token).ConfigureAwait(false);
                var body = await answer.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
                if (answer.StatusCode == HttpStatusCode.OK)
                {
                    return new PeerHashKV(peer.ID, peer.PeerURLs, ParseResponse(body), null);
                }
                last = answer.StatusCode == HttpStatusCode.BadRequest && body.Contains("required revision has been compacted", StringComparison.Ordinal)
                    ? EtcdErrors.Compacted
                    : answer.StatusCode == HttpStatusCode.BadRequest && body.Contains("required revision is a future revision", StringComparison.Ordinal)
                        ? EtcdErrors.FutureRev
                        : new InvalidOperationException($"unknown error: {body.Trim()}");
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or InvalidOperationException
                                           || (ex is OperationCanceledException && !cancel.IsCancellationRequested))
            {
                last = ex;
            }
            _logger.LogWarning("failed hash kv request: local-member-id {local} requested-revision {revision} remote-peer-endpoint {endpoint} error {error}",
                _localId.ToString("x16"), revision, url, last!.Message);
        }
        return new PeerHashKV(peer.ID, peer.PeerURLs, null, last);
    }
}
