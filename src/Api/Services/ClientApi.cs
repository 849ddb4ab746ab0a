using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;
using Grpc.Health.V1;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// Registers every gRPC service the member serves on its client port: KV, Watch, Lease, Cluster,
/// Maintenance, v3lock.Lock, v3election.Election and grpc.health.v1.Health. Methods not registered (Auth)
/// answer gRPC UNIMPLEMENTED from the dispatcher.
/// </summary>
public static class ClientApi
{
    /// <summary>Registers every served client service for <paramref name="server"/>.</summary>
    public static void Register(GrpcServiceRegistry registry, EtcdServer server)
    {
        new KvService(server).Register(registry);
        new MaintenanceService(server).Register(registry);
        new ClusterService(server).Register(registry);
        new WatchService(server).Register(registry);
        new LeaseService(server).Register(registry);
        Concurrency.ConcurrencyServices.Register(registry, server);
        registry.AddUnary<HealthCheckRequest, HealthCheckResponse>("/grpc.health.v1.Health/Check", HealthCheckRequest.Parser,
            (_, _) => ValueTask.FromResult(new HealthCheckResponse
            {
                Status = server.Status.HasLeader ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing,
            }));
    }
}
