using System.Globalization;
using System.Numerics;
using System.Text;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Parsers for flag values with the syntax and error texts of Go's <c>flag</c> and <c>strconv</c>
/// packages and etcd's pkg/types URL lists, so bad values are reported exactly as etcd 3.4 does
/// (e.g. <c>parse error</c>, <c>value out of range</c>, <c>URL scheme must be http, https, unix, or unixs: x</c>).
/// Each parser throws <see cref="FormatException"/> whose message is the Go error text. Thread-safe.
/// </summary>
internal static class GoValueSyntax
{
    public const string ParseError = "parse error";
    public const string RangeError = "value out of range";

    /// <summary>strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.</summary>
    public static bool ParseBool(string s) => s switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => throw new FormatException(ParseError),
    };

    /// <summary>strconv.ParseUint(s, 0, bits) with flag's error texts; base prefixes 0x, 0o, 0b and a leading 0 (octal) are honoured.</summary>
    public static ulong ParseUnsigned(string s, int bits)
    {
        if (!TryParseMagnitude(s, out var value))
            throw new FormatException(ParseError);
        var max = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        return value > max ? throw new FormatException(RangeError) : (ulong)value;
    }

    /// <summary>strconv.ParseInt(s, 0, bits) with flag's error texts.</summary>
    public static long ParseSigned(string s, int bits)
    {
        var negative = s.StartsWith('-');
        var body = s.StartsWith('-') || s.StartsWith('+') ? s[1..] : s;
        if (!TryParseMagnitude(body, out var magnitude))
            throw new FormatException(ParseError);
        var limit = BigInteger.One << (bits - 1);
        var value = negative ? -magnitude : magnitude;
        if (value >= limit || value < -limit)
            throw new FormatException(RangeError);
        return (long)value;
    }

    private static bool TryParseMagnitude(string s, out BigInteger value)
    {
        value = BigInteger.Zero;
        if (s.Length == 0)
            return false;
        int radix = 10, start = 0;
        if (s.Length > 1 && s[0] == '0')
        {
            switch (char.ToLowerInvariant(s[1]))
            {
                case 'x': radix = 16; start = 2; break;
                case 'o': radix = 8; start = 2; break;
                case 'b': radix = 2; start = 2; break;
                default: radix = 8; start = 1; break;
            }
        }
        var digits = 0;
        var previousUnderscore = start == 0; // '_' must sit between digits (or right after a base prefix)
        for (var i = start; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '_')
            {
                if (previousUnderscore)
                    return false;
                previousUnderscore = true;
                continue;
            }
            var d = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (d >= radix)
                return false;
            value = value * radix + d;
            digits++;
            previousUnderscore = false;
        }
        return !(previousUnderscore && s[^1] == '_') && (digits > 0 || (radix == 8 && start == 1));
    }

    /// <summary>time.ParseDuration: e.g. <c>300ms</c>, <c>-1.5h</c>, <c>2h45m</c>; units ns, us (µs), ms, s, m, h; "0" needs no unit.</summary>
    public static TimeSpan ParseDuration(string s)
    {
        var rest = s.AsSpan();
        var negative = false;
        if (rest.Length > 0 && (rest[0] == '-' || rest[0] == '+'))
        {
            negative = rest[0] == '-';
            rest = rest[1..];
        }
        if (rest.SequenceEqual("0"))
            return TimeSpan.Zero;
        if (rest.IsEmpty)
            throw new FormatException(ParseError);
        decimal totalNanoseconds = 0;
        while (!rest.IsEmpty)
        {
            var n = 0;
            while (n < rest.Length && (char.IsAsciiDigit(rest[n]) || rest[n] == '.'))
                n++;
            if (n == 0 || !decimal.TryParse(rest[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                throw new FormatException(ParseError);
            rest = rest[n..];
            var u = 0;
            while (u < rest.Length && !char.IsAsciiDigit(rest[u]) && rest[u] != '.')
                u++;
            decimal unitNanoseconds = rest[..u].ToString() switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => throw new FormatException(ParseError),
            };
            rest = rest[u..];
            totalNanoseconds += number * unitNanoseconds;
            if (totalNanoseconds > long.MaxValue)
                throw new FormatException(ParseError);
        }
        var ticks = (long)(totalNanoseconds / 100m);
        return TimeSpan.FromTicks(negative ? -ticks : ticks);
    }

    /// <summary>Formats a duration as Go's time.Duration.String does: <c>100ms</c>, <c>1s</c>, <c>1m30s</c>, <c>1.5µs</c>, <c>0s</c>.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var ticks = duration.Ticks;
        if (ticks == 0)
            return "0s";
        var sb = new StringBuilder();
        if (ticks < 0)
        {
            sb.Append('-');
            ticks = -ticks;
        }
        if (ticks < TimeSpan.TicksPerSecond)
        {
            var ns = (decimal)ticks * 100m;
            var (unit, scale) = ns < 1_000m ? ("ns", 1m) : ns < 1_000_000m ? ("µs", 1_000m) : ("ms", 1_000_000m);
            sb.Append((ns / scale).ToString("0.#########", CultureInfo.InvariantCulture)).Append(unit);
            return sb.ToString();
        }
        var hours = ticks / TimeSpan.TicksPerHour;
        var minutes = ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute;
        var seconds = (decimal)(ticks % TimeSpan.TicksPerMinute) / TimeSpan.TicksPerSecond;
        if (hours > 0)
            sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        if (hours > 0 || minutes > 0)
            sb.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        sb.Append(seconds.ToString("0.#######", CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }

    /// <summary>
    /// etcd's types.NewURLs on a comma-separated list: each URL trimmed, scheme http, https, unix or
    /// unixs, host of the form host:port, no path. Returns the URLs sorted by their text, as etcd does.
    /// </summary>
    public static IReadOnlyList<Uri> ParseUrls(string commaSeparated)
    {
        var result = new List<(string Text, Uri Uri)>();
        foreach (var raw in commaSeparated.Split(','))
        {
            var text = raw.Trim();
            var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
            var scheme = schemeEnd > 0 ? text[..schemeEnd] : "";
            if (scheme is not ("http" or "https" or "unix" or "unixs"))
                throw new FormatException($"URL scheme must be http, https, unix, or unixs: {text}");
            var afterScheme = text[(schemeEnd + 3)..];
            var hostEnd = afterScheme.IndexOfAny(['/', '?', '#']);
            var host = hostEnd < 0 ? afterScheme : afterScheme[..hostEnd];
            if (!HasHostPortForm(host))
                throw new FormatException($"URL address does not have the form \"host:port\": {text}");
            if (hostEnd >= 0 && afterScheme[hostEnd] == '/')
                throw new FormatException($"URL must not contain a path: {text}");
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
                throw new FormatException($"parse \"{text}\": invalid URL");
            result.Add((text, uri));
        }
        return result.OrderBy(r => r.Uri.ToString().TrimEnd('/'), StringComparer.Ordinal).Select(r => r.Uri).ToList();
    }

    /// <summary>net.SplitHostPort's acceptance: <c>host:port</c> or <c>[ipv6]:port</c> with exactly one separating colon.</summary>
    private static bool HasHostPortForm(string host)
    {
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']');
            return close > 0 && close + 1 < host.Length && host[close + 1] == ':' && host.IndexOf(':', close + 2) < 0;
        }
        var colon = host.IndexOf(':');
        return colon >= 0 && host.IndexOf(':', colon + 1) < 0 && host.IndexOfAny(['[', ']']) < 0;
    }

    /// <summary>Splits a comma-separated list the way etcd's StringsValue does (empty input => empty list).</summary>
    public static IReadOnlyList<string> SplitList(string commaSeparated) =>
        commaSeparated.Length == 0 ? Array.Empty<string>() : commaSeparated.Split(',');
}
