using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Akka.Actor;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// Membership changes through the log (etcd's etcdserver/server.go AddMember, RemoveMember, UpdateMember,
/// PromoteMember, with its strict reconfig checks): what Cluster.MemberAdd/Remove/Update/Promote do, and what a
/// leader serves when a follower forwards a MemberPromote over the peer transport. Each change is a ConfChange
/// proposed through the RaftActor and answered with the member list once applied. Stateless and thread-safe.
/// </summary>
public sealed class MemberChanges
{
    /// <summary>etcd's <c>--max-learners</c> default.</summary>
    public const int MaxLearners = 1;

    private readonly MemberGateway _member;
    private readonly ILogger _logger;

    /// <summary>Creates the membership changes of the member behind <paramref name="member"/>.</summary>
    public MemberChanges(MemberGateway member)
    {
        _member = member;
        _logger = member.Loggers.CreateLogger("etcdserver/server");
    }

    /// <summary>
    /// Cluster.MemberAdd: a new voter or learner with the given peer URLs, through a ConfChange in the log.
    /// The ID is derived from the peer URLs, the cluster token and the current unix time, as etcd does.
    /// Errors: MemberBadURLs, PeerURLExist, TooManyLearners, and etcd's strict reconfig errors MemberNotEnoughStarted
    /// (a voter would not leave a started quorum) and Unhealthy (not every voter connected for 5 s).
    /// </summary>
    public async Task<MemberAddResponse> MemberAddAsync(MemberAddRequest request, CancellationToken cancel)
    {
        CheckPeerUrls(request.PeerURLs);
        var members = _member.CurrentMembers();
        if (members.Any(m => m.PeerURLs.Intersect(request.PeerURLs).Any()))
        {
            throw EtcdErrors.PeerURLExist;
        }
        if (request.IsLearner && members.Count(m => m.IsLearner) >= MaxLearners)
        {
            throw EtcdErrors.TooManyLearners;
        }
        MayAddMember(members, request.IsLearner);
        var member = new Member
        {
            ID = MemberIdentity.ComputeMemberId(request.PeerURLs, _member.Options.InitialClusterToken, DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            IsLearner = request.IsLearner,
        };
        member.PeerURLs.AddRange(request.PeerURLs);
        var type = request.IsLearner ? ConfChangeType.ConfChangeAddLearnerNode : ConfChangeType.ConfChangeAddNode;
        var list = await ProposeConfChangeAsync(type, member.ID, member, cancel).ConfigureAwait(false);
        var response = new MemberAddResponse { Header = list.Header, Member = member };
        response.Members.AddRange(list.Members);
        return response;
    }

    /// <summary>
    /// Cluster.MemberRemove. Errors: MemberNotFound; MemberNotEnoughStarted when, after removing a voter, the voters
    /// this member can reach would not form a quorum of the remaining voters (etcd's strict reconfig check).
    /// </summary>
    public async Task<MemberRemoveResponse> MemberRemoveAsync(MemberRemoveRequest request, CancellationToken cancel)
    {
        var members = _member.CurrentMembers();
        var member = members.FirstOrDefault(m => m.ID == request.ID) ?? throw EtcdErrors.MemberNotFound;
        if (!member.IsLearner && _member.Options.StrictReconfigCheck)
        {
            // etcd's strict reconfig check (mayRemoveMember): after the removal, the voters this member can reach
            // (itself plus peers with a connected stream) must still form a quorum of the remaining voters.
            var voters = members.Where(m => !m.IsLearner).Select(m => m.ID).ToList();
            var remaining = voters.Count - 1;
            var active = voters.Count(id => id != request.ID && (id == _member.Status.MemberId || (_member.Transport?.IsActive(id) ?? false)));
            if (remaining < 1 || active < remaining / 2 + 1)
            {
                throw EtcdErrors.MemberNotEnoughStarted;
            }
        }
        var list = await ProposeConfChangeAsync(ConfChangeType.ConfChangeRemoveNode, request.ID, null, cancel).ConfigureAwait(false);
        var response = new MemberRemoveResponse { Header = list.Header };
        response.Members.AddRange(list.Members);
        return response;
    }

    /// <summary>Cluster.MemberUpdate: new peer URLs for a member. Errors: MemberNotFound, MemberBadURLs, PeerURLExist.</summary>
    public async Task<MemberUpdateResponse> MemberUpdateAsync(MemberUpdateRequest request, CancellationToken cancel)
    {
        var members = _member.CurrentMembers();
        var existing = members.FirstOrDefault(m => m.ID == request.ID) ?? throw EtcdErrors.MemberNotFound;
        CheckPeerUrls(request.PeerURLs);
        if (members.Any(m => m.ID != request.ID && m.PeerURLs.Intersect(request.PeerURLs).Any()))
        {
            throw EtcdErrors.PeerURLExist;
        }
        var member = existing.Clone();
        member.PeerURLs.Clear();
        member.PeerURLs.AddRange(request.PeerURLs);
        var list = await ProposeConfChangeAsync(ConfChangeType.ConfChangeUpdateNode, request.ID, member, cancel).ConfigureAwait(false);
        var response = new MemberUpdateResponse { Header = list.Header };
        response.Members.AddRange(list.Members);
        return response;
    }

    /// <summary>
    /// Cluster.MemberPromote: a learner becomes a voter. Served by the leader, which knows the learner's progress;
    /// a follower forwards it to the leader over the peer transport (a <c>MemberPromoteRequest</c> peer request, as
    /// etcd's follower forwards it to the leader's peer URL) and answers with its own header.
    /// Errors: MemberNotFound, MemberNotLearner, LearnerNotReady (its match index is below 90% of the leader's),
    /// NotLeader on a follower without a peer transport or a known leader, and the leader's errors as it sent them.
    /// </summary>
    public async Task<MemberPromoteResponse> MemberPromoteAsync(MemberPromoteRequest request, CancellationToken cancel)
    {
        var members = _member.CurrentMembers();
        var member = members.FirstOrDefault(m => m.ID == request.ID) ?? throw EtcdErrors.MemberNotFound;
        if (!member.IsLearner)
        {
            throw EtcdErrors.MemberNotLearner;
        }
        if (!_member.Status.IsLeader)
        {
            var leader = members.FirstOrDefault(m => m.ID == _member.Status.Leader && m.ID != _member.Status.MemberId);
            if (_member.Transport is not IPeerRequests peers || leader is null)
            {
                throw EtcdErrors.NotLeader;
            }
            if (await peers.AskAsync(leader.ID, request, _member.RequestTimeout, cancel).ConfigureAwait(false) is not MemberPromoteResponse forwarded)
            {
                throw new EtcdException(RpcStatusCode.Internal, "the leader answered MemberPromote with an unexpected message");
            }
            forwarded = forwarded.Clone();
            forwarded.Header = _member.MemberList().Header;
            return forwarded;
        }
        var status = await RaftStatusAsync(cancel).ConfigureAwait(false);
        var leaderMatch = status.Progress.TryGetValue(_member.Status.MemberId, out var own) ? own.Match : 0;
        var learnerMatch = status.Progress.TryGetValue(request.ID, out var learner) ? learner.Match : 0;
        if (learnerMatch < leaderMatch * 0.9)
        {
            throw EtcdErrors.LearnerNotReady;
        }
        var promoted = member.Clone();
        promoted.IsLearner = false;
        var list = await ProposeConfChangeAsync(ConfChangeType.ConfChangeAddNode, request.ID, promoted, cancel).ConfigureAwait(false);
        var response = new MemberPromoteResponse { Header = list.Header };
        response.Members.AddRange(list.Members);
        return response;
    }

    /// <summary>
    /// etcd's strict reconfig check for adds (mayAddMember, etcd 3.4 etcdserver/server.go). A voter may only be added
    /// when enough voters are started (have published their name) for a quorum of the grown cluster
    /// (RaftCluster.IsReadyToAddVotingMember), where a one-voter cluster may always grow to two (etcd's restore-a-cluster
    /// case); then any member only while this member has been connected to every other voter since more than 5 s ago
    /// (isConnectedFullySince with HealthInterval). Skipped with <c>--strict-reconfig-check=false</c>, as in etcd.
    /// Errors: MemberNotEnoughStarted, Unhealthy.
    /// </summary>
    private void MayAddMember(IReadOnlyList<Member> members, bool isLearner)
    {
        if (_member.Transport is not { } transport || !_member.Options.StrictReconfigCheck)
        {
            return;
        }
        var voters = members.Where(m => !m.IsLearner).ToList();
        if (!isLearner)
        {
            var grown = voters.Count + 1;
            var started = voters.Count(m => m.Name.Length > 0);
            if (!(started == 1 && grown == 2) && started < grown / 2 + 1)
            {
                throw EtcdErrors.MemberNotEnoughStarted;
            }
        }
        var healthySince = DateTime.UtcNow - TimeSpan.FromSeconds(5);
        foreach (var voter in voters)
        {
            if (voter.ID != _member.Status.MemberId && !(transport.ActiveSince(voter.ID) is { } since && since < healthySince))
            {
                throw EtcdErrors.Unhealthy;
            }
        }
    }

    /// <summary>The Raft status of this member (leader, term, per-follower progress on the leader).</summary>
    public Task<RaftStatus> RaftStatusAsync(CancellationToken cancel) =>
        _member.AskAsync<RaftStatus>(_member.Actors.Raft, RaftProtocol.GetStatus.Instance, cancel);

    /// <summary>
    /// etcd's URL check, plus what the peer transport needs: exactly one peer URL per member (Akka.Remote binds and
    /// advertises one address), an http or https URL with a host and port, of this member's scheme (the transport is TLS
    /// for every peer or for none).
    /// </summary>
    private void CheckPeerUrls(IReadOnlyCollection<string> peerUrls)
    {
        if (peerUrls.Count == 0 || peerUrls.Any(url => !Uri.TryCreate(url, UriKind.Absolute, out _)))
        {
            throw EtcdErrors.MemberBadURLs;
        }
        if (_member.Transport is null)
        {
            return;
        }
        if (peerUrls.Count != 1)
        {
            _logger.LogWarning("refused peer URLs {urls}: a member has exactly one peer URL", string.Join(",", peerUrls));
            throw EtcdErrors.MemberBadURLs;
        }
        Address address;
        try
        {
            address = PeerAddress.FromPeerUrl(peerUrls.First());
        }
        catch (ArgumentException ex)
        {
            _logger.LogWarning("refused peer URL: {error}", ex.Message);
            throw EtcdErrors.MemberBadURLs;
        }
        // The transport is TLS for every peer or for none: an http member in an https cluster (or the reverse) is unreachable.
        if (_member.Options.AdvertisePeerUrls.Count > 0 && PeerAddress.FromPeerUrl(_member.Options.AdvertisePeerUrls[0]).Protocol != address.Protocol)
        {
            _logger.LogWarning("refused peer URL {url}: its scheme is not the cluster's (peer URL {own})", peerUrls.First(), _member.Options.AdvertisePeerUrls[0]);
            throw EtcdErrors.MemberBadURLs;
        }
    }

    private async Task<MemberListResponse> ProposeConfChangeAsync(ConfChangeType type, ulong nodeId, Member? member, CancellationToken cancel)
    {
        if (!_member.Status.HasLeader)
        {
            throw EtcdErrors.NoLeader;
        }
        var id = _member.NextRequestId();
        var change = new ConfChange { ID = id, Type = type, NodeID = nodeId };
        if (member is not null)
        {
            change.Context = member.ToByteString();
        }
        return await _member.AskAsync<MemberListResponse>(_member.Actors.Raft, new RaftProtocol.ProposeConfChange(change), cancel).ConfigureAwait(false);
    }}
