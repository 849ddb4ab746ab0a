using Akka.Etcd.Actors.Tests.Linearizability;
using Xunit.Abstractions;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>The production-actor simulation on the seed in AKKA_ETCD_SIM_SEED (replay), with its full trace.</summary>
public sealed class ProductionSimulationReplayTests(ITestOutputHelper output)
{
    [Fact]
    public void Replays_the_seed_in_AKKA_ETCD_SIM_SEED()
    {
        var seed = ProductionSeeds.ReadInt(ProductionSeeds.ReplayVariable) ?? 0;
        var result = ProductionSimulation.Run(ProductionSimulationOptions.ForSeed(seed));
        output.WriteLine(result.Summary);
        output.WriteLine(string.Join("\n", result.Trace));
        foreach (var op in result.History)
        {
            output.WriteLine(op.ToString());
        }
        output.WriteLine("the cluster's events: " + string.Join(", ", result.Reference));
        Assert.True(result.Violations.Count == 0, ProductionSeeds.Describe(result));
    }
}

/// <summary>Even-offset seeds of the production-actor simulation (the odd ones run in parallel in <see cref="ProductionSimulationOddSeedTests"/>).</summary>
public sealed class ProductionSimulationSeedTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Seeds() => ProductionSeeds.Half(0);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Histories_are_linearizable_watches_gapless_and_no_key_outlives_its_lease(int seed)
    {
        var result = ProductionSimulation.Run(ProductionSimulationOptions.ForSeed(seed));
        output.WriteLine(result.Summary);
        Assert.True(result.Violations.Count == 0, ProductionSeeds.Describe(result));
    }
}

/// <summary>Odd-offset seeds of the production-actor simulation.</summary>
public sealed class ProductionSimulationOddSeedTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Seeds() => ProductionSeeds.Half(1);

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Histories_are_linearizable_watches_gapless_and_no_key_outlives_its_lease(int seed)
    {
        var result = ProductionSimulation.Run(ProductionSimulationOptions.ForSeed(seed));
        output.WriteLine(result.Summary);
        Assert.True(result.Violations.Count == 0, ProductionSeeds.Describe(result));
    }
}

/// <summary>Properties of the simulation itself: exact replay, and the checks catching planted faults.</summary>
public sealed class ProductionSimulationHarnessTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    public void Same_seed_replays_the_same_run(int seed)
    {
        var first = ProductionSimulation.Run(ProductionSimulationOptions.ForSeed(seed));
        var second = ProductionSimulation.Run(ProductionSimulationOptions.ForSeed(seed));
        output.WriteLine(first.Summary);

        Assert.Equal(0, first.ForeignArrivals);
        Assert.NotEmpty(first.History);
        Assert.Equal(first.History.Select(o => o.ToString()), second.History.Select(o => o.ToString()));
        Assert.Equal(first.Trace, second.Trace);
        Assert.Equal(first.Watches.Select(w => string.Join(';', w)), second.Watches.Select(w => string.Join(';', w)));
        Assert.Equal(first.FinalState, second.FinalState);
        // The loop's step count too: a member's start-up code on the thread pool takes turns with the member's runs
        // (SimulationLoop.PumpOnly), so even the mailbox runs of the start-up are the same.
        Assert.Equal(first.Steps, second.Steps);
    }

    [Fact]
    public void Unknown_writes_absent_from_the_cluster_s_event_history_are_left_out_and_nothing_else()
    {
        KvOperation[] history =
        [
            KvOperation.Put(1, 0, "k0", "c0-1", 1, 2),
            KvOperation.Put(2, 1, "k0", "c1-2", 3, 0).AsUnknown(),
            KvOperation.Put(3, 2, "k0", "c2-3", 4, 0).AsUnknown(),
            KvOperation.Cas(4, 0, "k1", null, "c0-4", false, 5, 0).AsUnknown(),
            KvOperation.Cas(5, 1, "k1", null, "c1-5", false, 6, 0).AsUnknown(),
            KvOperation.Delete(6, 2, "k0", false, 7, 0).AsUnknown(),
            KvOperation.Put(7, 0, "k1", "c0-7", 8, 9),
        ];
        // The value of an unknown put on another key than it was written to does not count.
        WatchedEvent[] reference = [new(2, "k0", false, "c0-1"), new(3, "k0", false, "c2-3"), new(4, "k1", false, "c1-5"), new(5, "k0", true, null), new(6, "k0", false, "c0-4")];

        var reduced = ProductionSimulation.ReduceUnknownWrites(history, reference);

        Assert.Equal([1, 3, 5, 6, 7], reduced.Select(o => o.Id));
    }

    [Fact]
    public void Negative_control_a_planted_stale_read_is_caught()
    {
        var (result, leases) = ProductionSimulation.RunWithLeases(ProductionSimulationOptions.ForSeed(1));
        Assert.Empty(result.Violations);
        var planted = NegativeControls.PlantStaleRead(result.History);
        Assert.NotNull(planted);
        var check = LinearizabilityChecker.Check(ProductionSimulation.ProjectLeases(planted, leases));
        output.WriteLine(check.Explanation);
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, check.Verdict);
    }

    [Fact]
    public void Negative_control_a_planted_lost_acknowledged_write_is_caught()
    {
        var (result, leases) = ProductionSimulation.RunWithLeases(ProductionSimulationOptions.ForSeed(2));
        Assert.Empty(result.Violations);
        var planted = NegativeControls.PlantLostWrite(result.History);
        Assert.NotNull(planted);
        var check = LinearizabilityChecker.Check(ProductionSimulation.ProjectLeases(planted, leases));
        output.WriteLine(check.Explanation);
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, check.Verdict);
    }

    [Fact]
    public void Negative_control_a_planted_out_of_order_watch_event_is_caught()
    {
        var result = ProductionSimulation.Run(ProductionSimulationOptions.ForSeed(4));
        Assert.Empty(result.Violations);
        var events = result.Watches.First(w => w.Count >= 3).ToList();
        Assert.Null(ProductionSimulation.CheckWatch(events, result.Reference));

        var swapped = events.ToList();
        (swapped[1], swapped[2]) = (swapped[2], swapped[1]);
        var problem = ProductionSimulation.CheckWatch(swapped, result.Reference);
        output.WriteLine(problem);
        Assert.Contains("out of order", problem);

        var duplicated = events.Take(2).Append(events[1]).ToList();
        Assert.Contains("a duplicate", ProductionSimulation.CheckWatch(duplicated, result.Reference));
        var gap = events.Where((_, i) => i != 1).ToList();
        Assert.Contains("after a gap", ProductionSimulation.CheckWatch(gap, result.Reference));
    }

    [Fact]
    public void Negative_control_gets_served_without_a_read_index_are_caught_on_some_seeds()
    {
        var caught = new List<int>();
        for (var seed = 0; seed < 6 && caught.Count == 0; seed++)
        {
            var result = ProductionSimulation.Run(ProductionSimulationOptions.ForSeed(seed) with { Planted = PlantedFault.LocalReads });
            if (result.Violations.Any(v => v.Contains("NotLinearizable", StringComparison.Ordinal)))
            {
                caught.Add(seed);
                output.WriteLine(result.Violations[0]);
            }
        }
        Assert.NotEmpty(caught);
    }
}
