using System.Globalization;

namespace Akka.Etcd.Storage.EtcdDb;

/// <summary>
/// Byte counts as etcd prints them (go-humanize's <c>Bytes</c>): SI units, base 1000, one decimal below 10
/// (<c>9 B</c>, <c>20 kB</c>, <c>1.5 MB</c>, <c>83 MB</c>).
/// </summary>
public static class HumanBytes
{
    static readonly string[] Units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

    /// <summary>Formats <paramref name="bytes"/>.</summary>
    public static string Format(ulong bytes)
    {
        if (bytes < 10) return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        var exponent = Math.Floor(Math.Log(bytes) / Math.Log(1000));
        var value = Math.Floor(bytes / Math.Pow(1000, exponent) * 10 + 0.5) / 10;
        // Go's %.0f rounds an exact half to even (20.5 -> "20").
        return value < 10
            ? string.Format(CultureInfo.InvariantCulture, "{0:F1} {1}", value, Units[(int)exponent])
            : string.Format(CultureInfo.InvariantCulture, "{0:F0} {1}", Math.Round(value, MidpointRounding.ToEven), Units[(int)exponent]);
    }
}
