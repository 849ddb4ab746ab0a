using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Tests.Linearizability;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>What a run produced: the client history, the fault/leader trace, and the members' final state.</summary>
internal sealed record ClusterSimulationResult(
    ClusterSimulationOptions Options,
    IReadOnlyList<KvOperation> History,
    IReadOnlyList<string> Trace,
    ulong FinalAppliedIndex,
    ulong FinalFingerprint,
    string Summary);

/// <summary>A run failed: an invariant broke, or the cluster did not recover after healing. Names the seed.</summary>
internal sealed class SimulationFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A deterministic cluster of RawNodes on a virtual clock: members persist, send, apply and advance per the Ready
/// contract; a nemesis partitions (symmetric and one-way), makes the network lossy, crashes members (also in the middle
/// of a save) and restarts them from their durable state, and transfers leadership; clients put, get, delete and
/// compare-and-set against random members and record a history. Raft invariants are checked throughout
/// (<see cref="RaftInvariants"/>). One run is single-threaded and a pure function of its options.
/// </summary>
internal sealed partial class ClusterSimulation
{
    private readonly ClusterSimulationOptions _options;
    private readonly Random _random;
    private readonly VirtualClock _clock = new();
    private readonly SimulatedNetwork _network;
    private readonly SortedDictionary<ulong, ClusterMember> _members = [];
    private readonly RaftInvariants _invariants = new();
    private readonly List<string> _trace = [];
    private int _crashes;
    private int _snapshotsApplied;

    private ClusterSimulation(ClusterSimulationOptions options)
    {
        _options = options;
        _random = new Random(options.Seed);
        _network = new SimulatedNetwork(_clock, _random);
        var peers = Enumerable.Range(1, options.Members).Select(i => (ulong)i).ToArray();
        foreach (var id in peers)
        {
            _members[id] = new ClusterMember(new RaftConfig
            {
                Id = id,
                Peers = peers,
                ElectionTick = 10,
                HeartbeatTick = 1,
                PreVote = options.PreVote,
                CheckQuorum = options.CheckQuorum,
                MaxInflightMsgs = options.MaxInflightMsgs,
                MaxSizePerMsg = options.MaxSizePerMsg,
                Seed = options.Seed,
            });
        }
    }

    /// <summary>Runs the simulation described by <paramref name="options"/>.</summary>
    /// <exception cref="SimulationFailedException">An invariant broke or the cluster did not recover; the message names the seed and ends with the trace.</exception>
    public static ClusterSimulationResult Run(ClusterSimulationOptions options)
    {
        var simulation = new ClusterSimulation(options);
        try
        {
            return simulation.Execute();
        }
        catch (Exception e) when (e is not SimulationFailedException)
        {
            throw simulation.Failure(e.Message, e);
        }
    }

    private ClusterSimulationResult Execute()
    {
        foreach (var member in _members.Values)
        {
            ScheduleTick(member, _random.Next(_options.TickMs));
        }

        StartClients();
        if (_options.Faults)
        {
            _clock.After(100 + _random.Next(200), Nemesis);
        }

        _clock.RunUntil(_options.FaultPhaseMs);

        // Heal everything; the cluster must serve writes again.
        _faultsOver = true;
        _network.Heal();
        _network.DropRate = 0;
        _network.DuplicateRate = 0;
        _network.MaxDelayMs = 10;
        foreach (var member in _members.Values)
        {
            member.ArmedCrash = null;
            if (!member.IsUp)
            {
                Restart(member);
            }
        }

        Trace("healed: network whole, every member up");
        var writesBefore = _writesCompleted;
        _clock.RunUntil(_options.FaultPhaseMs + _options.SettlePhaseMs);
        if (_writesCompleted == writesBefore)
        {
            throw Failure($"liveness: no write completed within {_options.SettlePhaseMs} ms after healing");
        }

        StopClients();
        var deadline = _clock.NowMs + 5_000;
        while (!Converged())
        {
            if (_clock.NowMs >= deadline)
            {
                throw Failure("members did not converge on the same applied state after healing");
            }

            _clock.RunUntil(_clock.NowMs + _options.TickMs);
        }

        var final = _members.Values.First().StateMachine;
        var unknown = _history.Count(o => o.Outcome == KvOutcome.Unknown);
        var summary = $"{_options} | ops={_history.Count} unknown={unknown} failed={_failedOperations} " +
            $"terms={_invariants.LeaderOfTerm.Count} crashes={_crashes} snapshotsApplied={_snapshotsApplied} " +
            $"applied={final.AppliedIndex} sent={_network.Sent} lost={_network.Lost}";
        return new ClusterSimulationResult(_options, [.. _history.OrderBy(o => o.Id)], _trace, final.AppliedIndex, final.Fingerprint(), summary);
    }

