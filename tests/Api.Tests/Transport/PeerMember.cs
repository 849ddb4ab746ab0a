using System.Net;
using System.Net.Sockets;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Peer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Raftpb;

namespace Akka.Etcd.Api.Tests.Transport;

/// <summary>
/// One member's peer side in-process: a <see cref="PeerTransport"/> and a peer listener (<see cref="EtcdPeerApi"/>) serving its
/// <see cref="PeerService"/> on loopback, plus a record of every event it raised. Waits are event-driven with deadlines.
/// </summary>
internal sealed class PeerMember : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly object _lock = new();
    private readonly List<Message> _received = [];
    private readonly List<ulong> _unreachable = [];
    private readonly List<(ulong Peer, bool Ok)> _snapshotStatus = [];
    private readonly List<ulong> _removedBy = [];
    private readonly List<string> _logs = [];
    private readonly List<(Func<bool> Condition, TaskCompletionSource Done)> _waiters = [];
    private WebApplication? _host;

    private PeerMember(ulong id, RaftTransportOptions options, string snapshotDirectory)
    {
        Id = id;
        SnapshotDirectory = snapshotDirectory;
        Transport = new PeerTransport(options, new LogRecorder(_logs));
        Transport.Received += m => Record(() => _received.Add(m));
        Transport.Unreachable += p => Record(() => _unreachable.Add(p));
        Transport.SnapshotStatus += (p, ok) => Record(() => _snapshotStatus.Add((p, ok)));
        Transport.RemovedFromCluster += p => Record(() => _removedBy.Add(p));
        Transport.ActiveChanged += (_, _) => Record(() => { });
    }

    public ulong Id { get; }

    /// <summary>What the transport logged (all levels), for failure messages.</summary>
    public string Logs
    {
        get
        {
            lock (_logs)
                return string.Join(Environment.NewLine, _logs);
        }
    }

    public PeerTransport Transport { get; }

    public string SnapshotDirectory { get; }

    /// <summary>The URL this member listens (or will listen) on.</summary>
    public string Url { get; private set; } = string.Empty;

    /// <summary>
    /// Creates a member. With <paramref name="start"/> it listens on a port of its own at once; without, it only
    /// reserves a free port (<see cref="Url"/>) that <see cref="StartAsync"/> binds later: a peer that is "down".
    /// </summary>
    public static async Task<PeerMember> CreateAsync(ulong id, ulong clusterId = 0x1000, bool start = true,
        Action<RaftTransportOptions>? configure = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "akka-etcd-peer-tests", Guid.NewGuid().ToString("N"));
        var options = new RaftTransportOptions
        {
            LocalId = id,
            ClusterId = clusterId,
            SnapshotDirectory = directory,
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(20),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(200),
            DialTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        var member = new PeerMember(id, options, directory);
        if (start)
            await member.StartAsync(0);
        else
            member.Url = $"http://127.0.0.1:{FreePort()}";
        return member;
    }

    /// <summary>Binds the listener (on the reserved port when <paramref name="port"/> is null) and starts the transport.</summary>
    public async Task StartAsync(int? port = null)
    {
        var listenPort = port ?? new Uri(Url).Port;
        var builder = EtcdWebHost.CreateBuilder(NullLoggerFactory.Instance)
            .AddEtcdListener(new EtcdListenerOptions { ListenUrls = [$"http://127.0.0.1:{listenPort}"] });
        builder.Services.AddSingleton(Transport).AddEtcdPeerApi();
        _host = builder.Build();
        _host.MapEtcdPeerApi(mapRoutes: false);
        await _host.StartAsync();
        Url = _host.GetBoundUrls()[0];
        Transport.Start();
    }

    /// <summary>Stops the transport, then the listener: the member is down.</summary>
    public async Task StopAsync()
    {
        await Transport.StopAsync();
        if (_host is { } host)
        {
            _host = null;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await host.StopAsync(stop.Token);
            await host.DisposeAsync();
        }
    }

    public Message[] Received
    {
        get
        {
            lock (_lock)
                return _received.ToArray();
        }
    }

    public Message[] ReceivedFrom(ulong from) => Received.Where(m => m.From == from).ToArray();

    public int UnreachableCount(ulong peer)
    {
        lock (_lock)
            return _unreachable.Count(p => p == peer);
    }

    public (ulong Peer, bool Ok)[] SnapshotStatuses
    {
        get
        {
            lock (_lock)
                return _snapshotStatus.ToArray();
        }
    }

    public ulong[] RemovedBy
    {
        get
        {
            lock (_lock)
                return _removedBy.ToArray();
        }
    }

    /// <summary>Completes when <paramref name="condition"/> holds, re-checked after every event; fails after the deadline.</summary>
    public Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (condition())
                return Task.CompletedTask;
            _waiters.Add((condition, done));
        }

        return WithDeadline(done.Task, what);
    }

    public static async Task WithDeadline(Task task, string what)
    {
        try
        {
            await task.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {Timeout.TotalSeconds} s waiting for: {what}");
        }
    }

    public static Message App(ulong from, ulong to, ulong index) =>
        new() { Type = MessageType.MsgApp, From = from, To = to, Term = 1, Index = index };

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(SnapshotDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private void Record(Action change)
    {
        List<TaskCompletionSource> ready = [];
        lock (_lock)
        {
            change();
            _waiters.RemoveAll(w =>
            {
                if (!w.Condition())
                    return false;
                ready.Add(w.Done);
                return true;
            });
        }

        foreach (var done in ready)
            done.TrySetResult();
    }

    private sealed class LogRecorder(List<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (lines)
                lines.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
