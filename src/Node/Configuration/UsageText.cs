using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Akka.Etcd.Node.Configuration;

/// <summary>The --help and --version texts, in etcd 3.4's layout (etcdmain/help.go) with our names.</summary>
internal static class UsageText
{
    /// <summary>The etcd API version this server speaks.</summary>
    public const string ApiVersion = "3.4";

    /// <summary>etcd's usageline: printed to stderr on --help and after flag syntax errors.</summary>
    public const string UsageLine = """
        Usage:

          akka-etcd [flags]
            Start an etcd server.

          akka-etcd --version
            Show the version of akka-etcd.

          akka-etcd -h | --help
            Show the help information about akka-etcd.

          akka-etcd --config-file
            Path to the server configuration file (YAML). Note that if a configuration file is provided, other command line flags and environment variables will be ignored.

          akka-etcd --config <file.conf>
            Path to a HOCON configuration file (akka.etcd { ... }); command line flags and ETCD_* environment variables override its settings.

        """;

    /// <summary>etcd's flagsline: the grouped flags, printed to stdout on --help.</summary>
    public static string FlagsLine()
    {
        var sb = new StringBuilder();
        foreach (var group in FlagCatalog.All.Where(f => f.Group.Length > 0).GroupBy(f => f.Group))
        {
            sb.Append('\n').Append(group.Key).Append(":\n");
            foreach (var flag in group)
            {
                var shown = flag.HelpDefault ?? flag.Default;
                sb.Append("  --").Append(flag.Name).Append(" '").Append(shown).Append("'\n");
                sb.Append("    ").Append(flag.Help).Append('\n');
            }
            if (group.Key == FlagCatalog.Unsafe)
                sb.Append("\nCAUTIOUS with unsafe flag! It may break the guarantees given by the consensus protocol!\n");
        }
        return sb.ToString();
    }

    /// <summary>The server version: the assembly's informational version without the source-revision suffix.</summary>
    public static string ServerVersion
    {
        get
        {
            var info = typeof(UsageText).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = info.IndexOf('+');
            return plus < 0 ? info : info[..plus];
        }
    }

    /// <summary>The --version text (etcd prints Version, Git SHA, Go Version, Go OS/Arch).</summary>
    public static string Version()
    {
        var info = typeof(UsageText).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        var plus = info.IndexOf('+');
        var sha = plus < 0 ? "Not provided" : info[(plus + 1)..];
        var os = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "darwin" : "unknown";
        var arch = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            var other => other.ToString().ToLowerInvariant(),
        };
        return $"""
            akka-etcd Version: {ServerVersion}
            API Version: {ApiVersion}
            Git SHA: {sha}
            .NET Version: {RuntimeInformation.FrameworkDescription}
            OS/Arch: {os}/{arch}

            """;
    }
}
