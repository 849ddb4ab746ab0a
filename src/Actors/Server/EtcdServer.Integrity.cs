using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>Data integrity checks against the other members (etcd 3.4's etcdserver/corrupt.go).</summary>
public sealed partial class EtcdServer
{
    /// <summary>
    /// How this member asks the others for their HashKV: used by <see cref="CheckInitialHashKVAsync"/> and, the same
    /// instance, by the periodic <see cref="CorruptionCheckActor"/>. Chosen once in <c>OpenAsync</c>
    /// (<see cref="RemotePeerHashKV"/>: a peer request over Akka.Remote); disposed with the server when it is <see cref="IDisposable"/>.
    /// </summary>
    public IPeerHashKV PeerHashKV { get; }

    /// <summary>
    /// This member's own HashKV at <paramref name="revision"/> (0: the current one), without a read index: what a peer's
    /// corruption check asks for (etcd's hashKVHandler: <c>KV().HashByRev</c>). Errors: Compacted, FutureRev, Stopped.
    /// </summary>
    public Task<HashKVResponse> LocalHashKVAsync(long revision, CancellationToken cancel) =>
        ReadAsync<HashKVResponse>(new StoreProtocol.HashKV(new HashKVRequest { Revision = revision }), serializable: true, cancel);

    /// <summary>
    /// etcd's <c>CheckInitialHashKV</c> (<c>--experimental-initial-corrupt-check</c>), run by a restarted member before it
    /// serves clients: hashes the local keyspace at its current revision and asks every peer for its hash at that
    /// revision; a peer with the same compact revision and another hash is a mismatch. Peers that cannot answer (down,
    /// behind, compacted past it) are logged and skipped, as in etcd.
    /// </summary>
    /// <exception cref="InvalidOperationException">"MEMBER found data inconsistency with peers": the member must not serve.</exception>
    public async Task CheckInitialHashKVAsync(CancellationToken cancel)
    {
        var local = Status.MemberId.ToString("x16");
        _logger.LogInformation("starting initial corruption check: local-member-id {local} timeout {timeout}", local, _requestTimeout);
        var own = await LocalHashKVAsync(0, cancel).ConfigureAwait(false);
        var revision = own.Header.Revision;
        var peers = await PeerHashKV.HashKVOfPeersAsync(revision, _requestTimeout, cancel).ConfigureAwait(false);
        var mismatch = 0;
        foreach (var peer in peers)
        {
            if (peer.Response is { } response)
            {
                if (response.Hash == own.Hash)
                {
                    continue;
                }
                if (response.CompactRevision == own.CompactRevision)
                {
                    _logger.LogWarning("found different hash values from remote peer: local-member-id {local} local-member-revision {revision} "
                        + "local-member-compact-revision {compact} local-member-hash {hash} remote-peer-id {peer} remote-peer-revision {peerRevision} "
                        + "remote-peer-compact-revision {peerCompact} remote-peer-hash {peerHash}", local, revision, own.CompactRevision, own.Hash,
                        peer.MemberId.ToString("x16"), response.Header.Revision, response.CompactRevision, response.Hash);
                    mismatch++;
                }
                else
                {
                    _logger.LogWarning("found different compact revision values from remote peer: local-member-id {local} remote-peer-id {peer} "
                        + "local-member-compact-revision {compact} remote-peer-compact-revision {peerCompact}",
                        local, peer.MemberId.ToString("x16"), own.CompactRevision, response.CompactRevision);
                }
            }
            else if (peer.Error is EtcdException { Message: var message } && message == EtcdErrors.FutureRev.Message)
            {
                _logger.LogWarning("cannot fetch hash from slow remote peer: local-member-id {local} remote-peer-id {peer}", local, peer.MemberId.ToString("x16"));
            }
            else if (peer.Error is EtcdException { Message: var compacted } && compacted == EtcdErrors.Compacted.Message)
            {
                _logger.LogWarning("cannot fetch hash from remote peer; local member is behind: local-member-id {local} remote-peer-id {peer}",
                    local, peer.MemberId.ToString("x16"));
            }
        }
        if (mismatch > 0)
        {
            throw new InvalidOperationException($"{local} found data inconsistency with peers");
        }
        _logger.LogInformation("initial corruption checking passed; no corruption: local-member-id {local}", local);
    }
}
