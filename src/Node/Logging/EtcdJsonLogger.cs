using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// A logger for one category writing zap-style JSON lines through the provider's sink. Message-template
/// arguments become fields (<c>LogInformation("elected leader {term}", 2)</c> => <c>"term":2</c>).
/// Scopes are accepted and not written. An <see cref="AkkaLogLine"/> state gives its own caller (Akka's log source). Thread-safe.
/// </summary>
internal sealed class EtcdJsonLogger(string caller, EtcdJsonLoggerProvider provider) : ILogger
{
    public string Caller { get; } = caller;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= provider.MinimumLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
            return;
        var message = formatter(state, exception);
        var fields = state as IEnumerable<KeyValuePair<string, object?>>;
        // Akka's lines name their own source (an actor path): that is the caller, not the shared "Akka" category.
        provider.WriteLine(logLevel, state is AkkaLogLine akka ? akka.Source : Caller, message, fields, exception);
    }
}
