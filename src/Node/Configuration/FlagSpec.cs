namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// One command-line flag: its name (without dashes), value kind, default text, the help group and text
/// shown by <c>--help</c>, and for <see cref="FlagKind.Choice"/> the accepted values.
/// </summary>
internal sealed record FlagSpec(string Name, FlagKind Kind, string Default, string Group, string Help, string? HelpDefault = null, string[]? Choices = null)
{
    /// <summary>The ETCD_* environment variable for this flag (etcd pkg/flags FlagToEnv): upper case, '-' => '_'.</summary>
    public string EnvironmentVariable => FlagCatalog.ToEnvironmentVariable(Name);

    /// <summary>True for flags that take no value on the command line.</summary>
    public bool IsBool => Kind == FlagKind.Bool;

    /// <summary>Checks <paramref name="value"/> and returns its canonical text; throws <see cref="FormatException"/> with Go's error text.</summary>
    public string Check(string value)
    {
        switch (Kind)
        {
            case FlagKind.Bool:
                return GoValueSyntax.ParseBool(value) ? "true" : "false";
            case FlagKind.Uint:
            case FlagKind.Uint64:
                return GoValueSyntax.ParseUnsigned(value, 64).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case FlagKind.Int:
            case FlagKind.Int64:
                return GoValueSyntax.ParseSigned(value, 64).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case FlagKind.Uint32:
                try
                {
                    return GoValueSyntax.ParseUnsigned(value, 32).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (FormatException e)
                {
                    var reason = e.Message == GoValueSyntax.RangeError ? "value out of range" : "invalid syntax";
                    throw new FormatException($"strconv.ParseUint: parsing \"{value}\": {reason}");
                }
            case FlagKind.Duration:
                GoValueSyntax.ParseDuration(value);
                return value;
            case FlagKind.Urls:
                if (value.Length > 0) // etcd registers URL lists with "" as an allowed exception
                    GoValueSyntax.ParseUrls(value);
                return value;
            case FlagKind.Cors:
                foreach (var origin in value.Split(','))
                {
                    if (origin != "*")
                        GoValueSyntax.ParseUrls(origin);
                }
                return value;
            case FlagKind.Choice:
                return Choices!.Contains(value) ? value : throw new FormatException("invalid value");
            default:
                return value;
        }
    }
}
