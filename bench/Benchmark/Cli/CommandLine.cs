using System.Globalization;

namespace Akka.Etcd.Benchmark.Cli;

/// <summary>
/// The parsed command line: <c>--name=value</c>, <c>--name value</c> and bare boolean <c>--name</c> flags, which may
/// appear before or after the command (as etcd's cobra-based benchmark accepts them), and the positional arguments
/// (command first). Not thread-safe; read it on the main thread before the run starts.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private CommandLine(List<string> positional) => Positional = positional;

    /// <summary>The positional arguments in order; [0] is the command.</summary>
    public IReadOnlyList<string> Positional { get; }

    /// <summary>Parses <paramref name="args"/>; <paramref name="booleanFlags"/> never consume the next token.</summary>
    /// <exception cref="ArgumentException">A flag appears twice.</exception>
    public static CommandLine Parse(IReadOnlyList<string> args, ISet<string> booleanFlags)
    {
        var positional = new List<string>();
        var line = new CommandLine(positional);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                positional.AddRange(args.Skip(i + 1));
                break;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                positional.Add(arg);
                continue;
            }

            string name, value;
            var eq = arg.IndexOf('=');
            if (eq > 0)
            {
                name = arg[2..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                name = arg[2..];
                if (booleanFlags.Contains(name) || i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    value = "true";
                else
                    value = args[++i];
            }

            if (!line._flags.TryAdd(name, value))
                throw new ArgumentException($"flag --{name} given twice");
        }

        return line;
    }

    /// <summary>True when <c>--name</c> was given.</summary>
    public bool Has(string name)
    {
        _read.Add(name);
        return _flags.ContainsKey(name);
    }

    /// <summary>The flag's text, or <paramref name="fallback"/> when absent.</summary>
    public string String(string name, string fallback)
    {
        _read.Add(name);
        return _flags.TryGetValue(name, out var v) ? v : fallback;
    }

    /// <summary>The flag as a whole number (underscores and k/m suffixes allowed: 10k, 1m).</summary>
    /// <exception cref="ArgumentException">Not a number, or below <paramref name="min"/>.</exception>
    public long Long(string name, long fallback, long min = 0)
    {
        _read.Add(name);
        if (!_flags.TryGetValue(name, out var text))
            return fallback;
        var t = text.Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        long multiplier = 1;
        if (t.EndsWith('k')) { multiplier = 1_000; t = t[..^1]; }
        else if (t.EndsWith('m')) { multiplier = 1_000_000; t = t[..^1]; }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            throw new ArgumentException($"flag --{name}: \"{text}\" is not a whole number");
        v *= multiplier;
        if (v < min)
            throw new ArgumentException($"flag --{name}: {v} is below the minimum {min}");
        return v;
    }

    /// <summary>The flag as an int (see <see cref="Long"/>).</summary>
    public int Int(string name, int fallback, int min = 0) => checked((int)Long(name, fallback, min));

    /// <summary>The flag as a non-negative number (e.g. a rate in requests/s).</summary>
    public double Double(string name, double fallback)
    {
        _read.Add(name);
        if (!_flags.TryGetValue(name, out var text))
            return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0)
            throw new ArgumentException($"flag --{name}: \"{text}\" is not a non-negative number");
        return v;
    }

    /// <summary>A boolean flag: bare <c>--name</c>, or <c>--name=true|false</c>.</summary>
    public bool Bool(string name)
    {
        _read.Add(name);
        if (!_flags.TryGetValue(name, out var text))
            return false;
        return text switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new ArgumentException($"flag --{name}: \"{text}\" is not true or false"),
        };
    }

    /// <summary>Throws when a flag was given that no part of the program asked for (a typo must not go unnoticed).</summary>
    /// <exception cref="ArgumentException">An unknown flag.</exception>
    public void RejectUnread()
    {
        var unknown = _flags.Keys.Where(k => !_read.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException("unknown flag(s) for this command: " + string.Join(", ", unknown.Select(k => "--" + k)));
    }
}
