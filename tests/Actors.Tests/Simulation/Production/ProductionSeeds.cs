namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>
/// Which seeds the production-actor simulation runs: AKKA_ETCD_PSIM_SEEDS how many (default 500, split over two test
/// classes that run in parallel), AKKA_ETCD_PSIM_FIRST_SEED where they start (default 0); AKKA_ETCD_SIM_SEED replays one.
/// </summary>
internal static class ProductionSeeds
{
    public const string CountVariable = "AKKA_ETCD_PSIM_SEEDS";
    public const string FirstVariable = "AKKA_ETCD_PSIM_FIRST_SEED";
    public const string ReplayVariable = "AKKA_ETCD_SIM_SEED";

    public static int Count => ReadInt(CountVariable) ?? 500;

    public static int First => ReadInt(FirstVariable) ?? 0;

    public static int? ReadInt(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) ? value : null;

    /// <summary>Seeds First..First+Count-1 whose offset has the given parity, as xunit theory rows.</summary>
    public static IEnumerable<object[]> Half(int parity) =>
        Enumerable.Range(0, Count).Where(i => i % 2 == parity).Select(i => new object[] { First + i });

    public static string ReplayHint(int seed) =>
        $"replay: {ReplayVariable}={seed} dotnet test tests/Actors.Tests -c Release --filter \"FullyQualifiedName~{nameof(ProductionSimulationReplayTests)}\" --logger \"console;verbosity=detailed\"";

    /// <summary>The run's violations, summary, last trace lines and how to replay it.</summary>
    public static string Describe(ProductionSimulationResult result) =>
        $"seed {result.Options.Seed}: {result.Violations.Count} violation(s)\n{string.Join("\n", result.Violations)}\n{result.Summary}\n" +
        $"last trace lines:\n{string.Join("\n", result.Trace.TakeLast(30))}\n{ReplayHint(result.Options.Seed)}";
}
