namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>How simulated clients read.</summary>
internal enum ReadPath
{
    /// <summary>Linearizable: ask a read index, wait until applied reaches it, read the local state machine.</summary>
    ReadIndex,

    /// <summary>Deliberately broken (the negative control): answer from the local state machine at once.</summary>
    LocalUnsafe,
}

/// <summary>The shape of one simulation run; <see cref="ForSeed"/> derives a varied one from a seed.</summary>
internal sealed record ClusterSimulationOptions
{
    public required int Seed { get; init; }

    public int Members { get; init; } = 3;

    public int Clients { get; init; } = 4;

    /// <summary>Number of distinct keys the clients use (few keys = more contention).</summary>
    public int Keys { get; init; } = 3;

    /// <summary>Virtual time with faults injected (partitions, crashes, lossy network, leader transfers).</summary>
    public long FaultPhaseMs { get; init; } = 2_000;

    /// <summary>Virtual time after healing everything, in which the clients must still get writes through.</summary>
    public long SettlePhaseMs { get; init; } = 1_000;

    /// <summary>Virtual duration of one Raft tick (etcd's heartbeat interval).</summary>
    public int TickMs { get; init; } = 10;

    /// <summary>A client gives up on an operation after this long; its outcome becomes unknown.</summary>
    public int OperationTimeoutMs { get; init; } = 300;

    public bool PreVote { get; init; }

    public bool CheckQuorum { get; init; }

    public int MaxInflightMsgs { get; init; } = 256;

    public ulong MaxSizePerMsg { get; init; } = 1024 * 1024;

    /// <summary>A member snapshots its state machine after this many applied entries.</summary>
    public int SnapshotEvery { get; init; } = 20;

    /// <summary>Entries kept in memory before the snapshot for slow followers (etcd's SnapshotCatchUpEntries).</summary>
    public int CatchUpEntries { get; init; } = 3;

    public ReadPath Reads { get; init; } = ReadPath.ReadIndex;

    public bool Faults { get; init; } = true;

    /// <summary>Sizes and switches drawn from <paramref name="seed"/>: 3 or 5 members, pre-vote and check-quorum on or off, small messages or not.</summary>
    public static ClusterSimulationOptions ForSeed(int seed)
    {
        var random = new Random(unchecked(seed * 7919 + 17));
        return new ClusterSimulationOptions
        {
            Seed = seed,
            Members = random.Next(2) == 0 ? 3 : 5,
            Clients = 3 + random.Next(3),
            Keys = 2 + random.Next(3),
            PreVote = random.Next(2) == 0,
            CheckQuorum = random.Next(2) == 0,
            MaxInflightMsgs = random.Next(2) == 0 ? 256 : 1 + random.Next(4),
            MaxSizePerMsg = random.Next(2) == 0 ? 1024 * 1024 : (ulong)(64 + random.Next(256)),
            SnapshotEvery = 5 + random.Next(40),
            CatchUpEntries = random.Next(6),
        };
    }

    public override string ToString() =>
        $"seed={Seed} members={Members} clients={Clients} keys={Keys} preVote={PreVote} checkQuorum={CheckQuorum} " +
        $"inflight={MaxInflightMsgs} maxSize={MaxSizePerMsg} snapshotEvery={SnapshotEvery} catchUp={CatchUpEntries} reads={Reads} faults={Faults}";
}
