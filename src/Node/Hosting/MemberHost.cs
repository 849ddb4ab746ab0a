using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Hosting;

/// <summary>
/// The generic host the member runs in: Akka.Hosting's ActorSystem (remoting on the peer URL, Akka.Cluster) and
/// <see cref="MemberService"/>. No listener of its own (the peer port is Akka.Remote's), no console lifetime: the node
/// decides when to stop (SIGINT/SIGTERM are its own), by <c>StopAsync</c> on the built host.
/// </summary>
public static class MemberHost
{
    /// <summary>
    /// A <see cref="HostApplicationBuilder"/> whose logs go to <paramref name="loggers"/> (the node's JSON log; the factory
    /// stays the caller's) and whose lifetime is the caller's.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.ClearProviders();
        builder.Services.Replace(ServiceDescriptor.Singleton(loggers));
        builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, CallerLifetime>());
        return builder;
    }

    /// <summary>A lifetime that neither waits for nor hooks anything: start and stop are the node's calls.</summary>
    private sealed class CallerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
