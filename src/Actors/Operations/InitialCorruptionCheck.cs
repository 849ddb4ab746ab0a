using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Operations;

/// <summary>
/// The data integrity check a restarted member runs against the other members before it serves clients (etcd 3.4's
/// etcdserver/corrupt.go <c>CheckInitialHashKV</c>); the periodic check is the <see cref="CorruptionCheckActor"/>.
/// </summary>
public static class InitialCorruptionCheck
{
    /// <summary>
    /// etcd's <c>CheckInitialHashKV</c> (<c>--experimental-initial-corrupt-check</c>), run by a restarted member before it
    /// serves clients: hashes the local keyspace at its current revision and asks every peer for its hash at that
    /// revision; a peer with the same compact revision and another hash is a mismatch. Peers that cannot answer (down,
    /// behind, compacted past it) are logged and skipped, as in etcd.
    /// </summary>
    /// <param name="member">The restarted member, before it serves clients.</param>
    /// <param name="peerHashKV">How the other members are asked (<see cref="LocalMember.PeerHashKV"/>).</param>
    /// <param name="cancel">Gives up.</param>
    /// <exception cref="InvalidOperationException">"MEMBER found data inconsistency with peers": the member must not serve.</exception>
    public static async Task RunAsync(MemberGateway member, IPeerHashKV peerHashKV, CancellationToken cancel)
    {
        var logger = member.Loggers.CreateLogger("etcdserver/server");
        var local = member.Status.MemberId.ToString("x16");
        logger.LogInformation("starting initial corruption check: local-member-id {local} timeout {timeout}", local, member.RequestTimeout);
        // etcd's hashKVHandler: the local KV().HashByRev, without a read index.
        var own = await member.ReadAsync<HashKVResponse>(new StoreProtocol.HashKV(new HashKVRequest()), serializable: true, cancel).ConfigureAwait(false);
        var revision = own.Header.Revision;
        var peers = await peerHashKV.HashKVOfPeersAsync(revision, member.RequestTimeout, cancel).ConfigureAwait(false);
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
                    logger.LogWarning("found different hash values from remote peer: local-member-id {local} local-member-revision {revision} "
                        + "local-member-compact-revision {compact} local-member-hash {hash} remote-peer-id {peer} remote-peer-revision {peerRevision} "
                        + "remote-peer-compact-revision {peerCompact} remote-peer-hash {peerHash}", local, revision, own.CompactRevision, own.Hash,
                        peer.MemberId.ToString("x16"), response.Header.Revision, response.CompactRevision, response.Hash);
                    mismatch++;
                }
                else
                {
                    logger.LogWarning("found different compact revision values from remote peer: local-member-id {local} remote-peer-id {peer} "
                        + "local-member-compact-revision {compact} remote-peer-compact-revision {peerCompact}",
                        local, peer.MemberId.ToString("x16"), own.CompactRevision, response.CompactRevision);
                }
            }
            else if (peer.Error is EtcdException { Message: var message } && message == EtcdErrors.FutureRev.Message)
            {
                logger.LogWarning("cannot fetch hash from slow remote peer: local-member-id {local} remote-peer-id {peer}", local, peer.MemberId.ToString("x16"));
            }
            else if (peer.Error is EtcdException { Message: var compacted } && compacted == EtcdErrors.Compacted.Message)
            {
                logger.LogWarning("cannot fetch hash from remote peer; local member is behind: local-member-id {local} remote-peer-id {peer}",
                    local, peer.MemberId.ToString("x16"));
            }
        }
        if (mismatch > 0)
        {
            throw new InvalidOperationException($"{local} found data inconsistency with peers");
        }
        logger.LogInformation("initial corruption checking passed; no corruption: local-member-id {local}", local);
    }
}
