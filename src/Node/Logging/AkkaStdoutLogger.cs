using Akka.Event;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// Akka's stdout logger for the member (<c>akka.stdout-logger-class</c> in reference.conf): the logger Akka writes to
/// while its own loggers are not running, before <see cref="AkkaJsonLogger"/> starts and after the logging bus has
/// stopped it during shutdown (a cluster member's last "Remoting shut down" lines come then, whatever
/// <c>akka.stdout-loglevel</c> says). Akka's <see cref="StandardOutLogger"/> would print those in its own
/// <c>[INFO][date][thread][source]</c> text on stdout; this one writes the same etcd JSON line
/// <see cref="AkkaJsonLogger"/> would, to the node's log (<see cref="WriteTo"/>), or to standard error (etcd's default
/// log output) before the node has one. A line that cannot be written (the log already closed at exit) is dropped:
/// a logger must not throw into Akka's event stream. Akka creates it by reflection, with no arguments, once per
/// ActorSystem; its only state is the process-wide output set by <see cref="WriteTo"/> (one node log per process).
/// </summary>
public sealed class AkkaStdoutLogger : MinimalLogger
{
    private static EtcdJsonLoggerProvider? s_output;

    /// <summary>Sends every later line to <paramref name="output"/> (the node's log provider, which applies
    /// <c>--log-level</c> and <c>--log-outputs</c>); <see langword="null"/> sends them to standard error again.</summary>
    public static void WriteTo(EtcdJsonLoggerProvider? output) => Volatile.Write(ref s_output, output);

    /// <summary>Writes one <see cref="LogEvent"/> as an etcd JSON line; anything else Akka publishes here is ignored.</summary>
    protected override void Log(object message)
    {
        if (message is not LogEvent logEvent)
            return;
        var line = AkkaJsonLogger.ToLine(logEvent);
        var level = AkkaJsonLogger.ToLogLevel(logEvent.LogLevel());
        try
        {
            var output = Volatile.Read(ref s_output);
            if (output is not null)
            {
                output.WriteLine(level, line.Source, line.Message, line, logEvent.Cause);
                return;
            }
            using var stderr = Console.OpenStandardError();
            stderr.Write(ZapJsonLine.Format(DateTimeOffset.Now, level, line.Source, line.Message, line, logEvent.Cause));
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
        }
    }
}
