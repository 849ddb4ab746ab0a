using System.Collections.Concurrent;
using Akka.Etcd.Node.Configuration;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// <see cref="ILoggerProvider"/> writing etcd 3.4 <c>--logger=zap</c> style JSON lines, one per call:
/// <c>{"level":"info","ts":"2026-11-22T02:24:36.755Z","caller":"raft/RaftActor","msg":"became leader at term 2","term":2}</c>.
/// Levels below <see cref="MinimumLevel"/> (from --log-level) are dropped before formatting. Each call
/// serializes into a per-thread pooled buffer and writes the finished line under a lock, so concurrent
/// loggers never interleave. Thread-safe; dispose to flush and close owned files.
/// </summary>
public sealed class EtcdJsonLoggerProvider : ILoggerProvider
{
    private readonly LogSink _sink;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, EtcdJsonLogger> _loggers = new(StringComparer.Ordinal);

    /// <summary>Writes to <paramref name="output"/> (e.g. a StringWriter in tests).</summary>
    /// <param name="output">Destination; each line is written and flushed under the provider's lock.</param>
    /// <param name="minimumLevel">Lowest level written; default Information (--log-level info).</param>
    /// <param name="time">Clock for <c>ts</c> (local time zone of the provider); default <see cref="TimeProvider.System"/>.</param>
    public EtcdJsonLoggerProvider(TextWriter output, LogLevel minimumLevel = LogLevel.Information, TimeProvider? time = null)
        : this(new LogSink(output), minimumLevel, time)
    {
    }

    private EtcdJsonLoggerProvider(LogSink sink, LogLevel minimumLevel, TimeProvider? time)
    {
        _sink = sink;
        _time = time ?? TimeProvider.System;
        MinimumLevel = minimumLevel;
    }

    /// <summary>
    /// Builds the provider etcd would from a member config: level from <see cref="MemberConfig.LogLevel"/>,
    /// outputs from <see cref="MemberConfig.LogOutputs"/> (<c>default</c> and <c>stderr</c> => standard
    /// error, <c>stdout</c> => standard output, anything else => a file path opened for append).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown log level.</exception>
    /// <exception cref="IOException">A log file cannot be opened.</exception>
    public static EtcdJsonLoggerProvider FromConfig(MemberConfig config, TimeProvider? time = null)
    {
        var level = EtcdLogLevels.Parse(config.LogLevel);
        var streams = new List<Stream>();
        var owned = true;
        foreach (var output in config.LogOutputs.Distinct())
        {
            streams.Add(output switch
            {
                "default" or "stderr" => Console.OpenStandardError(),
                "stdout" => Console.OpenStandardOutput(),
                _ => new FileStream(output, FileMode.Append, FileAccess.Write, FileShare.ReadWrite),
            });
        }
        if (streams.Count == 0)
            streams.Add(Console.OpenStandardError());
        return new EtcdJsonLoggerProvider(new LogSink(streams, owned), level, time);
    }

    /// <summary>Lowest level written.</summary>
    public LogLevel MinimumLevel { get; }

    /// <summary>Returns the (cached) logger for a category; its <c>caller</c> is <see cref="LogCaller.FromCategory"/>.</summary>
    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (c, p) => new EtcdJsonLogger(LogCaller.FromCategory(c), p), this);

    /// <summary>Writes one line directly (used for messages emitted before loggers exist, e.g. flag errors).</summary>
    public void WriteLine(LogLevel level, string caller, string message, IEnumerable<KeyValuePair<string, object?>>? fields = null, Exception? exception = null)
    {
        if (level < MinimumLevel || level == LogLevel.None)
            return;
        _sink.Write(ZapJsonLine.Format(_time.GetLocalNow(), level, caller, message, fields, exception));
    }

    /// <summary>Flushes and closes owned outputs.</summary>
    public void Dispose() => _sink.Dispose();
}
