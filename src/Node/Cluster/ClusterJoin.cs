using Akka.Actor;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Cluster;

/// <summary>
/// How a member started with <c>--initial-cluster-state existing</c> and an empty data dir learns who it is, as etcd's
/// GetClusterFromRemotePeers does: it asks the other peers of <c>--initial-cluster</c> for their member list (a
/// <c>MemberListRequest</c> peer request through its peer actor, over Akka.Remote), then finds the entry whose peer URL
/// is its own <c>--initial-advertise-peer-urls</c> (added before with <c>etcdctl member add</c>). The peers answer only
/// a member whose address is one of theirs, so an operator who forgot <c>member add</c> gets a clear error.
/// </summary>
public static class ClusterJoin
{
    /// <summary>
    /// Asks each peer URL in turn (2 s each, up to <paramref name="attempts"/> rounds, 500 ms apart) and returns this
    /// member's ID, the cluster ID and every member's ID and peer URLs.
    /// </summary>
    /// <param name="peerActor">The ActorSystem's <see cref="PeerActor"/> (not attached to a member yet).</param>
    /// <param name="peerUrls">The other members' peer URLs from <c>--initial-cluster</c>.</param>
    /// <param name="ownPeerUrls">This member's advertised peer URLs.</param>
    /// <param name="logger">Where failed attempts are logged.</param>
    /// <param name="cancel">Cancels the lookup.</param>
    /// <param name="attempts">Rounds over every peer URL.</param>
    /// <exception cref="InvalidOperationException">No peer answered, or no listed member has our peer URL (add it first
    /// with <c>etcdctl member add</c>).</exception>
    public static async Task<(ulong MemberId, ulong ClusterId, IReadOnlyList<(ulong Id, IReadOnlyList<string> PeerUrls)> Members)> DiscoverAsync(
        IActorRef peerActor, IReadOnlyList<string> peerUrls, IReadOnlyList<string> ownPeerUrls, ILogger logger, CancellationToken cancel,
        int attempts = 10)
    {
        var own = new HashSet<string>(ownPeerUrls, StringComparer.Ordinal);
        var timeout = TimeSpan.FromSeconds(2);
        string? lastError = null;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            foreach (var url in peerUrls.Where(u => !own.Contains(u)))
            {
                try
                {
                    var answer = await peerActor.Ask<MemberListResponse>(new PeerProtocol.AskPeerUrl(url, new MemberListRequest(), timeout),
                        timeout + TimeSpan.FromSeconds(1), cancel).ConfigureAwait(false);
                    var clusterId = answer.Header.ClusterId;
                    var self = answer.Members.FirstOrDefault(m => m.PeerURLs.Any(own.Contains))
                        ?? throw new InvalidOperationException(
                            $"no member of cluster {clusterId:x16} has peer URLs {string.Join(",", ownPeerUrls)}; add it first with 'etcdctl member add'");
                    var members = answer.Members.Select(m => (m.ID, (IReadOnlyList<string>)m.PeerURLs.ToList())).ToList();
                    return (self.ID, clusterId, members);
                }
                catch (Exception ex) when (ex is EtcdException or AskTimeoutException)
                {
                    lastError = ex.Message;
                    logger.LogWarning("could not get cluster members from {peer}: {error}", url, ex.Message);
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancel).ConfigureAwait(false);
        }
        throw new InvalidOperationException("could not retrieve cluster information from the given URLs: " + string.Join(",", peerUrls)
            + (lastError is null ? "" : $" (last error: {lastError})"));
    }
}
