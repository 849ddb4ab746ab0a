using System.Collections.Frozen;
using System.Globalization;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// The member settings of a HOCON config's <c>akka.etcd</c> section, read once from a <see cref="Akka.Configuration.Config"/>
/// with akka-etcd's embedded reference config (<see cref="DefaultConfig"/>) as the fallback, the way Akka's own
/// <c>...Settings</c> classes read theirs.
/// <para>Every key of <c>akka.etcd</c> is an etcd 3.4 flag name (<c>name</c>, <c>data-dir</c>, <c>listen-client-urls</c>,
/// ...) and means what the flag means. Values are checked with the flag's own syntax (Go's flag and strconv rules, etcd's
/// URL lists) and kept as the flag's canonical text in <see cref="Values"/>: HOCON arrays become comma-separated lists;
/// <c>heartbeat-interval</c>, <c>election-timeout</c> and the <c>proxy-*</c> millisecond settings take a plain number of
/// milliseconds or a HOCON duration (<c>100ms</c>, <c>1s</c>, <c>"2 seconds"</c>); Go-duration settings
/// (<c>grpc-keepalive-min-time</c>, ...) take Go durations (<c>5s</c>, <c>1m30s</c>) or HOCON ones; booleans take Go's
/// forms and HOCON's <c>on</c>/<c>off</c>/<c>yes</c>/<c>no</c>; <c>null</c> leaves the default. The typed view, after ETCD_* variables and flags have overridden these values, is <see cref="MemberConfig"/>.</para>
/// <para>Immutable and thread-safe.</para>
/// </summary>
public sealed class EtcdSettings
{
    /// <summary>The HOCON path of the member settings: <c>akka.etcd</c>.</summary>
    public const string SectionPath = "akka.etcd";

    /// <summary>Name of the embedded resource holding <see cref="DefaultConfig"/>.</summary>
    public const string ReferenceResourceName = "Akka.Etcd.Node.Configuration.reference.conf";

