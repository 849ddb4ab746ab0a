using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// Wraps the node's <see cref="ILoggerFactory"/> for a listener's host and drops Kestrel's start-up warning
/// "HTTP/2 is not enabled ... Connections to this endpoint will use HTTP/1.1", which is false here because
/// <see cref="Http2PrefaceDetection"/> enables h2c per connection. Everything else passes through. Thread-safe.
/// Disposing it does not dispose the wrapped factory (the node owns that).
/// </summary>
internal sealed class KestrelLogFilter : ILoggerFactory
{
    private const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel";
    private const string Http2DisabledEvent = "Http2DisabledWithHttp1AndNoTls";
    private readonly ILoggerFactory _inner;

    public KestrelLogFilter(ILoggerFactory inner) => _inner = inner;

    public ILogger CreateLogger(string categoryName)
    {
        var logger = _inner.CreateLogger(categoryName);
        return categoryName == KestrelCategory ? new FilteringLogger(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => _inner.AddProvider(provider);

    public void Dispose()
    {
    }

    private sealed class FilteringLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name != Http2DisabledEvent)
                inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
