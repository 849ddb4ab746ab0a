using System.Net;
using Akka.Etcd.Api.Hosting;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Api.Tests.Grpc;

/// <summary>
/// An in-process listener on 127.0.0.1:0 built as the member builds its own (<see cref="EtcdWebHost"/>, Grpc.AspNetCore
/// with <see cref="EtcdGrpcEndpoints"/>), plus a Grpc.Net.Client channel pointed at it.
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly WebApplication _app;
    private readonly ILoggerFactory _loggers;
    private GrpcChannel? _channel;

    private TestHost(WebApplication app, ILoggerFactory loggers, CapturingLoggerProvider logs)
    {
        _app = app;
        _loggers = loggers;
        Logs = logs;
        Endpoint = new Uri(app.GetBoundUrls()[0]);
    }

    public Uri Endpoint { get; }

    /// <summary>A channel to <see cref="Endpoint"/> (an http:// one), made at first use.</summary>
    public GrpcChannel Channel => _channel ??= CreateChannel(Endpoint);

    public CapturingLoggerProvider Logs { get; }

    public WebApplication App => _app;

    /// <summary>A channel over one h2c connection, without client-side message limits (the server's are under test).</summary>
    public static GrpcChannel CreateChannel(Uri endpoint, HttpMessageHandler? handler = null) => GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
    {
        HttpHandler = handler ?? new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        MaxReceiveMessageSize = null,
        MaxSendMessageSize = null,
        DisposeHttpClient = true,
    });

    /// <summary>Serves <paramref name="service"/> (one shared instance) with <paramref name="limits"/>, the fallback, and <paramref name="routes"/>.</summary>
    public static Task<TestHost> StartAsync<TService>(TService service, GrpcServerOptions? limits = null,
        Action<IEndpointRouteBuilder>? routes = null, Action<EtcdListenerOptions>? configure = null)
        where TService : class =>
        StartAsync(services => services.AddSingleton(service), app =>
        {
            app.MapEtcdGrpcService<TService>(limits ?? new GrpcServerOptions());
            routes?.Invoke(app);
            app.MapEtcdGrpcFallback();
        }, configure);

    /// <summary>A listener whose services and endpoints the test registers itself (Grpc.AspNetCore is added already).</summary>
    public static async Task<TestHost> StartAsync(Action<IServiceCollection> services, Action<WebApplication> map,
        Action<EtcdListenerOptions>? configure = null)
    {
        var options = new EtcdListenerOptions { ListenUrls = ["http://127.0.0.1:0"] };
        configure?.Invoke(options);
        var logs = new CapturingLoggerProvider();
        var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var builder = EtcdWebHost.CreateBuilder(loggers).AddEtcdListener(options);
        builder.Services.AddEtcdGrpc();
        services(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new TestHost(app, loggers, logs);
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
        _loggers.Dispose();
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
