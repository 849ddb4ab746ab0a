using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Api.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Api.Tests.Grpc;

/// <summary>An in-process <see cref="ClientHost"/> on 127.0.0.1:0 plus a <see cref="GrpcClient"/> pointed at it.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly ClientHost _host;

    private TestHost(ClientHost host, Uri endpoint, CapturingLoggerProvider logs)
    {
        _host = host;
        Endpoint = endpoint;
        Logs = logs;
        Client = new GrpcClient(endpoint);
    }

    public Uri Endpoint { get; }

    public GrpcClient Client { get; }

    public CapturingLoggerProvider Logs { get; }

    public static async Task<TestHost> StartAsync(GrpcServiceRegistry registry, Action<ClientHostOptions>? configure = null,
        Action<IEndpointRouteBuilder>? routes = null)
    {
        var options = new ClientHostOptions { ListenUrls = ["http://127.0.0.1:0"] };
        configure?.Invoke(options);
        var logs = new CapturingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var host = new ClientHost(options, registry, routes, loggerFactory);
        await host.StartAsync();
        return new TestHost(host, new Uri(host.BoundUrls[0]), logs);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _host.DisposeAsync();
    }
}

/// <summary>Keeps error-level log entries so tests can assert a failure was logged.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly List<(string Message, Exception? Exception)> _errors = [];

    public IReadOnlyList<(string Message, Exception? Exception)> Errors
    {
        get
        {
            lock (_errors)
                return _errors.ToArray();
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => NullLogger.Instance.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel < LogLevel.Error)
                return;
            lock (owner._errors)
                owner._errors.Add((formatter(state, exception), exception));
        }
    }
}
