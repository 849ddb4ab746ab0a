using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;
using AkkaLogLevel = Akka.Event.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// An Akka logger (an entry of <c>akka.loggers</c>) that writes Akka's log events into the host's
/// <see cref="ILoggerFactory"/> — the one Akka.Hosting puts in the actor system's <see cref="LoggerFactorySetup"/> — under
/// the category <see cref="Category"/>, with an <see cref="AkkaLogLine"/> state, so the member's
/// <see cref="EtcdJsonLoggerProvider"/> writes them as etcd JSON lines: <c>caller</c> = Akka's log source (the actor path),
/// <c>msg</c> = the message alone, named template holes (<c>{Term}</c>) as fields, a cause as <c>error</c> (and <c>stacktrace</c> at error).
/// Levels: Debug =&gt; debug, Info =&gt; info, Warning =&gt; warn, Error =&gt; error.
/// <para>Akka.Hosting's own <see cref="LoggerFactoryLogger"/> is not used because it logs every event under the one category
/// <c>Akka.Actor.ActorSystem</c> with Akka's decorated text (<c>[INFO][12/03/2026 10:00:00.000Z][Thread 0001][akka://etcd/user/x] msg</c>)
/// as the message, which would give every Akka line the same caller and a second timestamp inside <c>msg</c>.</para>
/// Register it with <see cref="AkkaLogging.AddEtcdJsonLogging"/>.
/// </summary>
public sealed class AkkaJsonLogger : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    /// <summary>The logger category Akka's events are written under (<c>caller</c> comes from the event, not from it).</summary>
    public const string Category = "Akka";

    private static readonly IReadOnlyList<KeyValuePair<string, object?>> NoProperties = [];

    private readonly ILogger _logger;

    /// <summary>Created by Akka's logging bus when it starts the loggers of <c>akka.loggers</c>.</summary>
    /// <exception cref="Akka.Configuration.ConfigurationException">The actor system has no <see cref="LoggerFactorySetup"/>
    /// (Akka.Hosting adds one when the host has an <see cref="ILoggerFactory"/>).</exception>
    public AkkaJsonLogger()
    {
        var setup = Context.System.Settings.Setup.Get<LoggerFactorySetup>();
        if (!setup.HasValue)
            throw new Akka.Configuration.ConfigurationException(
                $"{nameof(AkkaJsonLogger)} needs a {nameof(LoggerFactorySetup)} in the actor system setup (Akka.Hosting adds one from the host's ILoggerFactory)");
        _logger = setup.Value.LoggerFactory.CreateLogger(Category);
    }

    /// <inheritdoc />
    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent logEvent:
                Write(logEvent);
                return true;
            default:
                return false;
        }
    }

    private void Write(LogEvent logEvent)
    {
        var level = ToLogLevel(logEvent.LogLevel());
        if (!_logger.IsEnabled(level))
            return;
        _logger.Log(level, default, ToLine(logEvent), logEvent.Cause, static (state, _) => state.Message);
    }

    /// <summary>
    /// The event as an <see cref="AkkaLogLine"/>: source (or <c>akka</c>), the formatted message (a template that does
    /// not fit its arguments gives <c>malformed log message (...)</c> instead of throwing), and the named template holes
    /// as properties (positional ones, <c>{0}</c>, only make the message).
    /// </summary>
    public static AkkaLogLine ToLine(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        var properties = logEvent.TryGetProperties(out var semantic) && semantic is { Count: > 0 }
            ? semantic.Where(p => !p.Key.All(char.IsAsciiDigit)).Select(p => new KeyValuePair<string, object?>(p.Key, p.Value)).ToList()
            : NoProperties;
        string text;
        try
        {
            text = logEvent.Message?.ToString() ?? "";
        }
        catch (FormatException e)
        {
            text = $"malformed log message ({e.Message}): {(logEvent.Message as LogMessage)?.Format ?? logEvent.Message?.GetType().Name}";
        }
        return new AkkaLogLine(logEvent.LogSource ?? "akka", text, properties);
    }

    /// <summary>Akka's level as a <see cref="LogLevel"/>: Debug, Information, Warning, Error.</summary>
    public static LogLevel ToLogLevel(AkkaLogLevel level) => level switch
    {
        AkkaLogLevel.DebugLevel => LogLevel.Debug,
        AkkaLogLevel.InfoLevel => LogLevel.Information,
        AkkaLogLevel.WarningLevel => LogLevel.Warning,
        _ => LogLevel.Error,
    };
}
