using Akka.Etcd.Actors.Tests.Linearizability;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// Which seeds the cluster simulation runs and how one seed is checked. AKKA_ETCD_SIM_SEEDS sets how many (default
/// 500, split over two test classes so they run in parallel), AKKA_ETCD_SIM_FIRST_SEED where they start (default 0).
/// </summary>
internal static class SimulationSeeds
{
    public const string CountVariable = "AKKA_ETCD_SIM_SEEDS";
    public const string FirstVariable = "AKKA_ETCD_SIM_FIRST_SEED";
    public const string ReplayVariable = "AKKA_ETCD_SIM_SEED";

    public static int Count => ReadInt(CountVariable) ?? 500;

    public static int First => ReadInt(FirstVariable) ?? 0;

    public static int? ReadInt(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var value) ? value : null;

    /// <summary>Seeds First..First+Count-1 whose offset has the given parity, as xunit theory rows.</summary>
    public static IEnumerable<object[]> Half(int parity) =>
        Enumerable.Range(0, Count).Where(i => i % 2 == parity).Select(i => new object[] { First + i });

    public static string ReplayHint(int seed) =>
        $"replay: {ReplayVariable}={seed} dotnet test tests/Actors.Tests --filter \"FullyQualifiedName~{nameof(ClusterSimulationTests)}.{nameof(ClusterSimulationTests.Replays_the_seed_in_AKKA_ETCD_SIM_SEED)}\"";

    /// <summary>Runs <paramref name="options"/> and checks its history; throws naming the seed and how to replay it.</summary>
    public static ClusterSimulationResult RunAndCheck(ClusterSimulationOptions options)
    {
        ClusterSimulationResult result;
        try
        {
            result = ClusterSimulation.Run(options);
        }
        catch (SimulationFailedException e)
        {
            throw new SimulationFailedException($"seed {options.Seed}: {e.Message}\n{ReplayHint(options.Seed)}", e);
        }

        var check = LinearizabilityChecker.Check(result.History);
        if (check.Verdict != LinearizabilityVerdict.Linearizable)
        {
            throw new SimulationFailedException(
                $"seed {options.Seed}: history is {check.Verdict} ({result.History.Count} operations)\n{check.Explanation}\n{result.Summary}\n" +
                $"last trace lines:\n{string.Join("\n", result.Trace.TakeLast(40))}\n{ReplayHint(options.Seed)}");
        }

        return result;
    }
}
