using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Auth;
using Akka.Etcd.Api.Concurrency;
using Akka.Etcd.Api.Gateway;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// The member's client port as ASP.NET Core registrations: etcd's gRPC services (KV, Watch, Lease, Cluster, Maintenance
/// but Hash, Auth, v3lock.Lock, v3election.Election, grpc.health.v1.Health) on Grpc.AspNetCore with the
/// <see cref="AuthInterceptor"/> (credentials and admin checks), and the HTTP/1.1 routes <c>/health</c>, <c>/version</c>,
/// <c>/metrics</c>. The unserved methods answer UNIMPLEMENTED with grpc-go's text. Use on a builder set up by <see cref="EtcdWebHost.AddEtcdListener"/>:
/// <code>
/// builder.Services.AddSingleton(member).AddEtcdClientApi(); // member: the started LocalMember
/// var app = builder.Build();
/// app.MapEtcdClientApi(new GrpcServerOptions { MaxReceiveMessageBytes = GrpcServerOptions.ReceiveLimitFor(maxRequestBytes) });
/// </code>
/// </summary>
public static class EtcdClientApi
{
    /// <summary>
    /// Registers the client services as singletons (one instance serves every call), the member's
    /// <see cref="MemberGateway"/> and <see cref="CallerChecks"/> they share, and Grpc.AspNetCore with the etcd error
    /// interceptor (<see cref="EtcdGrpcEndpoints.AddEtcdGrpc"/>). The gateway is taken from the running
    /// <see cref="LocalMember"/>: register it as a singleton too (resolved at the first call, not here), or register a
    /// <see cref="MemberGateway"/> directly.
    /// </summary>
    public static IServiceCollection AddEtcdClientApi(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddEtcdGrpc();
        // Interceptors run in the order added, inside the error interceptor (which words their refusals with etcd's
        // codes and texts): the call metrics count every call by method and status code; a learner serves only Status
        // and serializable ranges (etcd's gRPC interceptor); then the caller's credentials and the admin-only checks
        // (etcd checks auth inside the handlers).
        services.AddGrpc(options =>
        {
            if (!options.Interceptors.Any(i => i.Type == typeof(Metrics.GrpcMetricsInterceptor)))
                options.Interceptors.Add<Metrics.GrpcMetricsInterceptor>();
            if (!options.Interceptors.Any(i => i.Type == typeof(LearnerInterceptor)))
                options.Interceptors.Add<LearnerInterceptor>();
            if (!options.Interceptors.Any(i => i.Type == typeof(AuthInterceptor)))
                options.Interceptors.Add<AuthInterceptor>();
        });
        services.TryAddSingleton(provider => provider.GetRequiredService<LocalMember>().Gateway);
        services.TryAddSingleton<CallerChecks>();
        services.TryAddSingleton<AuthService>();
        services.TryAddSingleton<IConcurrencyBackend, MemberBackend>();
        services.TryAddSingleton<KvService>();
        services.TryAddSingleton<WatchService>();
        services.TryAddSingleton<LeaseService>();
        services.TryAddSingleton<ClusterService>();
        services.TryAddSingleton<MaintenanceService>();
        services.TryAddSingleton<LockService>();
        services.TryAddSingleton<ElectionService>();
        services.TryAddSingleton<HealthService>();
        services.AddEtcdGateway();
        return services;
    }

    /// <summary>
    /// Maps every client service with <paramref name="limits"/> (the receive limit etcd derives from
    /// <c>--max-request-bytes</c>), the HTTP routes of <see cref="HttpEndpoints"/>, and the UNIMPLEMENTED/404 fallback
    /// (<see cref="EtcdGrpcEndpoints.MapEtcdGrpcFallback"/>). Needs <see cref="AddEtcdClientApi"/> on the same host.
    /// </summary>
    /// <param name="endpoints">The client listener's routes.</param>
    /// <param name="limits">The receive limit of every service.</param>
    /// <param name="gateway">Serve etcd's JSON gateway (<c>/v3/…</c>, <see cref="GatewayEndpoints"/>); etcd's
    /// <c>--enable-grpc-gateway</c>, on by default.</param>
    public static IEndpointRouteBuilder MapEtcdClientApi(this IEndpointRouteBuilder endpoints, GrpcServerOptions limits, bool gateway = true)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(limits);
        endpoints.MapEtcdGrpcService<KvService>(limits);
        endpoints.MapEtcdGrpcService<WatchService>(limits);
        endpoints.MapEtcdGrpcService<LeaseService>(limits);
        endpoints.MapEtcdGrpcService<ClusterService>(limits);
        endpoints.MapEtcdGrpcService<MaintenanceService>(limits);
        endpoints.MapEtcdGrpcService<LockService>(limits);
        endpoints.MapEtcdGrpcService<ElectionService>(limits);
        endpoints.MapEtcdGrpcService<HealthService>(limits);
        endpoints.MapEtcdGrpcService<AuthService>(limits);
        var member = endpoints.ServiceProvider.GetRequiredService<MemberGateway>();
        var clusterView = endpoints.ServiceProvider.GetService<Akka.Etcd.Actors.Metrics.IAkkaClusterView>();
        HttpEndpoints.Map(endpoints, member, endpoints.ServiceProvider.GetRequiredService<KvService>(), clusterView);
        if (gateway)
            endpoints.MapEtcdGateway();
        Dashboard.DashboardEndpoints.Map(endpoints, member, clusterView);
        endpoints.MapEtcdGrpcFallback();
        return endpoints;
    }
}
