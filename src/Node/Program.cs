using System.Collections;
using System.Runtime.InteropServices;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Http;
using Akka.Etcd.Api.Services;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.Node.Logging;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node;

/// <summary>Process entry point of the akka-etcd member: etcd's flags in, a serving member out.</summary>
public static class Program
{
    /// <summary>
    /// Parses flags, <c>ETCD_*</c> variables and config files (see <see cref="MemberConfigParser"/>), starts the
    /// member and serves clients until SIGINT/SIGTERM. Returns 0 after a clean stop, 2 for bad flags (as etcd),
    /// 1 when the member cannot start (e.g. a corrupt WAL or a taken port).
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            env[(string)variable.Key] = variable.Value as string ?? "";
        }
        var outcome = MemberConfigParser.Parse(args, env, Console.Out, Console.Error);
        if (outcome.ShouldExit || outcome.Config is null)
        {
            return outcome.ExitCode ?? 1;
        }
        var config = outcome.Config;
        using var logProvider = EtcdJsonLoggerProvider.FromConfig(config);
        using var loggers = LoggerFactory.Create(builder =>
        {
            builder.ClearProviders();
            builder.SetMinimumLevel(logProvider.MinimumLevel);
            builder.AddProvider(logProvider);
        });
        var log = loggers.CreateLogger("etcdmain/main");
        try
        {
            return await RunAsync(config, loggers, log).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            log.LogCritical(ex, "member failed: {error}", ex.Message);
            return 1;
        }
    }

    private static async Task<int> RunAsync(MemberConfig config, ILoggerFactory loggers, ILogger log)
    {
        log.LogInformation("starting akka-etcd {version} (etcd API {api}), name {name}, data dir {dataDir}",
            typeof(Program).Assembly.GetName().Version?.ToString(3), EtcdServer.ServerVersion, config.Name, config.DataDir);
        var options = ToServerOptions(config);
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });

        await using var server = await EtcdServer.StartAsync(options, loggers, stop.Token).ConfigureAwait(false);
        var registry = new GrpcServiceRegistry();
        ClientApi.Register(registry, server);
        var hostOptions = new ClientHostOptions
        {
            ListenUrls = config.ListenClientUrls.Select(UrlText).ToList(),
            Grpc = new GrpcServerOptions { MaxReceiveMessageBytes = GrpcServerOptions.ReceiveLimitFor(config.MaxRequestBytes) },
        };
        await using var host = new ClientHost(hostOptions, registry, routes => HttpEndpoints.Map(routes, server), loggers);
        await host.StartAsync(stop.Token).ConfigureAwait(false);
        log.LogInformation("enabled capabilities for version {version}", "3.4");
        log.LogInformation("ready to serve client requests on {address}", string.Join(",", host.BoundUrls));

        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            log.LogInformation("received a stop signal, shutting down server {name}", config.Name);
        }
        return 0;
    }

    /// <summary>Maps the parsed etcd configuration onto what the member's actors need.</summary>
    internal static ServerOptions ToServerOptions(MemberConfig config) => new()
    {
        Name = config.Name,
        DataDir = config.DataDir,
        WalDir = config.WalDir,
        InitialCluster = config.InitialCluster.ToDictionary(
            member => member.Key,
            member => (IReadOnlyList<string>)member.Value.Select(UrlText).ToArray()),
        InitialClusterState = config.InitialClusterState == InitialClusterState.Existing ? "existing" : "new",
        InitialClusterToken = config.InitialClusterToken,
        AdvertisePeerUrls = config.InitialAdvertisePeerUrls.Select(UrlText).ToArray(),
        AdvertiseClientUrls = config.AdvertiseClientUrls.Select(UrlText).ToArray(),
        SnapshotCount = config.SnapshotCount,
        HeartbeatIntervalMs = (int)config.HeartbeatIntervalMs,
        ElectionTimeoutMs = (int)config.ElectionTimeoutMs,
        QuotaBackendBytes = config.QuotaBackendBytes,
        MaxRequestBytes = (int)Math.Min(int.MaxValue, config.MaxRequestBytes),
        MaxTxnOps = (int)Math.Min(int.MaxValue, config.MaxTxnOps),
        MaxWals = (int)config.MaxWals,
        MaxSnapshots = (int)config.MaxSnapshots,
        PreVote = config.PreVote,
    };

    /// <summary>A URL as etcd prints and hashes it: <c>scheme://host:port</c>, no trailing slash.</summary>
    internal static string UrlText(Uri url) =>
        url.Scheme == "unix" || url.Scheme == "unixs"
            ? url.OriginalString
            : url.GetLeftPart(UriPartial.Authority) + (url.AbsolutePath == "/" ? "" : url.AbsolutePath);
}