    /// <summary>
    /// Settings whose HOCON value may be a duration while the flag counts milliseconds (etcd's <c>uint</c> ms flags).
    /// </summary>
    private static readonly FrozenSet<string> MillisecondSettings = new[]
    {
        "heartbeat-interval", "election-timeout", "proxy-failure-wait", "proxy-refresh-interval",
        "proxy-dial-timeout", "proxy-write-timeout", "proxy-read-timeout",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly Lazy<Config> Reference = new(() => ConfigurationFactory.FromResource(ReferenceResourceName, typeof(EtcdSettings).Assembly));

    private readonly FrozenSet<string> _explicit;

    private EtcdSettings(Config config, FrozenDictionary<string, string> values, FrozenSet<string> explicitNames)
    {
        Config = config;
        Values = values;
        _explicit = explicitNames;
    }

    /// <summary>
    /// akka-etcd's reference config (the embedded <c>reference.conf</c>): <c>akka.etcd</c> with etcd 3.4's default for every
    /// setting, and the actor system defaults the member needs (<c>akka.stdout-loglevel = OFF</c>,
    /// <c>akka.log-config-on-start = off</c>, <c>akka.log-dead-letters = 10</c>, <c>akka.loglevel = INFO</c>).
    /// </summary>
    public static Config DefaultConfig => Reference.Value;

    /// <summary>The settings with every default, as when no HOCON file is given.</summary>
    public static EtcdSettings Default { get; } = Create(Config.Empty);

    /// <summary>
    /// The whole config these settings were read from, with <see cref="DefaultConfig"/> as its fallback: what the
    /// member's actor system is configured with (see <see cref="ActorSystemConfig"/>).
    /// </summary>
    public Config Config { get; }

    /// <summary>
    /// Every setting by flag name (without dashes), as the flag's canonical text (<c>"snapshot-count" =&gt; "100000"</c>,
    /// <c>"heartbeat-interval" =&gt; "100"</c> (ms), <c>"listen-client-urls" =&gt; "http://a:2379,http://b:2379"</c>); the
    /// default where the config does not set one.
    /// </summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>The settings the config itself set (not taken from <see cref="DefaultConfig"/>), by flag name.</summary>
    public IReadOnlyCollection<string> ExplicitNames => _explicit;

    /// <summary>True when the config given to <see cref="Create"/> set <paramref name="name"/> (a flag name, no dashes).</summary>
    public bool IsSet(string name) => _explicit.Contains(name);

    /// <summary>
    /// Reads the settings from <paramref name="config"/> (a user's config, without <see cref="DefaultConfig"/> merged in:
    /// what it sets counts as <see cref="IsSet"/>), falling back to <see cref="DefaultConfig"/>.
    /// </summary>
    /// <exception cref="ConfigErrorException">An unknown key in <c>akka.etcd</c>, a key that is an object or holds no
    /// value, or a value the flag rejects; <see cref="ConfigErrorException.SettingPath"/> names the key
    /// (<c>akka.etcd.&lt;name&gt;</c>).</exception>
    public static EtcdSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var merged = config.IsEmpty ? DefaultConfig : config.WithFallback(DefaultConfig);
        var explicitNames = new HashSet<string>(StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);

        var section = config.IsEmpty ? null : config.GetValue(SectionPath);
        if (section is not null && !section.IsEmpty)
        {
            if (!section.IsObject())
                throw new ConfigErrorException($"'{SectionPath}' must be an object of settings", settingPath: SectionPath);
            foreach (var (key, value) in section.GetObject().Items)
            {
                var flag = Find(key) ?? throw new ConfigErrorException($"unknown setting '{SectionPath}.{key}'", settingPath: $"{SectionPath}.{key}");
                if (Read(flag, value) is { } text)
                {
                    values[flag.Name] = text;
                    explicitNames.Add(flag.Name);
                }
            }
        }

        var defaults = merged.GetValue(SectionPath)?.GetObject();
        foreach (var flag in FlagCatalog.All)
        {
            if (values.ContainsKey(flag.Name) || !IsSetting(flag))
                continue;
            var value = defaults?.GetKey(flag.Name);
            values[flag.Name] = value is null ? flag.Default : Read(flag, value) ?? flag.Default;
        }
        return new EtcdSettings(merged, values.ToFrozenDictionary(StringComparer.Ordinal), explicitNames.ToFrozenSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// The config for the member's actor system: <see cref="Config"/> with <c>akka.loglevel</c> set from the member's
    /// --log-level (<see cref="ToAkkaLogLevel"/>), so Akka logs at the level the member's JSON log writes.
    /// </summary>
    /// <param name="etcdLogLevel">The member's --log-level: debug, info, warn, error, panic or fatal.</param>
    /// <exception cref="ArgumentException"><paramref name="etcdLogLevel"/> is not an etcd log level.</exception>
    public Config ActorSystemConfig(string etcdLogLevel) =>
        ConfigurationFactory.ParseString($"akka.loglevel = {ToAkkaLogLevel(etcdLogLevel)}").WithFallback(Config);

    /// <summary>
    /// Akka's <c>akka.loglevel</c> for an etcd --log-level: debug =&gt; DEBUG, info =&gt; INFO, warn =&gt; WARNING,
    /// error, panic and fatal =&gt; ERROR (Akka has no higher level).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="etcdLogLevel"/> is not an etcd log level.</exception>
    public static string ToAkkaLogLevel(string etcdLogLevel) => etcdLogLevel switch
    {
        "debug" => "DEBUG",
        "info" => "INFO",
        "warn" => "WARNING",
        "error" or "panic" or "fatal" => "ERROR",
        _ => throw new ArgumentException($"unknown log-level \"{etcdLogLevel}\" (only supports debug, info, warn, error, panic, or fatal)", nameof(etcdLogLevel)),
    };

    /// <summary>The flags that are settings of <c>akka.etcd</c>: all but the ignored legacy flags and the ones that name files or exit.</summary>
    internal static bool IsSetting(FlagSpec flag) => flag.Kind != FlagKind.Ignored && flag.Name is not ("config" or "config-file" or "version");

    private static FlagSpec? Find(string key) => FlagCatalog.Find(key) is { } flag && IsSetting(flag) ? flag : null;

    /// <summary>The flag text of one HOCON value, or null for <c>null</c>; throws <see cref="ConfigErrorException"/>.</summary>
    private static string? Read(FlagSpec flag, HoconValue value)
    {
        var path = $"{SectionPath}.{flag.Name}";
        string? text;
        // Akka's IsArray is false for an empty array: look at the elements instead.
        if (value.Values.Count > 0 && value.Values.All(element => element.IsArray()))
        {
            var items = new List<string>();
            foreach (var item in value.GetArray())
            {
                if (!item.IsString())
                    throw new ConfigErrorException($"'{path}' must be a list of strings", settingPath: path);
                items.Add(item.GetString() ?? "");
            }
            text = string.Join(',', items);
        }
        else if (value.IsString())
        {
            text = value.GetString();
            if (text is null)
                return null; // HOCON null: keep the default
        }
        else if (value.IsObject() && !value.IsEmpty)
        {
            throw new ConfigErrorException($"'{path}' must be a value, not an object", settingPath: path);
        }
        else
        {
            throw new ConfigErrorException($"'{path}' has no value", settingPath: path);
        }

        if (flag.Kind == FlagKind.Bool)
            text = text switch { "on" or "yes" => "true", "off" or "no" => "false", _ => text }; // HOCON's boolean words
        text = NormalizeDuration(flag, text);
        try
        {
            return flag.Check(text);
        }
        catch (FormatException e)
        {
            throw new ConfigErrorException($"invalid value \"{text}\" for '{path}': {e.Message}", e, path);
        }
    }

    /// <summary>HOCON durations for the millisecond and Go-duration settings; anything else is left for the flag's check.</summary>
    private static string NormalizeDuration(FlagSpec flag, string text)
    {
        if (MillisecondSettings.Contains(flag.Name))
        {
            if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) && TryParseHoconDuration(text, out var ms))
                return ((ulong)ms.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            return text;
        }
        if (flag.Kind != FlagKind.Duration)
            return text;
        try
        {
            GoValueSyntax.ParseDuration(text);
            return text;
        }
        catch (FormatException)
        {
            return TryParseHoconDuration(text, out var duration)
                ? (duration.Ticks * 100).ToString(CultureInfo.InvariantCulture) + "ns"
                : text;
        }
    }

    /// <summary>A HOCON duration (<c>100ms</c>, <c>1.5 s</c>, <c>2 minutes</c>; a bare number is milliseconds) read by Akka's HOCON.</summary>
    private static bool TryParseHoconDuration(string text, out TimeSpan duration)
    {
        var value = new HoconValue();
        value.AppendValue(new HoconLiteral { Value = text });
        try
        {
            duration = value.GetTimeSpan(allowInfinite: false);
            return true;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            duration = default;
            return false;
        }
    }
}
