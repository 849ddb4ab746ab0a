using Akka.Hosting;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// Wiring of Akka's logging into the member's JSON log, for Akka.Hosting. Use with the member's actor-system config:
/// <code>
/// services.AddAkka("etcd", akka => akka
///     .AddHocon(memberConfig.AkkaConfig, HoconAddMode.Prepend)   // no stdout logging, akka.loglevel from --log-level
///     .AddEtcdJsonLogging());
/// </code>
/// with the host's logging set to the member's provider (<c>logging.ClearProviders().AddProvider(EtcdJsonLoggerProvider.FromConfig(config))</c>).
/// </summary>
public static class AkkaLogging
{
    /// <summary>
    /// Makes <see cref="AkkaJsonLogger"/> Akka's only logger (<c>akka.loggers</c>), so every Akka log line — actors'
    /// <c>Context.GetLogger()</c>, dead letters, Akka's own start-up and shutdown lines — goes through the host's
    /// <see cref="Microsoft.Extensions.Logging.ILoggerFactory"/> as an etcd JSON line instead of Akka's text on stdout.
    /// Leaves <c>akka.loglevel</c> to the config (<see cref="Configuration.MemberConfig.AkkaConfig"/> sets it from --log-level).
    /// </summary>
    /// <param name="builder">The actor system's builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static AkkaConfigurationBuilder AddEtcdJsonLogging(this AkkaConfigurationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureLoggers(setup =>
        {
            setup.ClearLoggers();
            setup.AddLogger<AkkaJsonLogger>();
        });
    }
}
