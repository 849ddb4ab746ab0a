using Akka.Etcd.Node.Logging;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Builds a <see cref="MemberConfig"/> from the command line, environment and files like etcd 3.4's
/// etcdmain (config.go, pkg/flags), writing etcd's messages.
/// <para>Precedence (lowest first): etcd defaults; the HOCON file of <c>--config</c> or <c>ETCD_CONFIG</c>
/// (<c>akka.etcd { ... }</c>, our addition); <c>ETCD_*</c> environment variables (flag name upper-cased,
/// dashes to underscores); command-line flags. When <c>--config-file</c> or <c>ETCD_CONFIG_FILE</c> names a
/// YAML file, the config comes from defaults and that file only: other flags, env vars and --config are ignored.</para>
/// <para>Flag syntax is Go's flag package: <c>-flag</c>, <c>--flag</c>, <c>-flag=value</c>, <c>-flag value</c>;
/// bool flags take no separate value (<c>--flag</c> or <c>--flag=false</c>); parsing stops at <c>--</c> or the
/// first non-flag argument.</para>
/// <para>Outcomes: a flag syntax error (<c>flag provided but not defined: -foo</c>, <c>invalid value "x" for
/// flag -snapshot-count: parse error</c>) prints the message and the usage to stderr, exit 2; <c>-h</c>/<c>--help</c>
/// prints the usage to stderr and the flag list to stdout, exit 0; <c>--version</c> prints the version to
/// stdout, exit 0; a failed verification (bad env value, conflicting settings, stray argument, an env var
/// shadowed by a flag) logs a zap-style JSON warning to stderr, exit 1. Unrecognized <c>ETCD_*</c> variables
/// are warned about, as etcd does.</para>
/// Thread-safe (no shared state).
/// </summary>
public static class MemberConfigParser
{
    private const string Caller = "etcdmain/config";

    /// <summary>Parses <paramref name="args"/> (without the program name) with <paramref name="env"/> as the environment.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="env">Environment variables (e.g. from Environment.GetEnvironmentVariables()).</param>
    /// <param name="stdout">Where --help's flag list and --version go.</param>
    /// <param name="stderr">Where usage, flag errors and JSON warnings go.</param>
    public static ConfigParseOutcome Parse(string[] args, IReadOnlyDictionary<string, string> env, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        var commandLine = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = new List<string>();
        var ignored = new List<string>();
        var syntax = ParseFlags(args, commandLine, rest, ignored, stdout, stderr);
        if (syntax is not null)
            return syntax;

        using var log = new EtcdJsonLoggerProvider(stderr, LogLevel.Information);
        foreach (var name in ignored)
            log.WriteLine(LogLevel.Warning, "pkg/flags", $"flag \"-{name}\" is no longer supported - ignoring.");
        try
        {
            if (rest.Count > 0)
                throw new ConfigErrorException($"'{rest[0]}' is not a valid flag");
            if (commandLine.TryGetValue("version", out var version) && version == "true")
            {
                stdout.Write(UsageText.Version());
                return ConfigParseOutcome.Exit(0);
            }

            var configFile = commandLine.GetValueOrDefault("config-file") ?? "";
            if (configFile.Length == 0)
                configFile = env.GetValueOrDefault(FlagCatalog.ToEnvironmentVariable("config-file")) ?? "";
            if (configFile.Length > 0)
            {
                var yamlValues = new SettingValues(EtcdSettings.Default);
                yamlValues.Set(FlagCatalog.Find("config-file")!, configFile);
                YamlConfigFile.Apply(configFile, yamlValues);
                log.WriteLine(LogLevel.Information, Caller,
                    "loaded server configuration, other configuration command line flags and environment variables will be ignored if provided",
                    [new("path", configFile)]);
                return ConfigParseOutcome.Start(WithAkkaConfig(MemberConfigBuilder.Build(yamlValues, requireAdvertiseClientUrls: false), EtcdSettings.Default));
            }

            var hoconFile = commandLine.GetValueOrDefault("config") ?? env.GetValueOrDefault(FlagCatalog.ToEnvironmentVariable("config")) ?? "";
            var settings = hoconFile.Length > 0 ? HoconConfigFile.Load(hoconFile) : EtcdSettings.Default;
            var values = new SettingValues(settings);
            if (hoconFile.Length > 0)
                values.Set(FlagCatalog.Find("config")!, hoconFile);
            ApplyEnvironment(env, commandLine, values, log);
            foreach (var (name, value) in commandLine)
                values.Set(FlagCatalog.Find(name)!, value);
            return ConfigParseOutcome.Start(WithAkkaConfig(MemberConfigBuilder.Build(values, requireAdvertiseClientUrls: true), settings));
        }
        catch (ConfigErrorException e)
        {
            log.WriteLine(LogLevel.Warning, Caller, "failed to verify flags", [new("error", e.Message)]);
            if (e.Message == MemberConfigBuilder.UnsetAdvertiseClientUrls)
                log.WriteLine(LogLevel.Warning, Caller, "advertise client URLs are not set", [new("error", e.Message)]);
            return ConfigParseOutcome.Exit(1);
        }
    }

