using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;
using Etcdserverpb;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Cluster service (<c>etcdserverpb.Cluster</c>, rpc.proto): MemberList from the applied membership;
/// MemberAdd, MemberRemove, MemberUpdate and MemberPromote as ConfChange entries through the Raft log, with
/// etcd's checks and errors (see <see cref="EtcdServer"/>).
/// </summary>
public sealed class ClusterService
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public ClusterService(EtcdServer server) => _server = server;

    /// <summary>Registers every Cluster method under <c>/etcdserverpb.Cluster/</c>.</summary>
    public void Register(GrpcServiceRegistry registry)
    {
        registry.AddUnary<MemberListRequest, MemberListResponse>("/etcdserverpb.Cluster/MemberList", MemberListRequest.Parser,
            (_, _) => ValueTask.FromResult(_server.MemberList()));
        registry.AddUnary<MemberAddRequest, MemberAddResponse>("/etcdserverpb.Cluster/MemberAdd", MemberAddRequest.Parser,
            (request, context) => new ValueTask<MemberAddResponse>(_server.MemberAddAsync(request, context.CancellationToken)));
        registry.AddUnary<MemberRemoveRequest, MemberRemoveResponse>("/etcdserverpb.Cluster/MemberRemove", MemberRemoveRequest.Parser,
            (request, context) => new ValueTask<MemberRemoveResponse>(_server.MemberRemoveAsync(request, context.CancellationToken)));
        registry.AddUnary<MemberUpdateRequest, MemberUpdateResponse>("/etcdserverpb.Cluster/MemberUpdate", MemberUpdateRequest.Parser,
            (request, context) => new ValueTask<MemberUpdateResponse>(_server.MemberUpdateAsync(request, context.CancellationToken)));
        registry.AddUnary<MemberPromoteRequest, MemberPromoteResponse>("/etcdserverpb.Cluster/MemberPromote", MemberPromoteRequest.Parser,
            (request, context) => new ValueTask<MemberPromoteResponse>(_server.MemberPromoteAsync(request, context.CancellationToken)));
    }
}
