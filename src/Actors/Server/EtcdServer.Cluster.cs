using Akka.Event;
using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>Membership changes and leadership moves (etcd's etcdserver/server.go AddMember, RemoveMember, ...).</summary>
public sealed partial class EtcdServer
{
    /// <summary>etcd's <c>--max-learners</c> default.</summary>
    public const int MaxLearners = 1;

    /// <summary>
    /// Cluster.MemberAdd: a new voter or learner with the given peer URLs, through a ConfChange in the log.
    /// The ID is derived from the peer URLs, the cluster token and the current unix time, as etcd does.
    /// Errors: MemberBadURLs, PeerURLExist, TooManyLearners, and etcd's strict reconfig errors MemberNotEnoughStarted
    /// (a voter would not leave a started quorum) and Unhealthy (not every voter connected for 5 s).
    /// </summary>
    public async Task<MemberAddResponse> MemberAddAsync(MemberAddRequest request, CancellationToken cancel)
    {
        CheckPeerUrls(request.PeerURLs);
        var members = CurrentMembers();
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
            ID = MemberIdentity.ComputeMemberId(request.PeerURLs, Options.InitialClusterToken, DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
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
        var members = CurrentMembers();
        var member = members.FirstOrDefault(m => m.ID == request.ID) ?? throw EtcdErrors.MemberNotFound;
        if (!member.IsLearner && Options.StrictReconfigCheck)
        {
            // etcd's strict reconfig check (mayRemoveMember): after the removal, the voters this member can reach
            // (itself plus peers with a connected stream) must still form a quorum of the remaining voters.
            var voters = members.Where(m => !m.IsLearner).Select(m => m.ID).ToList();
            var remaining = voters.Count - 1;
            var active = voters.Count(id => id != request.ID && (id == Status.MemberId || (Transport?.IsActive(id) ?? false)));
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
        var members = CurrentMembers();
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
        var members = CurrentMembers();
        var member = members.FirstOrDefault(m => m.ID == request.ID) ?? throw EtcdErrors.MemberNotFound;
        if (!member.IsLearner)
        {
            throw EtcdErrors.MemberNotLearner;
        }
        if (!Status.IsLeader)
        {
            var leader = members.FirstOrDefault(m => m.ID == Status.Leader && m.ID != Status.MemberId);
            if (Transport is not IPeerRequests peers || leader is null)
            {
                throw EtcdErrors.NotLeader;
            }
            if (await peers.AskAsync(leader.ID, request, _requestTimeout, cancel).ConfigureAwait(false) is not MemberPromoteResponse forwarded)
            {
                throw new EtcdException(RpcStatusCode.Internal, "the leader answered MemberPromote with an unexpected message");
            }
            forwarded = forwarded.Clone();
            forwarded.Header = MemberList().Header;
            return forwarded;
        }
        var status = await RaftStatusAsync(cancel).ConfigureAwait(false);
        var leaderMatch = status.Progress.TryGetValue(Status.MemberId, out var own) ? own.Match : 0;
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
    /// Maintenance.MoveLeader: the leader hands leadership to a voter and answers once it has moved (etcd's
    /// etcdserver/server.go MoveLeader, bounded here by 5 election timeouts or <paramref name="cancel"/>).
    /// Errors: NotLeader on a follower, BadLeaderTransferee for an unknown member or a learner,
    /// <see cref="TimeoutLeaderTransfer"/> when the target has not become leader in time.
    /// </summary>
    public async Task<MoveLeaderResponse> MoveLeaderAsync(MoveLeaderRequest request, CancellationToken cancel)
    {
        if (!Status.IsLeader)
        {
            throw EtcdErrors.NotLeader;
        }
        if (request.TargetID != Status.MemberId)
        {
            await MoveLeaderCoreAsync(request.TargetID, TimeSpan.FromMilliseconds(Options.ElectionTimeoutMs * 5L), cancel).ConfigureAwait(false);
        }
        else if (CurrentMembers().FirstOrDefault(m => m.ID == request.TargetID) is null)
        {
            throw EtcdErrors.BadLeaderTransferee;
        }
        return new MoveLeaderResponse { Header = ResponseHeaders.Create(Status, Status.Revision) };
    }

    /// <summary>
    /// etcd's <c>ErrTimeoutLeaderTransfer</c>: the transferee did not become leader before the deadline. etcd's gRPC
    /// layer has no mapping for it, so clients see code Unknown with this text.
    /// </summary>
    public static EtcdException TimeoutLeaderTransfer =>
        new(RpcStatusCode.Unknown, "etcdserver: request timed out, leader transfer took too long");

    /// <summary>
    /// etcd's <c>TransferLeadership</c>, the first step of a graceful stop: when this member leads a cluster with
    /// other voters, hands leadership to the voter whose peer stream has been connected longest
    /// (<see cref="LongestConnected"/>) and waits until it leads, at most <see cref="RequestTimeout"/>
    /// (5 s + 2 × election timeout, etcd's <c>ReqTimeout()</c>) or until <paramref name="cancel"/>.
    /// Returns the new leader's member ID, or 0 when nothing had to move (not the leader, or the only voter).
    /// Errors: Unhealthy when no other voter is connected, <see cref="TimeoutLeaderTransfer"/>,
    /// <see cref="OperationCanceledException"/> on <paramref name="cancel"/>. Thread-safe.
    /// </summary>
    public async Task<ulong> TransferLeadershipAsync(CancellationToken cancel = default)
    {
        var local = Status.MemberId.ToString("x16");
        if (!Status.IsLeader)
        {
            _logger.LogInformation("skipped leadership transfer; local server is not leader: local-member-id {local} current-leader-member-id {leader}",
                local, Status.Leader.ToString("x16"));
            return 0;
        }
        var voters = CurrentMembers().Where(m => !m.IsLearner).Select(m => m.ID).ToList();
        if (voters.Count < 2)
        {
            _logger.LogInformation("skipped leadership transfer for single voting member cluster: local-member-id {local}", local);
            return 0;
        }
        var transport = Transport;
        var transferee = transport is null ? null : LongestConnected(voters.Where(id => id != Status.MemberId), transport.ActiveSince);
        if (transferee is not { } target)
        {
            throw EtcdErrors.Unhealthy;
        }
        await MoveLeaderCoreAsync(target, RequestTimeout, cancel).ConfigureAwait(false);
        return target;
    }

    /// <summary>
    /// etcd's <c>ReqTimeout()</c>: 5 s + 2 × election timeout, the bound of a proposal and of the leadership transfer
    /// of a graceful stop.
    /// </summary>
    public TimeSpan RequestTimeout => _requestTimeout;

    /// <summary>
    /// etcd's <c>longestConnected</c> (etcdserver/util.go): among <paramref name="candidates"/>, the one whose peer
    /// stream connected earliest (<paramref name="activeSince"/> returns null for a member that is down); null when
    /// none is connected. Ties go to the first candidate listed. Pure.
    /// </summary>
    internal static ulong? LongestConnected(IEnumerable<ulong> candidates, Func<ulong, DateTime?> activeSince)
    {
        ulong? longest = null;
        var oldest = DateTime.MaxValue;
        foreach (var id in candidates)
        {
            if (activeSince(id) is { } since && since < oldest)
            {
                oldest = since;
                longest = id;
            }
        }
        return longest;
    }

    /// <summary>
    /// etcd's <c>MoveLeader</c>: asks Raft to transfer leadership to <paramref name="transferee"/> (a voter, not this
    /// member) and polls every half heartbeat until it leads. Logs etcd's "leadership transfer starting" and
    /// "leadership transfer finished" lines. Errors: BadLeaderTransferee, <see cref="TimeoutLeaderTransfer"/> after
    /// <paramref name="timeout"/>, <see cref="OperationCanceledException"/>.
    /// </summary>
    private async Task MoveLeaderCoreAsync(ulong transferee, TimeSpan timeout, CancellationToken cancel)
    {
        var target = CurrentMembers().FirstOrDefault(m => m.ID == transferee);
        if (target is null || target.IsLearner)
        {
            throw EtcdErrors.BadLeaderTransferee;
        }
        var lead = Status.Leader;
        var started = System.Diagnostics.Stopwatch.StartNew();
        _logger.LogInformation("leadership transfer starting: local-member-id {local} current-leader-member-id {leader} transferee-member-id {transferee}",
            Status.MemberId.ToString("x16"), lead.ToString("x16"), transferee.ToString("x16"));
        _refs.Raft.Tell(new RaftProtocol.TransferLeadership(transferee));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(5, Options.HeartbeatIntervalMs / 2)));
        while (Status.Leader != transferee)
        {
            if (started.Elapsed > timeout)
            {
                throw TimeoutLeaderTransfer;
            }
            await poll.WaitForNextTickAsync(cancel).ConfigureAwait(false);
        }
        _logger.LogInformation("leadership transfer finished: local-member-id {local} old-leader-member-id {old} new-leader-member-id {leader} took {took}",
            Status.MemberId.ToString("x16"), lead.ToString("x16"), transferee.ToString("x16"), started.Elapsed);
    }

    /// <summary>
    /// Publishes this member's name and client URLs through the log (etcd's publish), so every member's
    /// MemberList shows them; retried until it succeeds or the member stops.
    /// </summary>
    private async Task PublishAttributesAsync(CancellationToken cancel)
    {
        var attributes = new Attributes { Name = Options.Name };
        attributes.ClientUrls.AddRange(Options.AdvertiseClientUrls);
        var request = new InternalRaftRequest
        {
            ClusterMemberAttrSet = new ClusterMemberAttrSetRequest { MemberID = Status.MemberId, MemberAttributes = attributes },
        };
        while (true)
        {
            try
            {
                await ProposeAsync(request.Clone(), checkQuota: false, cancel).ConfigureAwait(false);
                _logger.LogInformation("published local member to cluster through raft: {name} {clientUrls} cluster {cluster}",
                    Options.Name, string.Join(",", Options.AdvertiseClientUrls), Status.ClusterId.ToString("x16"));
                if (Status.IsLeader && Membership.ClusterVersion is null)
                {
                    // etcd's leader records the cluster version once it has started (monitorVersions).
                    await ProposeAsync(new InternalRaftRequest { ClusterVersionSet = new ClusterVersionSetRequest { Ver = ClusterVersion } },
                        checkQuota: false, cancel).ConfigureAwait(false);
                    _logger.LogInformation("set initial cluster version to {version}", ClusterVersion);
                }
                return;
            }
            catch (EtcdException ex)
            {
                _logger.LogWarning("failed to publish local member to cluster through raft: {error}", ex.Message);
                await WaitForLeaderAsync(cancel).ConfigureAwait(false);
            }
        }
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
        if (Transport is not { } transport || !Options.StrictReconfigCheck)
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
            if (voter.ID != Status.MemberId && !(transport.ActiveSince(voter.ID) is { } since && since < healthySince))
            {
                throw EtcdErrors.Unhealthy;
            }
        }
    }

    /// <summary>The Raft status of this member (leader, term, per-follower progress on the leader).</summary>
    public Task<RaftStatus> RaftStatusAsync(CancellationToken cancel) =>
        AskAsync<RaftStatus>(_refs.Raft, RaftProtocol.GetStatus.Instance, cancel);

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
        if (Transport is null)
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
        if (Options.AdvertisePeerUrls.Count > 0 && PeerAddress.FromPeerUrl(Options.AdvertisePeerUrls[0]).Protocol != address.Protocol)
        {
            _logger.LogWarning("refused peer URL {url}: its scheme is not the cluster's (peer URL {own})", peerUrls.First(), Options.AdvertisePeerUrls[0]);
            throw EtcdErrors.MemberBadURLs;
        }
    }

    private async Task<MemberListResponse> ProposeConfChangeAsync(ConfChangeType type, ulong nodeId, Member? member, CancellationToken cancel)
    {
        if (!Status.HasLeader)
        {
            throw EtcdErrors.NoLeader;
        }
        var id = _ids.Next();
        var change = new ConfChange { ID = id, Type = type, NodeID = nodeId };
        if (member is not null)
        {
            change.Context = member.ToByteString();
        }
        return await AskAsync<MemberListResponse>(_refs.Raft, new RaftProtocol.ProposeConfChange(change), cancel).ConfigureAwait(false);
    }
}