    private bool Converged()
    {
        var first = _members.Values.First().StateMachine;
        return first.AppliedIndex >= _invariants.MaxCommitted && _members.Values.All(m =>
            m.IsUp && m.StateMachine.AppliedIndex == first.AppliedIndex && m.StateMachine.Fingerprint() == first.Fingerprint());
    }

    private void ScheduleTick(ClusterMember member, long delayMs)
    {
        var incarnation = member.Incarnation;
        _clock.After(delayMs, () =>
        {
            if (!member.IsUp || member.Incarnation != incarnation)
            {
                return;
            }

            member.Node.Tick();
            Process(member);
            if (member.Incarnation == incarnation)
            {
                // Not when the member crashed inside this tick: its restart starts a new tick chain.
                ScheduleTick(member, _options.TickMs);
            }
        });
    }

    /// <summary>Handles every pending Ready of <paramref name="member"/>: save, send, apply, answer clients, advance.</summary>
    private void Process(ClusterMember member)
    {
        while (member.IsUp && member.Node.HasReady())
        {
            var rd = member.Node.GetReady();
            if (rd.HardState is { } hardState)
            {
                member.Term = hardState.Term;
            }

            if (rd.SoftState is { } softState)
            {
                member.Role = softState.State;
                if (softState.State != RaftState.Leader)
                {
                    Trace($"member {member.Id} is {softState.State} in term {member.Term}, leader {softState.Lead}");
                }
            }

            var saves = rd.Entries.Count > 0 || rd.HardState is not null || rd.Snapshot is not null;
            if (saves && member.ArmedCrash == CrashPoint.RaftBeforeSave)
            {
                // A torn WAL write: a prefix of the entries reached the disk, the HardState record after them did not.
                var torn = rd.Snapshot is null ? _random.Next(rd.Entries.Count + 1) : 0;
                member.Durable.Append(rd.Entries.Take(torn));
                Crash(member, $"raftBeforeSave ({torn} of {rd.Entries.Count} entries saved)");
                return;
            }

            // Save: snapshot, entries and HardState to disk, then to the in-memory log storage.
            if (rd.Snapshot is { } snapshot)
            {
                member.Durable.ApplySnapshot(snapshot);
                member.Storage.ApplySnapshot(snapshot);
            }

            member.Durable.Append(rd.Entries);
            if (rd.HardState is { } saved)
            {
                member.Durable.SetHardState(saved);
            }

            _invariants.ObserveAppend(member.Id, rd.Entries, member.Storage);
            member.Storage.Append(rd.Entries);
            if (rd.HardState is { } hs)
            {
                member.Storage.SetHardState(hs);
            }

            if (rd.SoftState is { State: RaftState.Leader })
            {
                Trace($"member {member.Id} leads term {member.Term}");
                _invariants.ObserveLeader(member.Id, member.Term, member.Storage);
            }

            if (saves && member.ArmedCrash == CrashPoint.RaftAfterSave)
            {
                Crash(member, "raftAfterSave");
                return;
            }

            foreach (var message in rd.Messages)
            {
                _network.Send(message, Deliver);
            }

            if (rd.Snapshot is { } received)
            {
                member.ReplaceStateMachine(KvStateMachine.FromSnapshot(received.Data, received.Metadata.Index));
                _invariants.ObserveState(member.Id, received.Metadata.Index, member.StateMachine.Fingerprint());
                _snapshotsApplied++;
            }

            foreach (var entry in rd.CommittedEntries)
            {
                Apply(member, entry);
            }

            foreach (var readState in rd.ReadStates)
            {
                if (member.Reads.Remove(readState.RequestCtx, out var request))
                {
                    member.ReadsAwaitingApply.Add((readState.Index, request));
                }
            }

            ServeReads(member);
            member.Node.Advance(rd);
            if (member.StateMachine.AppliedIndex >= member.Storage.Snapshot().Metadata.Index + (ulong)_options.SnapshotEvery)
            {
                member.Snapshot(_options.CatchUpEntries);
            }
        }
    }

