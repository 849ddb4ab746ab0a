using System.Collections;
using System.Runtime.InteropServices;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Http;
using Akka.Etcd.Api.Peer;
using Akka.Etcd.Node.Hosting;
using Akka.Hosting;
using Akka.Etcd.Node.Cluster;
using Akka.Etcd.Storage.Wal;
using Akka.Etcd.Api.Services;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.Node.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node;

/// <summary>Process entry point of the akka-etcd member: etcd's flags in, a serving member out.</summary>
public static class Program
{
    /// <summary>
    /// Parses flags, <c>ETCD_*</c> variables and config files (see <see cref="MemberConfigParser"/>), starts the
    /// member and serves clients until SIGINT/SIGTERM. Returns 0 after a clean stop, 2 for bad flags (as etcd),
    /// 1 when the member cannot start (e.g. a corrupt WAL or a taken port). <c>akka-etcd snapshot restore|status ...</c>
    /// runs etcdctl's offline snapshot commands instead (<see cref="Snapshots.SnapshotCommand"/>) and returns their exit code.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        // etcdctl's offline snapshot commands: akka-etcd snapshot restore|status (src/Node/Snapshots).
        if (args.Length > 0 && args[0] == "snapshot") return Snapshots.SnapshotCommand.Run(args[1..], Console.Out, Console.Error);
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
            // Kestrel's per-request and per-connection chatter is not etcd's; keep its warnings and errors only.
            // Level rules, not delegates: a delegate filter runs on every IsEnabled call of every request.
            var quietLevel = logProvider.MinimumLevel > LogLevel.Warning ? logProvider.MinimumLevel : LogLevel.Warning;
            builder.AddFilter("Microsoft", quietLevel);
            // Grpc.AspNetCore logs every cancelled call and non-OK status at info/debug: etcd logs neither.
            builder.AddFilter("Grpc", quietLevel);
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

        if (config.InitialClusterState == InitialClusterState.Existing && !WriteAheadLog.Exists(options.EffectiveWalDir))
        {
            options = await JoinOptionsAsync(options, log, stop.Token).ConfigureAwait(false);
        }
        // One ASP.NET Core host for the peer listener and the member: Akka.Hosting starts the member's ActorSystem (its
        // HOCON, etcd-style JSON logs), then MemberService opens the data dir and starts the member's actors in it.
        var peerBuilder = EtcdWebHost.CreateBuilder(loggers)
            .AddEtcdListener(new EtcdListenerOptions { ListenUrls = config.ListenPeerUrls.Select(UrlText).ToList() });
        peerBuilder.Services.AddAkka("akka-etcd", akka => akka
            .AddHocon(config.AkkaConfig, HoconAddMode.Prepend)
            .AddHocon(EtcdServer.ActorsConfig, HoconAddMode.Append)
            .AddEtcdJsonLogging());
        peerBuilder.Services.AddSingleton(options).AddSingleton<MemberService>()
            .AddHostedService(provider => provider.GetRequiredService<MemberService>())
            .AddSingleton(provider => provider.GetRequiredService<MemberService>().Current)
            .AddSingleton(provider => provider.GetRequiredService<MemberService>().Transport!)
            .AddEtcdPeerApi();
        await using var peerHost = peerBuilder.Build();
        peerHost.MapEtcdPeerApi();
        await peerHost.StartAsync(stop.Token).ConfigureAwait(false);
        var server = await peerHost.Services.GetRequiredService<MemberService>().Server.ConfigureAwait(false);
        server.PromoteForwarder = LeaderForwarding.PromoteAsync;
        log.LogInformation("listening for peers on {address}", string.Join(",", peerHost.GetBoundUrls()));
        await server.WaitUntilReadyAsync(stop.Token).ConfigureAwait(false);

