using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Cluster service (<c>etcdserverpb.Cluster</c>, rpc.proto): MemberList from the applied membership;
/// MemberAdd, MemberRemove, MemberUpdate and MemberPromote as ConfChange entries through the Raft log, with etcd's
/// checks and errors (MemberExist, PeerURLExist, MemberNotFound, MemberNotLearner, LearnerNotReady, ...; see
/// <see cref="MemberChanges"/>). Stateless and thread-safe.
/// </summary>
public sealed class ClusterService : Etcdserverpb.Cluster.ClusterBase
{
    private readonly MemberGateway _member;
    private readonly MemberChanges _changes;

    /// <summary>Creates the service over a running member.</summary>
    public ClusterService(MemberGateway member)
    {
        _member = member;
        _changes = new MemberChanges(member);
    }

    /// <summary>Cluster.MemberList: every member as applied on this member (not linearizable, as etcd 3.4).</summary>
    public override Task<MemberListResponse> MemberList(MemberListRequest request, ServerCallContext context) =>
        Task.FromResult(_member.MemberList());

    /// <summary>Cluster.MemberAdd: a voter or learner with the given peer URLs; the response lists the new membership.</summary>
    public override Task<MemberAddResponse> MemberAdd(MemberAddRequest request, ServerCallContext context) =>
        _changes.MemberAddAsync(request, context.CancellationToken);

    /// <summary>Cluster.MemberRemove: by member ID; refused when it would leave too few started voters.</summary>
    public override Task<MemberRemoveResponse> MemberRemove(MemberRemoveRequest request, ServerCallContext context) =>
        _changes.MemberRemoveAsync(request, context.CancellationToken);

    /// <summary>Cluster.MemberUpdate: replaces a member's peer URLs.</summary>
    public override Task<MemberUpdateResponse> MemberUpdate(MemberUpdateRequest request, ServerCallContext context) =>
        _changes.MemberUpdateAsync(request, context.CancellationToken);

    /// <summary>Cluster.MemberPromote: a learner in sync with the leader becomes a voter (a follower forwards it to the leader).</summary>
    public override Task<MemberPromoteResponse> MemberPromote(MemberPromoteRequest request, ServerCallContext context) =>
        _changes.MemberPromoteAsync(request, context.CancellationToken);
}
