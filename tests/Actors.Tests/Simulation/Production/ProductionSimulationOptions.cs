namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>What the production-actor simulation plants on purpose, to show the checks catch it.</summary>
internal enum PlantedFault
{
    /// <summary>Nothing planted: the real system under test.</summary>
    None,

    /// <summary>Gets are served from the member's local store at once (serializable), with no read index: stale reads.</summary>
    LocalReads,
}

/// <summary>The shape of one run of <see cref="ProductionSimulation"/>; <see cref="ForSeed"/> derives one from a seed.</summary>
internal sealed record ProductionSimulationOptions
{
    /// <summary>The seed: every choice of the run (scheduling, network, nemesis, clients) comes from it.</summary>
    public required int Seed { get; init; }

    /// <summary>Members of the cluster.</summary>
    public int Members { get; init; } = 3;

    /// <summary>Concurrent KV and lease clients (each issues one operation at a time).</summary>
    public int Clients { get; init; } = 3;

    /// <summary>Watchers of the key prefix (each re-watches from its next revision when its member dies).</summary>
    public int Watchers { get; init; } = 2;

    /// <summary>Distinct keys (few keys = more contention).</summary>
    public int Keys { get; init; } = 3;

    /// <summary>Operations each client issues, at most (the run ends its clients when the settle phase ends).</summary>
    public int OperationsPerClient { get; init; } = 12;

    /// <summary>Virtual ms with faults injected (partitions, crashes, a lossy network).</summary>
    public long FaultPhaseMs { get; init; } = 4_000;

    /// <summary>Virtual ms after healing in which the clients must still get writes through.</summary>
    public long SettlePhaseMs { get; init; } = 5_000;

    /// <summary>A client gives up on an operation after this many virtual ms; its outcome is unknown.</summary>
    public int OperationTimeoutMs { get; init; } = 2_000;

    /// <summary>Probability of a message loss while the network is lossy.</summary>
    public double DropRate { get; init; } = 0.05;

    /// <summary>Probability of a duplicated message while the network is lossy.</summary>
    public double DuplicateRate { get; init; } = 0.05;

    /// <summary>Longest message delay in virtual ms (reordering comes from the spread).</summary>
    public int MaxDelayMs { get; init; } = 15;

    /// <summary>Whether members crash (and restart from their simulated disk).</summary>
    public bool Crashes { get; init; } = true;

    /// <summary>Whether the nemesis runs at all.</summary>
    public bool Faults { get; init; } = true;

    /// <summary>Raft pre-vote.</summary>
    public bool PreVote { get; init; }

    /// <summary>A planted bug (negative controls).</summary>
    public PlantedFault Planted { get; init; } = PlantedFault.None;

    /// <summary>Sizes and switches drawn from <paramref name="seed"/>.</summary>
    public static ProductionSimulationOptions ForSeed(int seed)
    {
        var random = new Random(unchecked(seed * 7919 + 101));
        return new ProductionSimulationOptions
        {
            Seed = seed,
            Clients = 2 + random.Next(3),
            Watchers = 1 + random.Next(2),
            Keys = 2 + random.Next(3),
            DropRate = random.Next(3) * 0.05,
            DuplicateRate = random.Next(3) * 0.05,
            MaxDelayMs = 5 + random.Next(30),
            Crashes = random.Next(4) != 0,
            PreVote = random.Next(2) == 0,
        };
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"seed={Seed} members={Members} clients={Clients} watchers={Watchers} keys={Keys} drop={DropRate} dup={DuplicateRate} " +
        $"maxDelay={MaxDelayMs}ms crashes={Crashes} faults={Faults} preVote={PreVote} planted={Planted}";
}
