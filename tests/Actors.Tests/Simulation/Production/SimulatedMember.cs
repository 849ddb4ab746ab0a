using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.TestDoubles;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>
/// One member of the simulated cluster: its own ActorSystem (every dispatcher and the scheduler on the shared
/// <see cref="SimulationLoop"/>), the production <see cref="MemberActor"/> with its RaftActor, MvccStoreActor, lessor,
/// LeaseActors and watchers, the WAL journal plugin and snapshot files on its own <see cref="SimulatedDisk"/>, and the
/// SQLite backend in a per-run directory. <see cref="Crash"/> kills it abruptly; <see cref="Start"/> reopens it from
/// what survived. Single-threaded (the loop's thread).
/// </summary>
internal sealed class SimulatedMember
{
    private readonly SimulationLoop _loop;
    private readonly FaultyPeerNetwork _network;

    /// <summary>A member at position <paramref name="index"/> with <paramref name="options"/> (its file system becomes <see cref="Disk"/>).</summary>
    public SimulatedMember(int index, ServerOptions options, SimulationLoop loop, FaultyPeerNetwork network)
    {
        Index = index;
        Options = options with { FileSystem = Disk };
        _loop = loop;
        _network = network;
    }

    /// <summary>1-based position in the cluster.</summary>
    public int Index { get; }

    /// <summary>The member's WAL and snapshot disk (survives crashes, loses unsynced writes).</summary>
    public SimulatedDisk Disk { get; } = new();

    /// <summary>The member's options (data dir, timings, pinned Raft seed).</summary>
    public ServerOptions Options { get; }

    /// <summary>The loop tag of the current incarnation (a new one per start, so a dead incarnation's work never runs).</summary>
    public int Tag { get; private set; }

    /// <summary>Starts so far.</summary>
    public int Incarnation { get; private set; }

    /// <summary>The Raft member ID (known after the first start).</summary>
    public ulong Id { get; private set; }

    /// <summary>True between a start and a crash.</summary>
    public bool IsUp { get; private set; }

    /// <summary>The opened data dir of the current incarnation (its <c>Status</c> is the member's read model).</summary>
    public OpenedMember? Opened { get; private set; }

    /// <summary>The current incarnation's actors.</summary>
    public MemberRefs? Refs { get; private set; }

    /// <summary>The member's exit, completed when its actors end on their own (a fatal failure).</summary>
    public TaskCompletionSource<MemberExit>? Exit { get; private set; }

    private IRaftTransport? _transport;

    /// <summary>The member's ActorSystem (the current incarnation's).</summary>
    public ActorSystem? System { get; private set; }

    /// <summary>The HOCON of a simulated member's ActorSystem.</summary>
    private static Config SystemConfig(string loopId, int tag)
    {
        var executor = $"\"{typeof(SimulationExecutorConfigurator).FullName}, {typeof(SimulationExecutorConfigurator).Assembly.GetName().Name}\"";
        return ConfigurationFactory.ParseString($$"""
            akka.actor.provider = local
            akka.loglevel = ERROR
            akka.stdout-loglevel = OFF
            akka.log-dead-letters = off
            akka.log-dead-letters-during-shutdown = off
            akka.scheduler.implementation = "{{typeof(SimulationScheduler).FullName}}, {{typeof(SimulationScheduler).Assembly.GetName().Name}}"
            akka.etcd-simulation { loop = "{{loopId}}", member = {{tag}} }
            akka.loggers = []
            akka.loggers-dispatcher = "akka.etcd-simulation.loggers-dispatcher"
            akka.etcd-simulation.loggers-dispatcher { type = Dispatcher, executor = default-executor }
            akka.actor.default-dispatcher { executor = {{executor}}, throughput = 1, throughput-deadline-time = 1ms }
            akka.actor.internal-dispatcher { type = Dispatcher, executor = {{executor}}, throughput = 1, throughput-deadline-time = 1ms }
            akka.actor.default-blocking-io-dispatcher { type = Dispatcher, executor = {{executor}}, throughput = 1, throughput-deadline-time = 1ms }
            akka.etcd.journal-dispatcher { type = Dispatcher, executor = {{executor}}, throughput = 1, throughput-deadline-time = 1ms }
            akka.persistence.dispatchers.default-plugin-dispatcher { type = Dispatcher, executor = {{executor}}, throughput = 1, throughput-deadline-time = 1ms }
            akka.persistence.dispatchers.default-replay-dispatcher { type = Dispatcher, executor = {{executor}}, throughput = 1, throughput-deadline-time = 1ms }
            akka.persistence.dispatchers.default-stream-dispatcher { type = Dispatcher, executor = {{executor}}, throughput = 1, throughput-deadline-time = 1ms }
            """).WithFallback(LocalMember.ActorsConfig);
    }

