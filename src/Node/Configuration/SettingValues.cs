using System.Globalization;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Flag values by flag name, as canonical text checked by <see cref="FlagSpec.Check"/>, plus which names
/// were set explicitly (by a flag, env var or file) rather than defaulted. Not thread-safe; one per parse.
/// </summary>
internal sealed class SettingValues
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _explicit = new(StringComparer.Ordinal);

    /// <summary>Starts from <paramref name="settings"/>: its values, and its explicitly set names marked as set.</summary>
    public SettingValues(EtcdSettings settings)
    {
        foreach (var flag in FlagCatalog.All)
            _values[flag.Name] = settings.Values.GetValueOrDefault(flag.Name, flag.Default);
        _explicit.UnionWith(settings.ExplicitNames);
    }

    /// <summary>Checks and stores a value; throws <see cref="FormatException"/> with Go's error text.</summary>
    public void Set(FlagSpec flag, string value)
    {
        _values[flag.Name] = flag.Check(value);
        _explicit.Add(flag.Name);
    }

    public bool IsSet(string name) => _explicit.Contains(name);

    public string String(string name) => _values[name];

    public bool Bool(string name) => _values[name] == "true";

    /// <summary>A Go uint flag narrowed to 32 bits; larger values are rejected as out of range.</summary>
    public uint Uint32(string name)
    {
        var value = ulong.Parse(_values[name], CultureInfo.InvariantCulture);
        return value <= uint.MaxValue
            ? (uint)value
            : throw new ConfigErrorException($"invalid value \"{_values[name]}\" for --{name}: {GoValueSyntax.RangeError}");
    }

    public ulong Uint64(string name) => ulong.Parse(_values[name], CultureInfo.InvariantCulture);

    public long Int64(string name) => long.Parse(_values[name], CultureInfo.InvariantCulture);

    public TimeSpan Duration(string name) => GoValueSyntax.ParseDuration(_values[name]);

    public IReadOnlyList<Uri> Urls(string name) => _values[name].Length == 0 ? [] : GoValueSyntax.ParseUrls(_values[name]);

    public IReadOnlyList<string> List(string name) => GoValueSyntax.SplitList(_values[name]);
}
