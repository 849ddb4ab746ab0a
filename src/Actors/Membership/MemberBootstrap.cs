using Akka.Etcd.Actors.Server;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Membership;

/// <summary>
/// The identity a member starts with, derived from <c>--initial-cluster</c> and
/// <c>--initial-cluster-token</c> exactly as etcd derives it (see <see cref="MemberIdentity"/>).
/// </summary>
/// <param name="MemberId">This member's ID.</param>
/// <param name="ClusterId">The cluster's ID.</param>
/// <param name="Members">Every member of the initial cluster, ordered by ID; client URLs are known for this member only.</param>
public sealed record MemberBootstrap(ulong MemberId, ulong ClusterId, IReadOnlyList<Member> Members)
{
    /// <summary>Resolves the initial membership.</summary>
    /// <exception cref="ArgumentException">This member's name is not in the initial cluster, or its peer URLs
    /// there differ from <c>--initial-advertise-peer-urls</c> (etcd's check).</exception>
    public static MemberBootstrap Resolve(ServerOptions options)
    {
        if (!options.InitialCluster.TryGetValue(options.Name, out var ownPeerUrls))
        {
            throw new ArgumentException(
                $"couldn't find local name \"{options.Name}\" in the initial cluster configuration");
        }
        var advertised = options.AdvertisePeerUrls.OrderBy(u => u, StringComparer.Ordinal).ToArray();
        var listed = ownPeerUrls.OrderBy(u => u, StringComparer.Ordinal).ToArray();
        if (!advertised.SequenceEqual(listed, StringComparer.Ordinal))
        {
            throw new ArgumentException(
                $"--initial-cluster has {options.Name}={string.Join(",", listed)} but missing from --initial-advertise-peer-urls={string.Join(",", advertised)}");
        }
        var members = new List<Member>();
        ulong memberId = 0;
        foreach (var (name, peerUrls) in options.InitialCluster)
        {
            var member = new Member
            {
                ID = MemberIdentity.ComputeMemberId(peerUrls, options.InitialClusterToken),
                Name = name,
            };
            member.PeerURLs.AddRange(peerUrls.OrderBy(u => u, StringComparer.Ordinal));
            if (name == options.Name)
            {
                member.ClientURLs.AddRange(options.AdvertiseClientUrls);
                memberId = member.ID;
            }
            members.Add(member);
        }
        members.Sort((a, b) => a.ID.CompareTo(b.ID));
        var clusterId = MemberIdentity.ComputeClusterId(members.Select(m => m.ID));
        return new MemberBootstrap(memberId, clusterId, members);
    }
}
