using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Maintenance service (<c>etcdserverpb.Maintenance</c>, rpc.proto): Status (what <c>etcdctl endpoint status</c>
/// prints), Alarm, Defragment, HashKV, MoveLeader and Snapshot (see <see cref="Snapshots.BackendSnapshotStream"/>). A
/// method not overridden here (Hash) answers the generated base's UNIMPLEMENTED, which the error interceptor words as
/// grpc-go does. Stateless and thread-safe.
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
        _server.AlarmAsync(request, context.CancellationToken);

    /// <summary>Maintenance.Defragment: rewrites this member's backend to release free pages.</summary>
    public override Task<DefragmentResponse> Defragment(DefragmentRequest request, ServerCallContext context) =>
        _server.DefragmentAsync(context.CancellationToken);

    /// <summary>Maintenance.HashKV: the hash of the MVCC keyspace up to a revision (0: the current one), with the compact revision.</summary>
    public override Task<HashKVResponse> HashKV(HashKVRequest request, ServerCallContext context) =>
        _server.HashKVAsync(request, context.CancellationToken);

    /// <summary>Maintenance.MoveLeader: hands leadership to the given voter; only the leader accepts it.</summary>
    public override Task<MoveLeaderResponse> MoveLeader(MoveLeaderRequest request, ServerCallContext context) =>
        _server.MoveLeaderAsync(request, context.CancellationToken);

    /// <summary>
    /// Maintenance.Snapshot: streams a consistent point-in-time image of the backend as etcd 3.4's bbolt db, in chunks
    /// with <c>remaining_bytes</c> and the trailing SHA-256 etcdctl checks.
    /// </summary>
    public override Task Snapshot(SnapshotRequest request, IServerStreamWriter<SnapshotResponse> responseStream, ServerCallContext context) =>
        Snapshots.BackendSnapshotStream.For(_server).SendAsync((response, cancel) => responseStream.WriteAsync(response, cancel), context.CancellationToken);
}
