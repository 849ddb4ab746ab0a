using Akka.Etcd.Actors.Raft;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>Where a member crashes while handling a Ready (etcd's failpoint names).</summary>
internal enum CrashPoint
{
    /// <summary>Before the save completes: a prefix of the Ready's entries reaches disk (a torn WAL write), no HardState, nothing sent.</summary>
    RaftBeforeSave,

    /// <summary>After the save, before any message is sent or entry applied.</summary>
    RaftAfterSave,
}

/// <summary>
/// One simulated member: a RawNode over its in-memory log storage, the durable copy a restart reads, the KV state
/// machine, and the client requests it waits on. Everything but <see cref="Durable"/> is lost on <see cref="Crash"/>.
/// </summary>
internal sealed class ClusterMember
{
    private readonly ConfState _initialConfState;

    public ClusterMember(RaftConfig config)
    {
        Config = config;
        _initialConfState = new ConfState();
        _initialConfState.Voters.AddRange(config.Peers);
        Start();
    }

    public ulong Id => Config.Id;

    public RaftConfig Config { get; }

    public DurableLog Durable { get; } = new();

    public MemoryRaftLogStorage Storage { get; private set; } = null!;

    public RawNode Node { get; private set; } = null!;

    public KvStateMachine StateMachine { get; private set; } = null!;

    public bool IsUp { get; private set; }

    /// <summary>Bumped on every crash, so events scheduled for an earlier life (its ticks) are ignored.</summary>
    public int Incarnation { get; private set; }

    /// <summary>The role and term as last reported by a Ready.</summary>
    public RaftState Role { get; set; }

    public ulong Term { get; set; }

    /// <summary>A crash to inject at the next Ready that has something to save.</summary>
    public CrashPoint? ArmedCrash { get; set; }

    /// <summary>Writes proposed here, by request id, waiting to be applied.</summary>
    public Dictionary<string, ClientRequest> Writes { get; } = [];

    /// <summary>Reads asked here, by ReadIndex context, waiting for their read index.</summary>
    public Dictionary<ByteString, ClientRequest> Reads { get; } = [];

    /// <summary>Reads that got their read index, waiting until the state machine applied it.</summary>
    public List<(ulong ReadIndex, ClientRequest Request)> ReadsAwaitingApply { get; } = [];

    /// <summary>Installs the state restored from a snapshot received from the leader.</summary>
    public void ReplaceStateMachine(KvStateMachine stateMachine) => StateMachine = stateMachine;

    /// <summary>Loses every volatile thing: the Raft state in memory, the state machine, pending requests.</summary>
    public IReadOnlyList<ClientRequest> Crash()
    {
        var lost = Writes.Values.Concat(Reads.Values).Concat(ReadsAwaitingApply.Select(r => r.Request)).ToList();
        Writes.Clear();
        Reads.Clear();
        ReadsAwaitingApply.Clear();
        ArmedCrash = null;
        IsUp = false;
        Incarnation++;
        return lost;
    }

    /// <summary>Starts from the durable state only: snapshot, HardState and the saved entries.</summary>
    public void Start()
    {
        Storage = Durable.Load();
        var snapshot = Durable.Snapshot;
        StateMachine = KvStateMachine.FromSnapshot(snapshot.Data, snapshot.Metadata.Index);
        Node = new RawNode(Config with { Applied = snapshot.Metadata.Index }, Storage);
        Role = RaftState.Follower;
        Term = Durable.HardState.Term;
        IsUp = true;
    }

    /// <summary>Snapshots the applied state (to disk, then memory) and compacts the in-memory log, keeping <paramref name="catchUpEntries"/>.</summary>
    public void Snapshot(int catchUpEntries)
    {
        var applied = StateMachine.AppliedIndex;
        if (applied <= Storage.Snapshot().Metadata.Index)
        {
            return;
        }

        var snapshot = Storage.CreateSnapshot(applied, _initialConfState, StateMachine.ToSnapshot().Memory);
        Durable.SaveLocalSnapshot(snapshot);
        if (applied > (ulong)catchUpEntries && applied - (ulong)catchUpEntries >= Storage.FirstIndex())
        {
            Storage.Compact(applied - (ulong)catchUpEntries);
        }
    }
}

/// <summary>A client operation in flight at a member.</summary>
internal sealed class ClientRequest(int operationId, int client)
{
    public int OperationId { get; } = operationId;

    public int Client { get; } = client;

    public bool Done { get; set; }
}