    /// <summary>The member config with the actor system's config: <paramref name="settings"/>' config, akka.loglevel from the final --log-level.</summary>
    private static MemberConfig WithAkkaConfig(MemberConfig config, EtcdSettings settings) =>
        config with { AkkaConfig = settings.ActorSystemConfig(config.LogLevel) };

    /// <summary>Go flag.FlagSet.Parse; returns an outcome when parsing must end the process, else null.</summary>
    private static ConfigParseOutcome? ParseFlags(string[] args, Dictionary<string, string> set, List<string> rest, List<string> ignored,
        TextWriter stdout, TextWriter stderr)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var s = args[i];
            if (s.Length < 2 || s[0] != '-')
            {
                rest.AddRange(args[i..]);
                return null;
            }
            var minuses = 1;
            if (s[1] == '-')
            {
                minuses = 2;
                if (s.Length == 2)
                {
                    rest.AddRange(args[(i + 1)..]);
                    return null;
                }
            }
            var name = s[minuses..];
            if (name.Length == 0 || name[0] is '-' or '=')
                return SyntaxError(stderr, $"bad flag syntax: {s}");
            string? value = null;
            var eq = name.IndexOf('=', 1);
            if (eq > 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            var flag = FlagCatalog.Find(name);
            if (flag is null)
            {
                if (name is "help" or "h")
                {
                    stderr.WriteLine(UsageText.UsageLine);
                    stdout.WriteLine(UsageText.FlagsLine());
                    return ConfigParseOutcome.Exit(0);
                }
                return SyntaxError(stderr, $"flag provided but not defined: -{name}");
            }
            if (flag.Kind is FlagKind.Bool or FlagKind.Ignored)
            {
                if (flag.Kind == FlagKind.Ignored)
                {
                    ignored.Add(name);
                    continue;
                }
                try
                {
                    set[name] = flag.Check(value ?? "true");
                }
                catch (FormatException e)
                {
                    return SyntaxError(stderr, value is null ? $"invalid boolean flag {name}: {e.Message}" : $"invalid boolean value \"{value}\" for -{name}: {e.Message}");
                }
                continue;
            }
            if (value is null)
            {
                if (i + 1 >= args.Length)
                    return SyntaxError(stderr, $"flag needs an argument: -{name}");
                value = args[++i];
            }
            try
            {
                set[name] = flag.Check(value);
            }
            catch (FormatException e)
            {
                return SyntaxError(stderr, $"invalid value \"{value}\" for flag -{name}: {e.Message}");
            }
        }
        return null;
    }

    private static ConfigParseOutcome SyntaxError(TextWriter stderr, string message)
    {
        stderr.WriteLine(message);
        stderr.WriteLine(UsageText.UsageLine);
        return ConfigParseOutcome.Exit(2);
    }

    /// <summary>etcd pkg/flags SetFlagsFromEnv + verifyEnv.</summary>
    private static void ApplyEnvironment(IReadOnlyDictionary<string, string> env, Dictionary<string, string> commandLine,
        SettingValues values, EtcdJsonLoggerProvider log)
    {
        var shadowed = commandLine.Keys.Select(FlagCatalog.ToEnvironmentVariable).ToHashSet(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        string? error = null;
        foreach (var flag in FlagCatalog.All)
        {
            var key = flag.EnvironmentVariable;
            if (shadowed.Contains(key) || !env.TryGetValue(key, out var value) || value.Length == 0)
                continue;
            used.Add(key);
            if (flag.Kind == FlagKind.Ignored)
                continue;
            try
            {
                values.Set(flag, value);
                log.WriteLine(LogLevel.Information, "pkg/flags", $"recognized and used environment variable {key}={value}");
            }
            catch (FormatException e)
            {
                error = $"invalid value \"{value}\" for {key}: {e.Message}";
            }
        }
        foreach (var (key, value) in env.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (used.Contains(key))
                continue;
            if (shadowed.Contains(key))
                throw new ConfigErrorException($"conflicting environment variable \"{key}\" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)");
            if (key.StartsWith("ETCD_", StringComparison.Ordinal))
                log.WriteLine(LogLevel.Warning, "pkg/flags", $"unrecognized environment variable {key}={value}");
        }
        if (error is not null)
            throw new ConfigErrorException(error);
    }
}
