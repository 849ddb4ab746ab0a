namespace Akka.Etcd.Node.Configuration;

/// <summary>
/// Result of <see cref="MemberConfigParser.Parse"/>: either a <see cref="Config"/> to start the member
/// with, or an <see cref="ExitCode"/> to end the process with (0 after --help/--version, 2 for a flag
/// syntax error as Go's flag package, 1 for a failed verification as etcd). Immutable.
/// </summary>
public sealed record ConfigParseOutcome
{
    private ConfigParseOutcome(MemberConfig? config, int? exitCode)
    {
        Config = config;
        ExitCode = exitCode;
    }

    /// <summary>The parsed config, or null when the process should exit.</summary>
    public MemberConfig? Config { get; }

    /// <summary>The exit code, or null when <see cref="Config"/> is set.</summary>
    public int? ExitCode { get; }

    /// <summary>True when the process should exit with <see cref="ExitCode"/> instead of starting.</summary>
    public bool ShouldExit => ExitCode is not null;

    /// <summary>A successful parse.</summary>
    public static ConfigParseOutcome Start(MemberConfig config) => new(config, null);

    /// <summary>An outcome that ends the process with <paramref name="code"/>.</summary>
    public static ConfigParseOutcome Exit(int code) => new(null, code);
}
