using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Cluster;

/// <summary>One member as listed by a peer's <c>GET /members</c> (the peer port's HTTP/1.1 side).</summary>
/// <param name="Id">Member ID in lowercase hex, as etcd prints it.</param>
/// <param name="Name">Member name (empty until the member published it).</param>
/// <param name="PeerUrls">Peer URLs.</param>
/// <param name="ClientUrls">Client URLs (empty until published).</param>
/// <param name="IsLearner">True for a learner.</param>
public sealed record PeerMemberInfo(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("peerURLs")] IReadOnlyList<string> PeerUrls,
    [property: JsonPropertyName("clientURLs")] IReadOnlyList<string> ClientUrls,
    [property: JsonPropertyName("isLearner")] bool IsLearner);

/// <summary>
/// How a member started with <c>--initial-cluster-state existing</c> and an empty data dir learns who it is,
/// as etcd's GetClusterFromRemotePeers does: it asks the other peers of <c>--initial-cluster</c> for their member
/// list (<c>GET /members</c>, cluster ID in the <c>X-Etcd-Cluster-ID</c> header), then finds the entry whose peer
/// URLs are its own <c>--initial-advertise-peer-urls</c> (added before with <c>etcdctl member add</c>).
/// </summary>
public static class ClusterJoin
{
    /// <summary>The response header carrying the cluster ID in hex.</summary>
    public const string ClusterIdHeader = "X-Etcd-Cluster-ID";

    /// <summary>
    /// Asks each peer URL in turn (2 s each, up to <paramref name="attempts"/> rounds) and returns this member's ID,
    /// the cluster ID and every member's ID and peer URLs.
    /// </summary>
    /// <exception cref="InvalidOperationException">No peer answered, or no listed member has our peer URLs
    /// (etcd: "member count is unequal" / "couldn't find local name"): add it first with <c>etcdctl member add</c>.</exception>
    public static async Task<(ulong MemberId, ulong ClusterId, IReadOnlyList<(ulong Id, IReadOnlyList<string> PeerUrls)> Members)> DiscoverAsync(IReadOnlyList<string> peerUrls,
        IReadOnlyList<string> ownPeerUrls, ILogger logger, CancellationToken cancel, int attempts = 10)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var own = new HashSet<string>(ownPeerUrls, StringComparer.Ordinal);
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            foreach (var url in peerUrls.Where(u => !own.Contains(u)))
            {
                try
                {
                    using var response = await http.GetAsync(url.TrimEnd('/') + "/members", cancel).ConfigureAwait(false);
                    response.EnsureSuccessStatusCode();
                    var members = await response.Content.ReadFromJsonAsync<List<PeerMemberInfo>>(cancel).ConfigureAwait(false) ?? new();
                    var clusterId = ulong.Parse(response.Headers.GetValues(ClusterIdHeader).First(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    var self = members.FirstOrDefault(m => m.PeerUrls.Any(own.Contains))
                        ?? throw new InvalidOperationException(
                            $"no member of cluster {clusterId:x16} has peer URLs {string.Join(",", ownPeerUrls)}; add it first with 'etcdctl member add'");
                    var peers = members.Select(m => (ulong.Parse(m.Id, NumberStyles.HexNumber, CultureInfo.InvariantCulture), m.PeerUrls)).ToList();
                    return (ulong.Parse(self.Id, NumberStyles.HexNumber, CultureInfo.InvariantCulture), clusterId, peers);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or FormatException or InvalidOperationException and not ObjectDisposedException)
                {
                    if (ex is InvalidOperationException && ex.Message.StartsWith("no member", StringComparison.Ordinal))
                    {
                        throw;
                    }
                    logger.LogWarning("could not get cluster members from {peer}: {error}", url, ex.Message);
                }
            }
            using var pause = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
            await pause.WaitForNextTickAsync(cancel).ConfigureAwait(false);
        }
        throw new InvalidOperationException("could not retrieve cluster information from the given URLs: " + string.Join(",", peerUrls));
    }
}
