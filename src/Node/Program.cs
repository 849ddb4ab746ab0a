using System.Collections;
using System.Runtime.InteropServices;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Http;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Node.Hosting;
using Akka.Hosting;
using Akka.Etcd.Node.Cluster;
using Akka.Etcd.Api.Services;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.Node.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
        // Akka's fallback logger (before its loggers start, after they stop) writes to the same log.
        AkkaStdoutLogger.WriteTo(logProvider);
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
            typeof(Program).Assembly.GetName().Version?.ToString(3), LocalMember.ServerVersion, config.Name, config.DataDir);
        var options = ToServerOptions(config);
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });

        // Whether the data dir held a member before this start: only a restarted member is checked against its peers.
        var memberInitialized = Akka.Etcd.Actors.Supervision.OpenedMember.IsInitialized(options);
        // The member runs in a generic host: Akka.Hosting starts its ActorSystem with remoting bound to the peer URL (the
        // peer port is Akka.Remote's, DotNetty TCP) and Akka.Cluster, then MemberService creates the peer actor, joins an
        // existing cluster if asked to, opens the data dir and starts the member's actors in it.
        var remoting = PeerRemoting.Config(config);
        // Two live processes must never share the peer address: an earlier incarnation still stopping would be a second
        // UID for it, and the peers would quarantine whichever associated first (see PeerPort).
        var (peerHost, peerPort) = PeerRemoting.BindAddress(config);
        try
        {
            await PeerPort.WaitUntilFreeAsync(peerHost, peerPort, PeerPort.DefaultWait, log, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            log.LogInformation("received a stop signal while waiting for the peer port; exiting");
            return 0;
        }
        // https peer URLs: Akka.Remote's TLS takes the member's certificate and checks as an ActorSystem setup.
        var peerTls = PeerTls.Load(config, loggers.CreateLogger("embed/peer-tls"));
        var memberBuilder = MemberHost.CreateBuilder(loggers);
        memberBuilder.Services.AddAkka(PeerAddress.SystemName, akka =>
        {
            akka.AddHocon(config.AkkaConfig, HoconAddMode.Prepend)
                .AddHocon(remoting, HoconAddMode.Prepend)
                .AddHocon(LocalMember.ActorsConfig, HoconAddMode.Append)
                .AddEtcdJsonLogging();
            if (peerTls is not null)
                akka.AddSetup(peerTls.Setup());
        });
        memberBuilder.Services.AddSingleton(options).AddSingleton<MemberService>()
            .AddHostedService(provider => provider.GetRequiredService<MemberService>());
        using var memberHost = memberBuilder.Build();
        await memberHost.StartAsync(stop.Token).ConfigureAwait(false);
        var server = await memberHost.Services.GetRequiredService<MemberService>().Server.ConfigureAwait(false);
        log.LogInformation("listening for peers on {address}", string.Join(",", config.ListenPeerUrls.Select(UrlText)));
        // The client listener is built (ASP.NET Core's and gRPC's services, routes, their first JIT) while the member
        // replays its log and elects a leader; its port opens only once the member is ready, as in etcd.
        var clientBuilder = EtcdWebHost.CreateBuilder(loggers)
            .AddEtcdListener(new EtcdListenerOptions
            {
                ListenUrls = config.ListenClientUrls.Select(UrlText).ToList(),
                Tls = ClientTls(config, loggers.CreateLogger("embed/config")),
            });
        // The dashboard and the akka_cluster_* metrics read the Akka cluster view from the member's cluster monitor.
        var clusterMonitor = memberHost.Services.GetRequiredService<ActorRegistry>().Get<ClusterMonitorActor>();
        clientBuilder.Services.AddSingleton(server).AddEtcdClientApi()
            .AddSingleton<Akka.Etcd.Actors.Metrics.IAkkaClusterView>(new Akka.Etcd.Actors.Metrics.ClusterMonitorView(clusterMonitor,
                id => server.Membership.Members.FirstOrDefault(member => member.ID == id)?.Name is { Length: > 0 } name ? name : null));
        await using var host = clientBuilder.Build();
        host.MapEtcdClientApi(new GrpcServerOptions { MaxReceiveMessageBytes = GrpcServerOptions.ReceiveLimitFor(config.MaxRequestBytes) },
            gateway: config.EnableGrpcGateway);
        if (options.Operations.InitialCorruptCheck && memberInitialized)
        {
            // etcd checks a restarted member against its peers before it serves (a new member has nothing to compare).
            await Akka.Etcd.Actors.Operations.InitialCorruptionCheck.RunAsync(server.Gateway, server.PeerHashKV, stop.Token).ConfigureAwait(false);
        }
        await server.WaitUntilReadyAsync(stop.Token).ConfigureAwait(false);
        await host.StartAsync(stop.Token).ConfigureAwait(false);
        log.LogInformation("enabled capabilities for version {version}", "3.4");
        log.LogInformation("ready to serve client requests on {address}", string.Join(",", host.GetBoundUrls()));
        SystemdReadiness.NotifyReady(new Microsoft.Extensions.Hosting.Systemd.SystemdNotifier(), log);
        await using var metricsHost = await StartMetricsListenerAsync(config, loggers, server, host, stop.Token).ConfigureAwait(false);
        if (metricsHost is not null)
            log.LogInformation("serving metrics and health on {address}", string.Join(",", metricsHost.GetBoundUrls()));

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStop = stop.Token.Register(() => stopped.TrySetResult());
        var quarantined = memberHost.Services.GetRequiredService<MemberService>().Quarantined;
        var end = await WaitForEndAsync(stopped.Task, server.Exited, quarantined, QuarantineGrace).ConfigureAwait(false);
        if (end == RunEnd.Quarantined)
        {
            var quarantine = await quarantined.ConfigureAwait(false);
            // As etcd exits on a state it cannot recover from: a member cut off for good must not stay up as a
            // zombie; a restart (a new incarnation, a new UID) recovers it.
            log.LogCritical("member {name} was quarantined by peer {peer}: Akka.Remote refuses this incarnation until it restarts; exiting",
                config.Name, quarantine.RemoteAddress.ToString());
            await ShutdownAsync(host, metricsHost, server, memberHost, log).ConfigureAwait(false);
            return 1;
        }
        if (end == RunEnd.Exited)
        {
            var exit = await server.Exited.ConfigureAwait(false);
            if (exit.Fatal)
            {
                // As etcd panics: a member whose WAL, Raft or store failed does not go on serving.
                log.LogCritical(exit.Cause, "member stopped: {reason}", exit.Reason);
                await ShutdownAsync(host, metricsHost, server, memberHost, log).ConfigureAwait(false);
                return 1;
            }
            log.LogWarning("{reason}; exiting", exit.Reason);
        }
        else
        {
            log.LogInformation("received a stop signal, shutting down server {name}", config.Name);
        }
        await ShutdownAsync(host, metricsHost, server, memberHost, log).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// The graceful stop, in etcd's order (embed.Etcd.Close): client listeners first (each gets
    /// <see cref="ListenerStopTimeout"/> to let its calls finish), then the member's <see cref="LocalMember.StopAsync"/>
    /// (a leader of a multi-voter cluster hands leadership to a connected voter, bounded by
    /// <see cref="MemberGateway.RequestTimeout"/>, so the others need not wait an election timeout; then its actors and the
    /// peer transport stop), then the member's host, whose ActorSystem leaves the Akka cluster (Akka's coordinated
    /// shutdown: Leaving, Exiting, Removed) and closes the peer port.
    /// </summary>
    private static async Task ShutdownAsync(WebApplication clientHost, WebApplication? metricsHost, LocalMember server, IHost memberHost, ILogger log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await StopListenerAsync(clientHost).ConfigureAwait(false);
        if (metricsHost is not null)
            await StopListenerAsync(metricsHost).ConfigureAwait(false);
        await server.StopAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(MemberHostStopTimeout))
        {
            await memberHost.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        log.LogInformation("left the Akka cluster; stopped serving in {took} ms", clock.ElapsedMilliseconds);
    }

    /// <summary>
    /// How long a quarantined member may take to stop on its own (a member removed from the cluster is quarantined by
    /// the others too) before the node treats the quarantine as fatal.
    /// </summary>
    private static readonly TimeSpan QuarantineGrace = TimeSpan.FromSeconds(10);

    /// <summary>Why a serving member's run ends (<see cref="WaitForEndAsync"/>).</summary>
    internal enum RunEnd
    {
        /// <summary>A stop signal (SIGTERM, SIGINT): the graceful stop, exit code 0.</summary>
        Stopped,

        /// <summary>The member stopped by itself (removed from the cluster, or a fatal failure: see its exit).</summary>
        Exited,

        /// <summary>A peer quarantined this incarnation and the member did not stop by itself within the grace: exit 1.</summary>
        Quarantined,
    }

    /// <summary>
    /// Waits until the member's run ends: a stop signal (<paramref name="stopped"/>), the member's own exit
    /// (<paramref name="exited"/>), or a quarantine by a peer (<paramref name="quarantined"/>). A quarantine alone does
    /// not end the run at once: a member removed from the cluster is quarantined by the others too and stops by itself,
    /// so it gets <paramref name="grace"/> to do so (or to be stopped) before the quarantine counts.
    /// </summary>
    internal static async Task<RunEnd> WaitForEndAsync(Task stopped, Task exited, Task quarantined, TimeSpan grace)
    {
        var ended = await Task.WhenAny(stopped, exited, quarantined).ConfigureAwait(false);
        if (ended == quarantined)
        {
            ended = await Task.WhenAny(stopped, exited, Task.Delay(grace)).ConfigureAwait(false);
            if (ended != stopped && ended != exited)
                return RunEnd.Quarantined;
        }
        return ended == exited ? RunEnd.Exited : RunEnd.Stopped;
    }

    /// <summary>How long leaving the Akka cluster and stopping the actor system may take at stop.</summary>
    private static readonly TimeSpan MemberHostStopTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// <c>--listen-metrics-urls</c>: a listener of its own for <c>/metrics</c> and the health probes (etcd's metrics
    /// listener), so that monitoring reaches them without the client port; null when the flag is not given.
    /// </summary>
    private static async Task<WebApplication?> StartMetricsListenerAsync(MemberConfig config, ILoggerFactory loggers, LocalMember server,
        WebApplication clientHost, CancellationToken cancel)
    {
        if (config.ListenMetricsUrls.Count == 0)
            return null;
        var builder = EtcdWebHost.CreateBuilder(loggers)
            .AddEtcdListener(new EtcdListenerOptions { ListenUrls = config.ListenMetricsUrls.Select(UrlText).ToList() });
        var metricsHost = builder.Build();
        HttpEndpoints.MapMetricsListener(metricsHost, server.Gateway, clientHost.Services.GetRequiredService<Akka.Etcd.Api.Services.KvService>(),
            clientHost.Services.GetService<Akka.Etcd.Actors.Metrics.IAkkaClusterView>());
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
    /// The client listener's TLS, loaded when a client URL is <c>https://</c> or <c>unixs://</c> and cert/key files or
    /// <c>--auto-tls</c> are given (the self-signed pair goes to <c>&lt;data-dir&gt;/fixtures/client</c>, as etcd's);
    /// null otherwise (cert files next to only http URLs are ignored with etcd's warning). Throws
    /// <see cref="ArgumentException"/> for unreadable files or an unknown cipher suite.
    /// </summary>
    internal static Api.Hosting.Tls.LoadedTls? ClientTls(MemberConfig config, ILogger log)
    {
        var security = config.ClientSecurity;
        var secure = config.ListenClientUrls.Any(url => url.Scheme is "https" or "unixs");
        if (!secure)
        {
            if (security.CertFile.Length > 0 || security.KeyFile.Length > 0)
                log.LogWarning("scheme is HTTP while key and cert files are present; ignoring key and cert files");
            if (security.ClientCertAuth)
                log.LogWarning("scheme is HTTP while --client-cert-auth is enabled; ignoring client cert auth for this URL");
            return null;
        }
        if (!security.IsEnabled)
            return null; // the listener refuses the https URL with etcd's message
        return new Api.Hosting.Tls.EtcdTlsOptions
        {
            CertFile = security.CertFile,
            KeyFile = security.KeyFile,
            TrustedCaFile = security.TrustedCaFile,
            ClientCertAuth = security.ClientCertAuth,
            CrlFile = security.CrlFile,
            AutoTls = security.AutoTls,
            AutoTlsDir = Path.Combine(config.DataDir, "fixtures", "client"),
            AutoTlsHosts = config.ListenClientUrls.Select(url => url.Authority).ToList(),
            CipherSuites = config.CipherSuites,
        }.Load(log);
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
        SnapshotCatchUpEntries = config.ExperimentalSnapshotCatchUpEntries,
        HeartbeatIntervalMs = (int)config.HeartbeatIntervalMs,
        ElectionTimeoutMs = (int)config.ElectionTimeoutMs,
        QuotaBackendBytes = config.QuotaBackendBytes,
        MaxRequestBytes = (int)Math.Min(int.MaxValue, config.MaxRequestBytes),
        MaxTxnOps = (int)Math.Min(int.MaxValue, config.MaxTxnOps),
        MaxWals = (int)config.MaxWals,
        MaxSnapshots = (int)config.MaxSnapshots,
        PreVote = config.PreVote,
        Operations = OperationsConfig.From(config),
        StrictReconfigCheck = config.StrictReconfigCheck,
        AuthToken = config.AuthToken,
        AuthTokenTtlSeconds = config.AuthTokenTtlSeconds,
        BcryptCost = (int)Math.Min(int.MaxValue, config.BcryptCost),
        ClientCertAuth = config.ClientSecurity.ClientCertAuth,
    };

    /// <summary>A URL as etcd prints and hashes it: <c>scheme://host:port</c>, no trailing slash.</summary>
    internal static string UrlText(Uri url) =>
        url.Scheme == "unix" || url.Scheme == "unixs"
            ? url.OriginalString
            : url.GetLeftPart(UriPartial.Authority) + (url.AbsolutePath == "/" ? "" : url.AbsolutePath);
}
