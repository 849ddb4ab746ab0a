using System.Globalization;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// The <c>grpc-timeout</c> header of grpc/doc/PROTOCOL-HTTP2.md: at most 8 ASCII digits followed by a unit,
/// H (hours), M (minutes), S (seconds), m (milliseconds), u (microseconds) or n (nanoseconds). Thread-safe.
/// </summary>
public static class GrpcTimeout
{
    /// <summary>Header name.</summary>
    public const string HeaderName = "grpc-timeout";

    private const long MaxValue = 99_999_999;

    /// <summary>
    /// Formats a timeout with the finest unit whose value fits in 8 digits (rounded up, so the server never sees
    /// less time than the client has left). Negative timeouts format as "0n".
    /// </summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = Math.Max(0, timeout.Ticks);
        // Nanoseconds first: 1 tick = 100 ns.
        if (ticks <= MaxValue / 100)
            return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "n";
        if (CeilDiv(ticks, TimeSpan.TicksPerMicrosecond) is var us && us <= MaxValue)
            return us.ToString(CultureInfo.InvariantCulture) + "u";
        if (CeilDiv(ticks, TimeSpan.TicksPerMillisecond) is var ms && ms <= MaxValue)
            return ms.ToString(CultureInfo.InvariantCulture) + "m";
        if (CeilDiv(ticks, TimeSpan.TicksPerSecond) is var s && s <= MaxValue)
            return s.ToString(CultureInfo.InvariantCulture) + "S";
        if (CeilDiv(ticks, TimeSpan.TicksPerMinute) is var m && m <= MaxValue)
            return m.ToString(CultureInfo.InvariantCulture) + "M";
        return Math.Min(MaxValue, CeilDiv(ticks, TimeSpan.TicksPerHour)).ToString(CultureInfo.InvariantCulture) + "H";
    }

    private static long CeilDiv(long value, long divisor) => (value + divisor - 1) / divisor;
}
