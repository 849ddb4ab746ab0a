using System.Globalization;
using Akka.Etcd.Node.Configuration.Hocon;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Reads our HOCON member configuration (--config file.conf): every key of the <c>akka.etcd</c> object
/// is a flag name; arrays become comma-separated lists; <c>heartbeat-interval</c>, <c>election-timeout</c>
/// and the proxy millisecond settings also take HOCON durations (<c>100ms</c>, <c>1s</c>); Go duration
/// settings take Go or HOCON durations. Keys outside <c>akka.etcd</c> are ignored; unknown keys inside
/// it are errors (with line and column).
/// </summary>
internal static class HoconConfigFile
{
    /// <summary>The object holding member settings.</summary>
    public const string SectionPath = "akka.etcd";

    private static readonly HashSet<string> MillisecondFlags = new(StringComparer.Ordinal)
    {
        "heartbeat-interval", "election-timeout", "proxy-failure-wait", "proxy-refresh-interval",
        "proxy-dial-timeout", "proxy-write-timeout", "proxy-read-timeout",
    };

    /// <summary>Parses the file at <paramref name="path"/> and applies its <c>akka.etcd</c> settings onto <paramref name="values"/>.</summary>
    /// <exception cref="ConfigErrorException">Unreadable file, HOCON error, unknown key, or bad value.</exception>
    public static void Apply(string path, IReadOnlyDictionary<string, string> environment, SettingValues values)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigErrorException($"open {path}: {e.Message}", e);
        }
        try
        {
            ApplyText(text, environment, values);
        }
        catch (HoconException e)
        {
            throw new ConfigErrorException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Applies HOCON text; see the type summary.</summary>
    public static void ApplyText(string text, IReadOnlyDictionary<string, string> environment, SettingValues values)
    {
        var root = HoconParser.Parse(text, environment);
        if (root.GetValue(SectionPath) is not HoconObject section)
            throw new HoconException($"no '{SectionPath}' object found", root.Line, root.Column);
        foreach (var (key, value) in section)
        {
            var flag = FlagCatalog.Find(key);
            if (flag is null || flag.Kind == FlagKind.Ignored || key is "config" or "config-file" or "version")
                throw new HoconException($"unknown setting '{SectionPath}.{key}'", value.Line, value.Column);
            var textValue = value switch
            {
                HoconScalar { Kind: HoconValueKind.Null } => null,
                HoconScalar s => s.Text,
                HoconArray a => string.Join(',', a.Select(item => item is HoconScalar s ? s.Text
                    : throw new HoconException($"'{SectionPath}.{key}' must be a list of strings", item.Line, item.Column))),
                _ => throw new HoconException($"'{SectionPath}.{key}' must be a value, not an object", value.Line, value.Column),
            };
            if (textValue is null)
                continue;
            textValue = NormalizeDuration(flag, textValue);
            try
            {
                values.Set(flag, textValue);
            }
            catch (FormatException e)
            {
                throw new HoconException($"invalid value \"{textValue}\" for '{SectionPath}.{key}': {e.Message}", value.Line, value.Column);
            }
        }
    }

    private static string NormalizeDuration(FlagSpec flag, string text)
    {
        if (MillisecondFlags.Contains(flag.Name) && !ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && HoconObject.TryParseDuration(text, out var ms) && ms >= TimeSpan.Zero)
            return ((ulong)ms.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        if (flag.Kind == FlagKind.Duration)
        {
            try
            {
                GoValueSyntax.ParseDuration(text);
            }
            catch (FormatException)
            {
                if (HoconObject.TryParseDuration(text, out var duration))
                    return (duration.Ticks * 100).ToString(CultureInfo.InvariantCulture) + "ns";
            }
        }
        return text;
    }
}