    /// <summary>
    /// Opens the data dir (replaying the WAL through the journal plugin), starts the member's actors and connects its
    /// transport, running only this member's work on the loop (virtual time stands still while it starts).
    /// </summary>
    public void Start()
    {
        Incarnation++;
        Tag = Index * 1000 + Incarnation;
        Directory.CreateDirectory(Options.SnapDir);
        var system = ActorSystem.Create($"sim-m{Index}-{Incarnation}", SystemConfig(_loop.Id, Tag));
        System = system;
        Opened = null;
        var opening = _loop.StartForeign(() => OpenedMember.OpenAsync(system, Options, NullLoggerFactory.Instance), out var foreign);
        _loop.PumpOnly(Tag, opening, TimeSpan.FromSeconds(60), foreign);
        var opened = opening.GetAwaiter().GetResult();
        Opened = opened;
        Id = opened.Status.MemberId;
        var transport = _network.Create(Id);
        _transport = transport;
        Exit = new TaskCompletionSource<MemberExit>();
        var ids = new RequestIdGenerator(Id, (ulong)Incarnation << 36);
        var hashKV = new RemotePeerHashKV(Id, () => opened.BootstrapMembers, null, NullLogger.Instance);
        var member = system.ActorOf(MemberActor.Props(new MemberActorSetup(opened, transport, ids, Exit, hashKV)), "member");
        var refs = member.Ask<MemberRefs>(MemberProtocol.GetRefs.Instance);
        _loop.PumpOnly(Tag, refs, TimeSpan.FromSeconds(60));
        Refs = refs.GetAwaiter().GetResult();
        var raft = Refs.Raft;
        transport.Received += message => raft.Tell(new RaftProtocol.Step(message));
        transport.Unreachable += id => raft.Tell(new RaftProtocol.Unreachable(id));
        transport.SnapshotStatus += (id, ok) => raft.Tell(new RaftProtocol.SnapshotStatus(id, ok));
        foreach (var peer in opened.BootstrapMembers)
        {
            if (peer.ID != Id)
            {
                transport.AddPeer(peer.ID, peer.PeerURLs);
            }
        }
        transport.Start();
        IsUp = true;
    }

    /// <summary>
    /// The process dies: its actors never run again (pending mailbox runs and timers are dropped), the network stops
    /// carrying its messages, the disk loses every write not fsynced (optionally tearing the last one), and the SQLite
    /// backend's open batch is rolled back (what SQLite committed stays: SQLite is durable per commit, and the member's
    /// recovery replays the WAL above the backend's consistent index).
    /// </summary>
    public void Crash(long keepUnsyncedBytes)
    {
        if (!IsUp)
        {
            return;
        }
        IsUp = false;
        _loop.Kill(Tag);
        _transport?.StopAsync();
        Disk.Crash(keepUnsyncedBytes);
        Opened?.Store.DisposeWithoutCommit();
    }

    /// <summary>
    /// Releases what the last incarnation holds outside the loop (the backend's SQLite connection, the WAL's lock),
    /// also after a start that failed half-way; nothing written is lost.
    /// </summary>
    public void Abandon()
    {
        IsUp = false;
        _loop.Kill(Tag);
        Opened?.Store.DisposeWithoutCommit();
        Opened = null;
        Disk.Crash(Disk.UnsyncedBytes);
    }
}
