using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Maintenance service (<c>etcdserverpb.Maintenance</c>, rpc.proto): Status (what <c>etcdctl endpoint status</c>
/// prints), Alarm, Defragment, HashKV and MoveLeader. A method not overridden here (Hash, Snapshot) answers the
/// generated base's UNIMPLEMENTED, which the error interceptor words as grpc-go does ("unknown method Snapshot for
/// service etcdserverpb.Maintenance"); serving one is adding its override. Stateless and thread-safe.
/// </summary>
public sealed class MaintenanceService : Maintenance.MaintenanceBase
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public MaintenanceService(EtcdServer server) => _server = server;

    /// <summary>Maintenance.Status: version, db sizes (bytes), leader, Raft index and term of this member.</summary>
    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) =>
        _server.StatusAsync(context.CancellationToken);

    /// <summary>Maintenance.Alarm: GET lists the raised alarms (NOSPACE, CORRUPT); ACTIVATE and DEACTIVATE change them.</summary>
    public override Task<AlarmResponse> Alarm(AlarmRequest request, ServerCallContext context) =>
        Task.FromResult(_server.Alarm(request));

    /// <summary>Maintenance.Defragment: rewrites this member's backend to release free pages.</summary>
    public override Task<DefragmentResponse> Defragment(DefragmentRequest request, ServerCallContext context) =>
        _server.DefragmentAsync(context.CancellationToken);

    /// <summary>Maintenance.HashKV: the hash of the MVCC keyspace up to a revision (0: the current one), with the compact revision.</summary>
    public override Task<HashKVResponse> HashKV(HashKVRequest request, ServerCallContext context) =>
        _server.HashKVAsync(request, context.CancellationToken);

    /// <summary>Maintenance.MoveLeader: hands leadership to the given voter; only the leader accepts it.</summary>
    public override Task<MoveLeaderResponse> MoveLeader(MoveLeaderRequest request, ServerCallContext context) =>
        _server.MoveLeaderAsync(request, context.CancellationToken);
}
