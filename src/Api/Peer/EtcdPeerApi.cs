using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Akka.Etcd.Api.Peer;

/// <summary>
/// The member's peer port as ASP.NET Core registrations: <see cref="PeerService"/> (the Raft message stream and the
/// snapshot pipeline that <see cref="RemotePeer"/> calls, receive limit <see cref="PeerProtocol.MaxReceiveMessageBytes"/>)
/// on Grpc.AspNetCore, and the HTTP routes of <see cref="PeerHttpEndpoints"/> (<c>/members</c>, <c>/version</c>, the
/// lease forwarding <c>/leases</c> and <c>/leases/internal</c>). Use on a builder set up by
/// <see cref="EtcdWebHost.AddEtcdListener"/>:
/// <code>
/// builder.Services.AddSingleton(server).AddSingleton(transport).AddEtcdPeerApi();
/// var app = builder.Build();
/// app.MapEtcdPeerApi();
/// </code>
/// </summary>
public static class EtcdPeerApi
{
    /// <summary>
    /// Registers <see cref="PeerService"/> as a singleton and Grpc.AspNetCore with the etcd error interceptor. The service
    /// takes the <see cref="PeerTransport"/> from DI, the HTTP routes the <see cref="EtcdServer"/>: register both as
    /// singletons too.
    /// </summary>
    public static IServiceCollection AddEtcdPeerApi(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddEtcdGrpc();
        services.TryAddSingleton<PeerService>();
        return services;
    }

    /// <summary>
    /// Maps <see cref="PeerService"/>, the peer HTTP routes and the UNIMPLEMENTED/404 fallback. Pass
    /// <paramref name="mapRoutes"/> = false for a listener that serves the Raft transport only (no member behind it, as in
    /// transport tests); the routes need an <see cref="EtcdServer"/> in DI.
    /// </summary>
    public static IEndpointRouteBuilder MapEtcdPeerApi(this IEndpointRouteBuilder endpoints, bool mapRoutes = true)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapEtcdGrpcService<PeerService>(new GrpcServerOptions { MaxReceiveMessageBytes = PeerProtocol.MaxReceiveMessageBytes });
        if (mapRoutes)
        {
            var services = endpoints.ServiceProvider;
            PeerHttpEndpoints.Map(endpoints, () => services.GetRequiredService<EtcdServer>());
        }
        endpoints.MapEtcdGrpcFallback();
        return endpoints;
    }
}
