using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Logging;

/// <summary>
/// Maps etcd's (zap's) level names to <see cref="LogLevel"/> and back. --log-level accepts debug, info,
/// warn, error, panic and fatal (etcd 3.4 help.go); panic and fatal both map to
/// <see cref="LogLevel.Critical"/>, which is written as <c>"fatal"</c>. Thread-safe.
/// </summary>
public static class EtcdLogLevels
{
    /// <summary>The --log-level names etcd accepts, lowest first.</summary>
    public static readonly IReadOnlyList<string> Names = ["debug", "info", "warn", "error", "panic", "fatal"];

    /// <summary>True when <paramref name="name"/> is a valid --log-level value.</summary>
    public static bool IsValid(string name) => Names.Contains(name);

    /// <summary>The minimum <see cref="LogLevel"/> written for a --log-level value.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="Names"/>.</exception>
    public static LogLevel Parse(string name) => name switch
    {
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warn" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "panic" or "fatal" => LogLevel.Critical,
        _ => throw new ArgumentException($"unknown log-level \"{name}\" (only supports debug, info, warn, error, panic, or fatal)", nameof(name)),
    };

    /// <summary>The zap level name written in the <c>"level"</c> field: Trace and Debug => debug, Information => info, Warning => warn, Error => error, Critical => fatal.</summary>
    public static string ToZapName(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "fatal",
    };
}
