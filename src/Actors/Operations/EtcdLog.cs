using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Operations;

/// <summary>
/// Writes a log line the way etcd's zap logger does: a fixed message (<c>"completed auto revision compaction"</c>) and
/// named fields (<c>revision</c>, <c>took</c>, ...) kept apart, so the member's JSON log shows etcd's <c>msg</c> verbatim
/// with the fields beside it. Thread-safe as the logger is.
/// </summary>
public static class EtcdLog
{
    /// <summary>Logs <paramref name="message"/> at <paramref name="level"/> with <paramref name="fields"/> (name, value) in order.</summary>
    public static void Write(ILogger logger, LogLevel level, string message, params (string Name, object? Value)[] fields)
    {
        if (!logger.IsEnabled(level))
        {
            return;
        }
        var state = new List<KeyValuePair<string, object?>>(fields.Length);
        foreach (var (name, value) in fields)
        {
            state.Add(new KeyValuePair<string, object?>(name, value));
        }
        logger.Log(level, default, state, null, (_, _) => message);
    }
}