    private void Apply(ClusterMember member, Entry entry)
    {
        if (entry.Type == EntryType.EntryNormal && !entry.Data.IsEmpty)
        {
            var command = KvCommand.Decode(entry.Data);
            var result = member.StateMachine.Apply(entry.Index, command);
            if (result is { } applied && member.Writes.Remove(command.RequestId, out var request))
            {
                CompleteWrite(request, applied);
            }
        }
        else
        {
            member.StateMachine.Skip(entry.Index);
        }

        var leaders = _members.Values.Where(m => m.IsUp && m.Role == RaftState.Leader).Select(m => (m.Id, m.Term, m.Storage));
        _invariants.ObserveApply(member.Id, entry, member.StateMachine.Fingerprint(), leaders);
    }

    private void ServeReads(ClusterMember member)
    {
        for (var i = 0; i < member.ReadsAwaitingApply.Count; i++)
        {
            var (readIndex, request) = member.ReadsAwaitingApply[i];
            if (member.StateMachine.AppliedIndex >= readIndex)
            {
                member.ReadsAwaitingApply.RemoveAt(i--);
                CompleteRead(request, member);
            }
        }
    }

    private void Deliver(Message message, bool through)
    {
        var reached = through && _members.TryGetValue(message.To, out var target) && target.IsUp;
        if (reached)
        {
            var member = _members[message.To];
            member.Node.Step(message);
            Process(member);
        }

        if (_members.TryGetValue(message.From, out var sender) && sender.IsUp)
        {
            if (message.Type == MessageType.MsgSnap)
            {
                // The transport tells the sender how its snapshot send went.
                sender.Node.ReportSnapshot(message.To, reached);
                Process(sender);
            }
            else if (!reached && message.Type == MessageType.MsgApp)
            {
                sender.Node.ReportUnreachable(message.To);
                Process(sender);
            }
        }
    }

    private void Crash(ClusterMember member, string how)
    {
        _crashes++;
        Trace($"member {member.Id} crashes: {how}");
        foreach (var request in member.Crash())
        {
            CompleteUnknown(request);
        }
    }

    private void Restart(ClusterMember member)
    {
        member.Start();
        _invariants.ObserveState(member.Id, member.StateMachine.AppliedIndex, member.StateMachine.Fingerprint());
        Trace($"member {member.Id} restarts at applied {member.StateMachine.AppliedIndex}, durable last index {member.Durable.LastIndex}");
        ScheduleTick(member, _random.Next(1, _options.TickMs + 1));
        Process(member);
    }

    private void Trace(string text) => _trace.Add($"{_clock.NowMs,5}ms {text}");

    private SimulationFailedException Failure(string reason, Exception? inner = null)
    {
        var members = string.Join("\n", _members.Values.Select(m => m.IsUp
            ? $"  member {m.Id}: up role={m.Role} term={m.Term} applied={m.StateMachine.AppliedIndex} last={m.Storage.LastIndex()} snapshot={m.Storage.Snapshot().Metadata.Index}"
            : $"  member {m.Id}: down, durable last index {m.Durable.LastIndex}"));
        return new SimulationFailedException(
            $"simulation failed at {_clock.NowMs} ms: {reason}\n{_options}\nmembers:\n{members}\nnetwork: {_network.Describe()}\n" +
            $"last trace lines:\n{string.Join("\n", _trace.TakeLast(40))}",
            inner);
    }
}
