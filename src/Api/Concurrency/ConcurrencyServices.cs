using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>Registers the Lock and Election services of a member on its client port.</summary>
public static class ConcurrencyServices
{
    /// <summary>Registers <c>v3lockpb.Lock</c> and <c>v3electionpb.Election</c> over <paramref name="server"/>. Call before the host starts.</summary>
    public static void Register(GrpcServiceRegistry registry, EtcdServer server)
    {
        var backend = new EtcdServerBackend(server);
        new LockService(backend).Register(registry);
        new ElectionService(backend).Register(registry);
    }
}
