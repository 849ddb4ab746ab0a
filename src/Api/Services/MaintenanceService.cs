using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;
using Etcdserverpb;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Maintenance service (<c>etcdserverpb.Maintenance</c>, rpc.proto): Status (what
/// <c>etcdctl endpoint status</c> prints), Alarm, Defragment, HashKV, MoveLeader and Snapshot (see
/// <see cref="Snapshots.BackendSnapshotStream"/>).
/// </summary>
public sealed class MaintenanceService
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public MaintenanceService(EtcdServer server) => _server = server;

    /// <summary>Registers the served methods under <c>/etcdserverpb.Maintenance/</c>.</summary>
    public void Register(GrpcServiceRegistry registry)
    {
        registry.AddUnary<StatusRequest, StatusResponse>("/etcdserverpb.Maintenance/Status", StatusRequest.Parser,
            (_, context) => new ValueTask<StatusResponse>(_server.StatusAsync(context.CancellationToken)));
        registry.AddUnary<AlarmRequest, AlarmResponse>("/etcdserverpb.Maintenance/Alarm", AlarmRequest.Parser,
            (request, _) => ValueTask.FromResult(_server.Alarm(request)));
        registry.AddUnary<DefragmentRequest, DefragmentResponse>("/etcdserverpb.Maintenance/Defragment", DefragmentRequest.Parser,
            (_, context) => new ValueTask<DefragmentResponse>(_server.DefragmentAsync(context.CancellationToken)));
        registry.AddUnary<HashKVRequest, HashKVResponse>("/etcdserverpb.Maintenance/HashKV", HashKVRequest.Parser,
            (request, context) => new ValueTask<HashKVResponse>(_server.HashKVAsync(request, context.CancellationToken)));
        registry.AddUnary<MoveLeaderRequest, MoveLeaderResponse>("/etcdserverpb.Maintenance/MoveLeader", MoveLeaderRequest.Parser,
            (request, context) => new ValueTask<MoveLeaderResponse>(_server.MoveLeaderAsync(request, context.CancellationToken)));
        var snapshots = Snapshots.BackendSnapshotStream.For(_server);
        registry.AddServerStreaming<SnapshotRequest, SnapshotResponse>("/etcdserverpb.Maintenance/Snapshot", SnapshotRequest.Parser,
            (_, responses, context) => snapshots.SendAsync(responses.WriteAsync, context.CancellationToken));
    }
}
