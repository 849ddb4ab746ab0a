using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Operations;

/// <summary>
/// <see cref="IPeerHashKV"/> over the members' Akka.Remote peer requests (<see cref="IPeerRequests"/>): a
/// <c>HashKVRequest</c> with the revision goes to each peer's peer actor, whose member's <c>PeerRequestsActor</c> answers with its local
/// HashKV at that revision, without a read index (etcd 3.4 asks <c>GET peerUrl/members/hashkv</c> over its peer HTTP; the
/// question and answer are the same, the peer port here is Akka.Remote's). A peer's Compacted or FutureRev comes back
/// as <see cref="EtcdErrors.Compacted"/> / <see cref="EtcdErrors.FutureRev"/>; anything else (unknown member, timeout,
/// transport stopped) is "could not be reached". Thread-safe (no state of its own).
/// </summary>
public sealed class RemotePeerHashKV : IPeerHashKV
{
    private readonly ulong _localId;
    private readonly Func<IReadOnlyList<Member>> _members;
    private readonly IPeerRequests? _peers;
    private readonly ILogger _logger;

    /// <summary>Creates the client.</summary>
    /// <param name="localId">This member's ID (left out of the peers).</param>
    /// <param name="members">The current member list (read at every call).</param>
    /// <param name="peers">The peer transport's requests; null for a member without a transport (every peer then
    /// answers "peer transport not started").</param>
    /// <param name="logger">Where "failed hash kv request" warnings go (etcd's text).</param>
    public RemotePeerHashKV(ulong localId, Func<IReadOnlyList<Member>> members, IPeerRequests? peers, ILogger logger)
    {
        _localId = localId;
        _members = members;
        _peers = peers;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PeerHashKV>> HashKVOfPeersAsync(long revision, TimeSpan perPeerTimeout, CancellationToken cancel)
    {
        var peers = _members().Where(m => m.ID != _localId && m.PeerURLs.Count > 0).ToList();
        return await Task.WhenAll(peers.Select(peer => AskPeerAsync(peer, revision, perPeerTimeout, cancel))).ConfigureAwait(false);
    }

    private async Task<PeerHashKV> AskPeerAsync(Member peer, long revision, TimeSpan timeout, CancellationToken cancel)
    {
        Exception error;
        try
        {
            if (_peers is null)
            {
                throw new InvalidOperationException("peer transport not started");
            }
            var answer = await _peers.AskAsync(peer.ID, new HashKVRequest { Revision = revision }, timeout, cancel).ConfigureAwait(false);
            if (answer is HashKVResponse hash)
            {
                return new PeerHashKV(peer.ID, peer.PeerURLs, hash, null);
            }
            error = new InvalidOperationException($"unexpected answer {answer.Descriptor.FullName}");
        }
        catch (EtcdException ex) when (ex.Message == EtcdErrors.Compacted.Message)
        {
            error = EtcdErrors.Compacted;
        }
        catch (EtcdException ex) when (ex.Message == EtcdErrors.FutureRev.Message)
        {
            error = EtcdErrors.FutureRev;
        }
        catch (Exception ex) when (ex is EtcdException or InvalidOperationException or InvalidProtocolBufferException or TimeoutException
                                       || (ex is OperationCanceledException && !cancel.IsCancellationRequested))
        {
            error = ex;
        }
        _logger.LogWarning("failed hash kv request: local-member-id {local} requested-revision {revision} remote-peer-endpoint {endpoint} error {error}",
            _localId.ToString("x16"), revision, string.Join(",", peer.PeerURLs), error.Message);
        return new PeerHashKV(peer.ID, peer.PeerURLs, null, error);
    }
}
