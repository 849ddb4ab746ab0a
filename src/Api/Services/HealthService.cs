using Akka.Etcd.Actors.Server;
using Grpc.Core;
using Grpc.Health.V1;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// <c>grpc.health.v1.Health</c> (grpc/doc/health-checking.md), as etcd registers it: Check answers SERVING while the
/// member knows a leader and NOT_SERVING otherwise, whatever service name is asked. Watch is not served (the generated
/// base answers UNIMPLEMENTED). Stateless and thread-safe.
/// </summary>
public sealed class HealthService : Health.HealthBase
{
    private readonly MemberGateway _member;

    /// <summary>Creates the service over a running member.</summary>
    public HealthService(MemberGateway member) => _member = member;

    /// <summary>Health.Check: SERVING with a leader, NOT_SERVING without.</summary>
    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context) =>
        Task.FromResult(new HealthCheckResponse
        {
            Status = _member.Status.HasLeader ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing,
        });
}
