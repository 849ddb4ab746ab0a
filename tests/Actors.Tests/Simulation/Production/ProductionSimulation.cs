using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Tests.Linearizability;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>One event a watcher received: its revision, key, kind and value (null for a delete).</summary>
internal sealed record WatchedEvent(long Revision, string Key, bool Delete, string? Value)
{
    /// <inheritdoc />
    public override string ToString() => Delete ? $"@{Revision} delete {Key}" : $"@{Revision} put {Key}={Value}";
}

/// <summary>What one run produced and what its checks found.</summary>
internal sealed record ProductionSimulationResult(
    ProductionSimulationOptions Options,
    IReadOnlyList<KvOperation> History,
    IReadOnlyList<IReadOnlyList<WatchedEvent>> Watches,
    IReadOnlyList<WatchedEvent> Reference,
    IReadOnlyList<string> Violations,
    IReadOnlyList<string> Trace,
    long Steps,
    int ForeignArrivals,
    string FinalState,
    string Summary);

/// <summary>
/// The deterministic simulation of a cluster of production members: three <see cref="SimulatedMember"/>s (RaftActor,
/// WAL journal, MvccStoreActor with its SQLite backend, lessor and LeaseActors, watchers) on one
/// <see cref="SimulationLoop"/> with virtual time, joined by a seeded <see cref="FaultyPeerNetwork"/>. A nemesis
/// partitions members (both ways and one way), makes the network lossy, and crashes members (unsynced WAL writes lost,
/// the last one possibly torn) and restarts them from their disk. Clients put (some with a lease), get (linearizable),
/// delete, compare-and-set through a txn, grant and revoke leases and watch the key prefix, and record what they saw.
/// Checked: the KV history is linearizable (lease revokes and expiries as deletes of the lease's values); every watcher's
/// events are exactly the cluster's event history from where it started (no gap, no duplicate, in order); after the
/// leases' TTLs no key outlives its lease; the members converge on the same state; writes get through after healing;
/// no member stops on its own. The members never compact their log (etcd's default snapshot count is far above a run),
/// so no Raft snapshot is sent.
/// </summary>
internal sealed partial class ProductionSimulation : IDisposable
{
    private const string Prefix = "k";
    private const string PrefixEnd = "l";
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);
    private readonly ProductionSimulationOptions _options;
    private readonly SimulationLoop _loop;
    private readonly FaultyPeerNetwork _network;
    private readonly List<SimulatedMember> _members = new();
    private readonly string _dir;
    private readonly List<string> _trace = new();
    private readonly List<string> _violations = new();
    private readonly List<KvOperation> _history = new();
    private readonly List<LeaseRecord> _leases = new();
    private readonly List<WatcherState> _watchers = new();
    private long _instant;
    private int _nextOperationId;
    private ulong _nextProposalId;
    private bool _clientsStopped;
    private bool _faultsOver;
    private int _writesAfterHeal;
    private int _crashes;
    private int _partitions;

    private ProductionSimulation(ProductionSimulationOptions options)
    {
        // A member's start-up hops through the thread pool (its journal replay awaits asks); test runners block pool
        // threads with synchronous tests, and a starved pool adds a thread only every half second or so.
        ThreadPool.GetMinThreads(out var workers, out var ports);
        if (workers < 32)
        {
            ThreadPool.SetMinThreads(32, ports);
        }
        _options = options;
        _loop = new SimulationLoop(options.Seed);
        _network = new FaultyPeerNetwork(_loop) { MaxDelayMs = options.MaxDelayMs };
        _dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "akka-etcd-sim-" + Guid.NewGuid().ToString("N"));
        var cluster = Enumerable.Range(1, options.Members)
            .ToDictionary(n => $"m{n}", n => (IReadOnlyList<string>)[$"http://10.0.0.{n}:2380"]);
        for (var i = 1; i <= options.Members; i++)
        {
            var memberOptions = new ServerOptions
            {
                Name = $"m{i}",
                DataDir = Path.Combine(_dir, $"m{i}"),
                InitialCluster = cluster,
                InitialClusterToken = "sim",
                AdvertisePeerUrls = cluster[$"m{i}"],
                AdvertiseClientUrls = [$"http://10.0.0.{i}:2379"],
                HeartbeatIntervalMs = 100,
                ElectionTimeoutMs = 1000,
                PreVote = options.PreVote,
                RaftRandomSeed = unchecked(options.Seed * 31 + i),
                // The WAL preallocates each segment to this size, and the simulated disk keeps every file as one
                // array that it copies whole on each fsync of its length and on each crash: at etcd's 64 MiB that
                // copying took a quarter of a seed's time. A run writes well under 1 MiB, so no segment is cut
                // either way.
                WalSegmentSizeBytes = 1024 * 1024,
            };
            var member = new SimulatedMember(i, memberOptions, _loop, _network);
            _members.Add(member);
        }
    }

    /// <summary>Runs the simulation of <paramref name="options"/> and checks what it saw.</summary>
    public static ProductionSimulationResult Run(ProductionSimulationOptions options)
    {
        using var simulation = new ProductionSimulation(options);
        return simulation.Execute();
    }

    /// <summary>Runs like <see cref="Run"/> and also returns the leases (to re-check a planted history).</summary>
    public static (ProductionSimulationResult Result, IReadOnlyList<LeaseRecord> Leases) RunWithLeases(ProductionSimulationOptions options)
    {
        using var simulation = new ProductionSimulation(options);
        var result = simulation.Execute();
        return (result, simulation._leases.ToList());
    }

    private ProductionSimulationResult Execute()
    {
        try
        {
            foreach (var member in _members)
            {
                member.Start();
            }
            Trace("started: " + string.Join(' ', _members.Select(m => $"m{m.Index}={m.Id:x}")));
            for (var c = 0; c < _options.Clients; c++)
            {
                var client = c;
                _loop.At(TimeSpan.FromMilliseconds(1500 + _loop.Random.Next(300)), 0, () => NextOperation(client, 0));
            }
            for (var w = 0; w < _options.Watchers; w++)
            {
                var watcher = new WatcherState(w);
                _watchers.Add(watcher);
                _loop.At(TimeSpan.FromMilliseconds(1500 + _loop.Random.Next(300)), 0, () => PollWatcher(watcher));
            }
            _loop.At(TimeSpan.FromMilliseconds(50), 0, WatchLeaders);
            if (_options.Faults)
            {
                _loop.At(TimeSpan.FromMilliseconds(1800 + _loop.Random.Next(400)), 0, Nemesis);
            }
            var faultEnd = TimeSpan.FromMilliseconds(1500 + _options.FaultPhaseMs);
            RunUntil(faultEnd);
            Heal();
            RunUntil(faultEnd + TimeSpan.FromMilliseconds(_options.SettlePhaseMs));
            // Without pre-vote a member that fell behind during the faults can keep winning the race to campaign (it
            // cannot win, but its higher terms reset the others' election timers) for several election rounds: the
            // clients go on for up to twice the settle phase until a write gets through.
            var livenessDeadline = faultEnd + TimeSpan.FromMilliseconds(2 * _options.SettlePhaseMs);
            while (_writesAfterHeal == 0 && _loop.Now < livenessDeadline)
            {
                RunUntil(_loop.Now + TimeSpan.FromMilliseconds(100));
            }
            _clientsStopped = true;
            if (_writesAfterHeal == 0)
            {
                Violation($"liveness: no write completed within {2 * _options.SettlePhaseMs} ms after healing; " + DescribeMembers());
            }
            // Let answers in flight come back, then leases expire: every TTL, plus an election and a revoke round.
            var maxTtl = _leases.Count == 0 ? 0 : _leases.Max(l => l.TtlSeconds);
            RunUntil(_loop.Now + TimeSpan.FromSeconds(maxTtl) + TimeSpan.FromMilliseconds(_options.OperationTimeoutMs + 3_000));
            Trace("clients done");
            var finalState = CheckConvergence();
            Trace("converged");
            CheckLeasesExpired();
            var (reference, referenceComplete) = ReferenceEvents();
            CheckWatches(reference);
            CheckHistory(reference, referenceComplete);
            if (_loop.Escaped is { } escaped)
            {
                Violation("an exception escaped a mailbox run: " + escaped);
            }
            var history = _history.OrderBy(o => o.Id).ToList();
            var summary = $"{_options} | ops={history.Count} unknown={history.Count(o => o.Outcome == KvOutcome.Unknown)} " +
                $"leases={_leases.Count} watchEvents={_watchers.Sum(w => w.Events.Count)} crashes={_crashes} partitions={_partitions} " +
                $"sent={_network.Sent} lost={_network.Lost} steps={_loop.Steps} virtual={_loop.NowMs}ms foreign={_loop.ForeignArrivals} checkSteps={_checkSteps} " +
                $"violations={_violations.Count}";
            return new ProductionSimulationResult(_options, history, _watchers.Select(w => (IReadOnlyList<WatchedEvent>)w.Events).ToList(),
                reference, _violations, _trace, _loop.Steps, _loop.ForeignArrivals, finalState, summary);
        }
        catch (Exception e)
        {
            Violation("the simulation failed: " + e);
            return new ProductionSimulationResult(_options, _history.ToList(), [], [], _violations, _trace, _loop.Steps, _loop.ForeignArrivals, "",
                $"{_options} | failed: {e.Message}");
        }
    }

    private void RunUntil(TimeSpan until)
    {
        _loop.RunUntil(until);
        foreach (var member in _members)
        {
            if (member.IsUp && member.Exit!.Task.IsCompleted)
            {
                var exit = member.Exit.Task.Result;
                Violation($"member {member.Index} stopped on its own: {exit.Reason} {exit.Cause}");
                member.Abandon();
            }
        }
    }

    // ---------------------------------------------------------------- nemesis

    private void Nemesis()
    {
        if (_faultsOver)
        {
            return;
        }
        var random = _loop.Random;
        var up = _members.Where(m => m.IsUp).ToList();
        switch (random.Next(5))
        {
            case 0 when _options.Crashes && up.Count == _members.Count:
            {
                // Armed: the crash hits between two runs while the victim's WAL holds unsynced writes (appended, not yet
                // fsynced: the leader has already sent them), or after 300 ms anyway.
                var victim = up[random.Next(up.Count)];
                var armedUntil = _loop.Now + TimeSpan.FromMilliseconds(300);
                _loop.AfterStep = () =>
                {
                    if (victim.IsUp && victim.Disk.UnsyncedBytes == 0 && _loop.Now < armedUntil)
                    {
                        return;
                    }
                    _loop.AfterStep = null;
                    if (!victim.IsUp || _faultsOver)
                    {
                        return;
                    }
                    var keep = victim.Disk.UnsyncedBytes == 0 ? 0 : random.NextInt64(victim.Disk.UnsyncedBytes + 1);
                    Trace($"crash m{victim.Index} (keeps {keep} of {victim.Disk.UnsyncedBytes} unsynced bytes)");
                    victim.Crash(keep);
                    _crashes++;
                    _loop.At(TimeSpan.FromMilliseconds(200 + random.Next(1300)), 0, () => Restart(victim));
                };
                break;
            }
            case 1:
            {
                var isolated = _members[random.Next(_members.Count)];
                var rest = _members.Where(m => m != isolated).Select(m => m.Id).ToArray();
                Trace($"partition m{isolated.Index} | rest");
                _network.Partition([[isolated.Id], rest]);
                _partitions++;
                _loop.At(TimeSpan.FromMilliseconds(300 + random.Next(1500)), 0, () => HealNetwork("partition over"));
                break;
            }
            case 2:
            {
                var from = _members[random.Next(_members.Count)];
                var to = _members.Where(m => m != from).ElementAt(random.Next(_members.Count - 1));
                Trace($"cut m{from.Index} -> m{to.Index}");
                _network.CutOneWay(from.Id, to.Id);
                _partitions++;
                _loop.At(TimeSpan.FromMilliseconds(300 + random.Next(1500)), 0, () => HealNetwork("cut over"));
                break;
            }
            case 3:
                Trace($"lossy network (drop {_options.DropRate}, duplicate {_options.DuplicateRate})");
                _network.DropRate = _options.DropRate;
                _network.DuplicateRate = _options.DuplicateRate;
                _loop.At(TimeSpan.FromMilliseconds(300 + random.Next(1500)), 0, () =>
                {
                    _network.DropRate = 0;
                    _network.DuplicateRate = 0;
                });
                break;
            default:
                break;
        }
        _loop.At(TimeSpan.FromMilliseconds(300 + random.Next(600)), 0, Nemesis);
    }

    private string _leaders = "";

    /// <summary>Traces every change of who each member thinks leads, and in which term (polled every 50 virtual ms).</summary>
    private void WatchLeaders()
    {
        var now = string.Join(' ', _members.Select(m => m.IsUp && m.Opened is { } o ? $"m{m.Index}:t{o.Status.Term}/l{LeaderName(o.Status.Leader)}" : $"m{m.Index}:down"));
        if (now != _leaders)
        {
            _leaders = now;
            Trace("raft " + now);
        }
        if (!_clientsStopped)
        {
            _loop.At(TimeSpan.FromMilliseconds(50), 0, WatchLeaders);
        }
    }

    private string LeaderName(ulong id) => _members.FirstOrDefault(m => m.Id == id) is { } m && id != 0 ? $"m{m.Index}" : "-";

    private void HealNetwork(string why)
    {
        if (!_faultsOver)
        {
            Trace(why + ": network whole");
        }
        _network.Heal();
    }

    private void Restart(SimulatedMember member)
    {
        if (member.IsUp)
        {
            return;
        }
        try
        {
            member.Start();
        }
        catch (Exception e)
        {
            Violation($"m{member.Index} could not restart from its data: {e}");
            member.Abandon();
            return;
        }
        Trace($"restart m{member.Index} at applied {member.Opened!.Status.AppliedIndex}, revision {member.Opened.Status.Revision}");
    }

    private void Heal()
    {
        _faultsOver = true;
        _network.Heal();
        _network.DropRate = 0;
        _network.DuplicateRate = 0;
        foreach (var member in _members.Where(m => !m.IsUp))
        {
            Restart(member);
        }
        Trace("healed: network whole, every member up");
    }

    // ---------------------------------------------------------------- helpers

    private long NextInstant() => ++_instant;

    private string DescribeMembers() => string.Join(", ", _members.Select(m => m.Opened?.Status is { } s
        ? $"m{m.Index} up={m.IsUp} term={s.Term} leader={s.Leader % 1000:x} commit={s.CommitIndex} applied={s.AppliedIndex} rev={s.Revision} raft={RaftActorState(m)}"
        : $"m{m.Index} not started"));

    /// <summary>What the member's RaftActor waits for (read from the actor, for failure reports only).</summary>
    private static string RaftActorState(SimulatedMember member)
    {
        const System.Reflection.BindingFlags Private = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        if (member.Refs?.Raft is not ActorRefWithCell { Underlying: ActorCell cell }
            || typeof(ActorCell).GetProperty("Actor", Private)?.GetValue(cell) is not { } actor)
        {
            return "?";
        }
        var awaiting = actor.GetType().GetField("_awaiting", Private)?.GetValue(actor);
        return $"awaiting {awaiting}";
    }

    private readonly System.Diagnostics.Stopwatch _wall = System.Diagnostics.Stopwatch.StartNew();

    private void Trace(string text)
    {
        _trace.Add($"{_loop.NowMs,6}ms {text}");
        if (Environment.GetEnvironmentVariable("AKKA_ETCD_SIM_DIAG") == "1")
        {
            Console.Error.WriteLine($"[wall {_wall.ElapsedMilliseconds} ms, steps {_loop.Steps}] {_loop.NowMs,6}ms {text}");
        }
    }

    private void Violation(string text)
    {
        _violations.Add(text);
        Trace("VIOLATION " + text);
    }

    /// <summary>
    /// Tells <paramref name="target"/> <paramref name="message"/>; the first answer comes back as loop work of the
    /// harness, as an Ask (the gRPC facade's) completes with the first message its temporary actor gets. Later ones are
    /// dropped here: queued as separate loop work they could run in either order.
    /// </summary>
    private void Send(SimulatedMember member, IActorRef target, object message, Action<object> onAnswer)
    {
        var provider = ((ExtendedActorSystem)member.System!).Provider;
        var answered = false;
        var reply = new ReplyRef(provider, provider.TempPath(), answer =>
        {
            if (answered)
            {
                return;
            }
            answered = true;
            _loop.Enqueue(0, () => onAnswer(answer));
        });
        target.Tell(message, reply);
    }

    private ulong NextProposalId() => (0xFFFFUL << 48) | ++_nextProposalId;

    private void Propose(SimulatedMember member, InternalRaftRequest request, Action<object> onAnswer)
    {
        var id = NextProposalId();
        request.ID = id;
        request.Header = new RequestHeader { ID = id };
        Send(member, member.Refs!.Raft, new RaftProtocol.Propose(id, request.ToByteString()), onAnswer);
    }

    private static bool IsLeaseNotFound(object answer) =>
        answer is Status.Failure { Cause: EtcdException e } && e.Message == EtcdErrors.LeaseNotFound.Message;

    private SimulatedMember? RandomUpMember()
    {
        var up = _members.Where(m => m.IsUp).ToList();
        return up.Count == 0 ? null : up[_loop.Random.Next(up.Count)];
    }

    /// <summary>A reply-only actor ref: whatever is told to it goes to a callback (on the teller's thread, the loop's).</summary>
    private sealed class ReplyRef(IActorRefProvider provider, ActorPath path, Action<object> onReply) : MinimalActorRef
    {
        public override ActorPath Path => path;

        public override IActorRefProvider Provider => provider;

        protected override void TellInternal(object message, IActorRef sender) => onReply(message);
    }

    public void Dispose()
    {
        foreach (var member in _members)
        {
            member.Abandon();
        }
        _loop.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
