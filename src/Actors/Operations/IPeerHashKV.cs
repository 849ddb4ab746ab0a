using Etcdserverpb;

namespace Akka.Etcd.Actors.Operations;

/// <summary>
/// One peer's answer to "your HashKV at revision R" (etcd's peerHashKVResp): its member ID and peer URLs, and either
/// its <c>HashKVResponse</c> (header revision = the peer's current revision, hash, compact revision) or why there is none.
/// </summary>
/// <param name="MemberId">The peer's member ID.</param>
/// <param name="PeerUrls">The peer URLs it was asked at.</param>
/// <param name="Response">The answer, or null when every URL failed.</param>
/// <param name="Error">The last failure when <paramref name="Response"/> is null: EtcdErrors.Compacted / FutureRev when the
/// peer could not hash at that revision, anything else when it could not be reached.</param>
public sealed record PeerHashKV(ulong MemberId, IReadOnlyList<string> PeerUrls, HashKVResponse? Response, Exception? Error);

/// <summary>
/// How the corruption checks reach the other members: "ask every peer for its HashKV at revision R" (etcd's
/// getPeerHashKVs). The member's implementation is <see cref="RemotePeerHashKV"/> (a peer request over Akka.Remote,
/// where etcd uses <c>GET /members/hashkv</c> on its peer HTTP); an interface so the checks can be driven by a scripted
/// set of peers in tests. Implementations are thread-safe.
/// </summary>
public interface IPeerHashKV
{
    /// <summary>
    /// Asks every other member of the cluster for its HashKV at <paramref name="revision"/>, each within
    /// <paramref name="perPeerTimeout"/>; one entry per peer with peer URLs, in member list order. Never throws for a
    /// peer's failure (it is in the entry).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired.</exception>
    Task<IReadOnlyList<PeerHashKV>> HashKVOfPeersAsync(long revision, TimeSpan perPeerTimeout, CancellationToken cancel);
}