        var clientBuilder = EtcdWebHost.CreateBuilder(loggers)
            .AddEtcdListener(new EtcdListenerOptions { ListenUrls = config.ListenClientUrls.Select(UrlText).ToList() });
        clientBuilder.Services.AddSingleton(server).AddEtcdClientApi();
        await using var host = clientBuilder.Build();
        host.MapEtcdClientApi(new GrpcServerOptions { MaxReceiveMessageBytes = GrpcServerOptions.ReceiveLimitFor(config.MaxRequestBytes) },
            gateway: config.EnableGrpcGateway);
        await host.StartAsync(stop.Token).ConfigureAwait(false);
        log.LogInformation("enabled capabilities for version {version}", "3.4");
        log.LogInformation("ready to serve client requests on {address}", string.Join(",", host.GetBoundUrls()));
        await using var metricsHost = await StartMetricsListenerAsync(config, loggers, server, host, stop.Token).ConfigureAwait(false);
        if (metricsHost is not null)
            log.LogInformation("serving metrics and health on {address}", string.Join(",", metricsHost.GetBoundUrls()));

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStop = stop.Token.Register(() => stopped.TrySetResult());
        var ended = await Task.WhenAny(stopped.Task, server.Exited).ConfigureAwait(false);
        if (ended == server.Exited)
        {
            var exit = await server.Exited.ConfigureAwait(false);
            if (exit.Fatal)
            {
                // As etcd panics: a member whose WAL, Raft or store failed does not go on serving.
                log.LogCritical(exit.Cause, "member stopped: {reason}", exit.Reason);
                await ShutdownAsync(host, metricsHost, server, peerHost, log).ConfigureAwait(false);
                return 1;
            }
            log.LogWarning("{reason}; exiting", exit.Reason);
        }
        else
        {
            log.LogInformation("received a stop signal, shutting down server {name}", config.Name);
        }
        await ShutdownAsync(host, metricsHost, server, peerHost, log).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// The graceful stop, in etcd's order (embed.Etcd.Close): client listeners first, then the member's
    /// <see cref="EtcdServer.StopAsync"/> (a leader of a multi-voter cluster hands leadership to a connected voter,
    /// bounded by <see cref="EtcdServer.RequestTimeout"/>, so the others need not wait an election timeout), then
    /// the peer listener, whose incoming streams the stopped transport has ended. Each listener gets
    /// <see cref="ListenerStopTimeout"/> to let its calls finish; the <c>await using</c> disposals that follow only
    /// release what is left.
    /// </summary>
    private static async Task ShutdownAsync(WebApplication clientHost, WebApplication? metricsHost, EtcdServer server, WebApplication peerHost, ILogger log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await StopListenerAsync(clientHost).ConfigureAwait(false);
        if (metricsHost is not null)
            await StopListenerAsync(metricsHost).ConfigureAwait(false);
        await server.StopAsync().ConfigureAwait(false);
        await StopListenerAsync(peerHost).ConfigureAwait(false);
        log.LogInformation("stopped serving in {took} ms", clock.ElapsedMilliseconds);
    }

    /// <summary>
    /// <c>--listen-metrics-urls</c>: a listener of its own for <c>/metrics</c> and the health probes (etcd's metrics
    /// listener), so that monitoring reaches them without the client port; null when the flag is not given.
    /// </summary>
    private static async Task<WebApplication?> StartMetricsListenerAsync(MemberConfig config, ILoggerFactory loggers, EtcdServer server,
        WebApplication clientHost, CancellationToken cancel)
    {
        if (config.ListenMetricsUrls.Count == 0)
            return null;
        var builder = EtcdWebHost.CreateBuilder(loggers)
            .AddEtcdListener(new EtcdListenerOptions { ListenUrls = config.ListenMetricsUrls.Select(UrlText).ToList() });
        var metricsHost = builder.Build();
        HttpEndpoints.MapMetricsListener(metricsHost, server, clientHost.Services.GetService<Akka.Etcd.Actors.Metrics.IAkkaClusterView>());
        await metricsHost.StartAsync(cancel).ConfigureAwait(false);
        return metricsHost;
    }

    /// <summary>How long a listener waits for its open calls (watch streams, say) before it closes them at stop.</summary>
    private static readonly TimeSpan ListenerStopTimeout = TimeSpan.FromSeconds(5);

    private static async Task StopListenerAsync(WebApplication listener)
    {
        using var timeout = new CancellationTokenSource(ListenerStopTimeout);
        await listener.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// For <c>--initial-cluster-state existing</c> on an empty data dir: asks the other peers of
    /// <c>--initial-cluster</c> who this member is (it was added with <c>etcdctl member add</c>).
    /// </summary>
    private static async Task<ServerOptions> JoinOptionsAsync(ServerOptions options, ILogger log, CancellationToken cancel)
    {
        var peers = options.InitialCluster.Where(member => member.Key != options.Name).SelectMany(member => member.Value).ToList();
        var joined = await ClusterJoin.DiscoverAsync(peers, options.AdvertisePeerUrls, log, cancel).ConfigureAwait(false);
        log.LogInformation("joining cluster {cluster} as member {member}", joined.ClusterId.ToString("x16"), joined.MemberId.ToString("x16"));
        return options with
        {
            JoinExisting = true,
            JoinIdentity = (joined.MemberId, joined.ClusterId),
            JoinPeers = joined.Members,
        };
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
