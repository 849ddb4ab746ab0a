using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;
using Etcdserverpb;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Cluster service (<c>etcdserverpb.Cluster</c>, rpc.proto). MemberList is served from the
/// member's membership; MemberAdd/Remove/Update/Promote come with multi-member clusters and answer
/// UNIMPLEMENTED until then (they are unregistered).
/// </summary>
public sealed class ClusterService
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public ClusterService(EtcdServer server) => _server = server;

    /// <summary>Registers MemberList under <c>/etcdserverpb.Cluster/</c>.</summary>
    public void Register(GrpcServiceRegistry registry) =>
        registry.AddUnary<MemberListRequest, MemberListResponse>("/etcdserverpb.Cluster/MemberList", MemberListRequest.Parser,
            (_, _) => ValueTask.FromResult(_server.MemberList()));
}
