namespace Akka.Etcd.Node.Snapshots;

/// <summary>A command line that does not parse; the message is pflag's (<c>unknown flag: --foo</c>).</summary>
internal sealed class SnapshotUsageException(string message) : Exception(message);

/// <summary>
/// The arguments of one <c>snapshot</c> subcommand parsed the way etcdctl's cobra/pflag parse them: <c>--flag value</c>,
/// <c>--flag=value</c>, <c>-w value</c>, <c>-w=value</c>, <c>-wvalue</c>; boolean flags take no separate value
/// (<c>--skip-hash-check</c>, <c>--skip-hash-check=false</c>); flags and positional arguments may be interleaved;
/// <c>--</c> ends the flags. etcdctl's global flags (<c>--endpoints</c>, <c>--dial-timeout</c>, ...) are accepted and
/// ignored, so a script's <c>$ETCDCTL snapshot status</c> line works with our executable too. Immutable.
/// </summary>
internal sealed class SnapshotCommandLine
{
    private static readonly HashSet<string> GlobalValueFlags = new(StringComparer.Ordinal)
    {
        "cacert", "cert", "command-timeout", "dial-timeout", "discovery-srv", "discovery-srv-name", "endpoints",
        "keepalive-time", "keepalive-timeout", "key", "password", "user",
    };

    private static readonly HashSet<string> GlobalBoolFlags = new(StringComparer.Ordinal)
    {
        "debug", "hex", "insecure-discovery", "insecure-skip-tls-verify", "insecure-transport",
    };

    private readonly Dictionary<string, string> _values;

    private SnapshotCommandLine(Dictionary<string, string> values, IReadOnlyList<string> arguments, bool help)
    {
        _values = values;
        Arguments = arguments;
        Help = help;
    }

    /// <summary>The positional arguments, in order.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>True when <c>-h</c> or <c>--help</c> was given.</summary>
    public bool Help { get; }

    /// <summary>The value of a value flag, or <paramref name="fallback"/> when it was not given.</summary>
    public string Value(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    /// <summary>The value of a boolean flag (false when not given).</summary>
    public bool Bool(string name) => _values.TryGetValue(name, out var value) && value == "true";

    /// <summary>
    /// Parses <paramref name="args"/> for a subcommand with value flags <paramref name="valueFlags"/> (long name, optional
    /// one-letter shorthand) and boolean flags <paramref name="boolFlags"/>.
    /// </summary>
    /// <exception cref="SnapshotUsageException">pflag's errors: <c>unknown flag: --x</c>, <c>unknown shorthand flag: 'x' in -x</c>,
    /// <c>flag needs an argument: --x</c>, <c>invalid argument "v" for "--x" flag: strconv.ParseBool: parsing "v": invalid syntax</c>.</exception>
    public static SnapshotCommandLine Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, char?> valueFlags, IReadOnlySet<string> boolFlags)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = new List<string>();
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                positional.AddRange(args.Skip(i + 1));
                break;
            }
            if (arg.Length < 2 || arg[0] != '-')
            {
                positional.Add(arg);
                continue;
            }
            string name;
            string? value = null;
            string shown;
            if (arg[1] == '-')
            {
                name = arg[2..];
                var eq = name.IndexOf('=');
                if (eq >= 0)
                {
                    value = name[(eq + 1)..];
                    name = name[..eq];
                }
                shown = "--" + name;
                if (name == "help")
                {
                    help = true;
                    continue;
                }
                if (!valueFlags.ContainsKey(name) && !boolFlags.Contains(name) && !GlobalValueFlags.Contains(name) && !GlobalBoolFlags.Contains(name))
                    throw new SnapshotUsageException($"unknown flag: {shown}");
            }
            else
            {
                var letter = arg[1];
                if (letter == 'h')
                {
                    help = true;
                    continue;
                }
                var match = valueFlags.FirstOrDefault(f => f.Value == letter).Key;
                if (letter == 'd') match = "discovery-srv";
                if (match is null) throw new SnapshotUsageException($"unknown shorthand flag: '{letter}' in {arg}");
                name = match;
                shown = "-" + letter;
                if (arg.Length > 2) value = arg[2] == '=' ? arg[3..] : arg[2..];
            }

            if (boolFlags.Contains(name) || GlobalBoolFlags.Contains(name))
            {
                var text = value ?? "true";
                if (!TryParseGoBool(text, out var flag))
                    throw new SnapshotUsageException(
                        $"invalid argument \"{text}\" for \"{shown}\" flag: strconv.ParseBool: parsing \"{text}\": invalid syntax");
                values[name] = flag ? "true" : "false";
                continue;
            }
            if (value is null)
            {
                if (i + 1 >= args.Count) throw new SnapshotUsageException($"flag needs an argument: {shown}");
                value = args[++i];
            }
            values[name] = value;
        }
        return new SnapshotCommandLine(values, positional, help);
    }

    /// <summary>Go's strconv.ParseBool.</summary>
    private static bool TryParseGoBool(string text, out bool value)
    {
        switch (text)
        {
            case "1" or "t" or "T" or "TRUE" or "true" or "True":
                value = true;
                return true;
            case "0" or "f" or "F" or "FALSE" or "false" or "False":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
