using Akka.Etcd.Actors.Raft;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation;

/// <summary>One simulated member: its durable storage, its RawNode and its state machine (the applied entries).</summary>
internal sealed class SimNode
{
    public SimNode(ulong id, RaftConfig config)
    {
        Id = id;
        Config = config;
        Storage = new MemoryRaftLogStorage();
        Node = new RawNode(config, Storage);
    }

    public ulong Id { get; }

    public RaftConfig Config { get; }

    public MemoryRaftLogStorage Storage { get; }

    public RawNode Node { get; private set; }

    /// <summary>The state machine: every applied entry (normal and conf change) in index order.</summary>
    public List<Entry> Applied { get; set; } = [];

    public ulong AppliedIndex { get; set; }

    public ConfState ConfState { get; set; } = new();

    public List<ReadState> ReadStates { get; } = [];

    public bool Down { get; set; }

    /// <summary>Crash and restart: everything not in storage is lost; the state machine is rebuilt from the snapshot.</summary>
    public void Restart()
    {
        var snapshot = Storage.Snapshot();
        Applied = RaftNetwork.DecodeStateMachine(snapshot.Data);
        AppliedIndex = snapshot.Metadata.Index;
        if (snapshot.Metadata.Index > 0)
        {
            ConfState = snapshot.Metadata.ConfState.Clone();
        }

        ReadStates.Clear();
        Node = new RawNode(Config with { Applied = AppliedIndex }, Storage);
        Down = false;
    }

    /// <summary>Writes a snapshot of the applied state and compacts the log up to it.</summary>
    public void Compact()
    {
        if (AppliedIndex <= Storage.Snapshot().Metadata.Index || AppliedIndex < Storage.FirstIndex())
        {
            return;
        }

        Storage.CreateSnapshot(AppliedIndex, ConfState, RaftNetwork.EncodeStateMachine(Applied).ToByteArray());
        Storage.Compact(AppliedIndex);
    }
}

/// <summary>
/// A deterministic in-process network of RawNodes: messages wait in a queue until delivered; links can be cut.
/// Invariants are checked on every Ready: at most one leader per term (election safety) and identical committed
/// entries at every index on every member (state machine safety).
/// </summary>
internal sealed class RaftNetwork
{
    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];
    private readonly Dictionary<ulong, Entry> _committed = [];
    private readonly HashSet<(ulong From, ulong To)> _cutLinks = [];

    /// <param name="size">Number of members, ids 1..size.</param>
    /// <param name="configure">Config per member; Peers/Learners default to every member.</param>
    /// <param name="seed">Seed of the election timeouts.</param>
    /// <param name="joining">Members that start with an empty configuration and learn it from the leader.</param>
    public RaftNetwork(int size, Func<ulong, RaftConfig>? configure = null, int seed = 0, IReadOnlySet<ulong>? joining = null)
    {
        var peers = Enumerable.Range(1, size).Select(i => (ulong)i).ToArray();
        foreach (var id in peers)
        {
            var config = configure?.Invoke(id) ?? new RaftConfig { Id = id };
            var usePeers = config.Peers.Count == 0 && config.Learners.Count == 0 && joining?.Contains(id) != true;
            config = config with { Id = id, Peers = usePeers ? peers : config.Peers, Seed = seed };
            var node = new SimNode(id, config);
            node.ConfState.Voters.AddRange(node.Config.Peers);
            node.ConfState.Learners.AddRange(node.Config.Learners);
            Nodes[id] = node;
        }
    }

    public SortedDictionary<ulong, SimNode> Nodes { get; } = [];

    /// <summary>For each ReadIndex request context, the highest committed index seen when it was asked.</summary>
    public Dictionary<ByteString, ulong> ReadRequestedAt { get; } = [];

    /// <summary>Asks <paramref name="id"/> for a read index, remembering what was committed at that time.</summary>
    public void ReadIndex(ulong id, ByteString ctx)
    {
        ReadRequestedAt[ctx] = MaxCommitted;
        Nodes[id].Node.ReadIndex(ctx);
        Process(id);
    }

    public List<Message> Queue { get; } = [];

    /// <summary>Extra drop rule for messages, applied at delivery.</summary>
    public Func<Message, bool>? Drop { get; set; }

    /// <summary>The highest committed index seen on any member.</summary>
    public ulong MaxCommitted => _committed.Count == 0 ? 0 : _committed.Keys.Max();

    public IReadOnlyDictionary<ulong, ulong> LeaderOfTerm => _leaderOfTerm;

    public SimNode this[ulong id] => Nodes[id];

    public void Cut(ulong a, ulong b)
    {
        _cutLinks.Add((a, b));
        _cutLinks.Add((b, a));
    }

    public void Isolate(ulong id)
    {
        foreach (var other in Nodes.Keys.Where(o => o != id))
        {
            Cut(id, other);
        }
    }

    /// <summary>Only members in the same group can talk.</summary>
    public void Partition(params ulong[][] groups)
    {
        foreach (var a in Nodes.Keys)
        {
            foreach (var b in Nodes.Keys)
            {
                if (a != b && !groups.Any(g => g.Contains(a) && g.Contains(b)))
                {
                    _cutLinks.Add((a, b));
                }
            }
        }
    }

    public void Heal()
    {
        _cutLinks.Clear();
        Drop = null;
    }

    public bool IsCut(ulong from, ulong to) => _cutLinks.Contains((from, to));

    /// <summary>Handles every pending Ready of <paramref name="id"/> the way a member does.</summary>
    public void Process(ulong id)
    {
        var sim = Nodes[id];
        if (sim.Down)
        {
            return;
        }

        while (sim.Node.HasReady())
        {
            var rd = sim.Node.GetReady();
            var term = sim.Node.Status.Term;
            if (rd.SoftState is { State: RaftState.Leader })
            {
                if (_leaderOfTerm.TryGetValue(term, out var other) && other != id)
                {
                    throw new InvalidOperationException($"election safety violated: {other} and {id} both lead term {term}");
                }

                _leaderOfTerm[term] = id;
            }

            // Persist first, then send, then apply.
            if (rd.Snapshot is { } snapshot)
            {
                sim.Storage.ApplySnapshot(snapshot);
            }

            if (rd.HardState is { } hardState)
            {
                sim.Storage.SetHardState(hardState);
            }

            sim.Storage.Append(rd.Entries);
            foreach (var m in rd.Messages)
            {
                Queue.Add(m.Clone());
            }

            if (rd.Snapshot is { } applied)
            {
                var entries = DecodeStateMachine(applied.Data);
                foreach (var e in entries)
                {
                    CheckCommitted(id, e);
                }

                sim.Applied = entries;
                sim.AppliedIndex = applied.Metadata.Index;
                sim.ConfState = applied.Metadata.ConfState.Clone();
            }

            foreach (var entry in rd.CommittedEntries)
            {
                if (entry.Index != sim.AppliedIndex + 1)
                {
                    throw new InvalidOperationException($"member {id} applied index {entry.Index} after {sim.AppliedIndex}");
                }

                CheckCommitted(id, entry);
                sim.Applied.Add(entry);
                sim.AppliedIndex = entry.Index;
                if (entry.Type == EntryType.EntryConfChange)
                {
                    sim.ConfState = sim.Node.ApplyConfChange(ConfChange.Parser.ParseFrom(entry.Data));
                }
            }

            foreach (var rs in rd.ReadStates)
            {
                // Linearizability of ReadIndex: the read index covers everything committed before the request.
                if (ReadRequestedAt.TryGetValue(rs.RequestCtx, out var committedAtRequest) && rs.Index < committedAtRequest)
                {
                    throw new InvalidOperationException(
                        $"stale read: member {id} got read index {rs.Index} but {committedAtRequest} was committed before the request");
                }
            }

            sim.ReadStates.AddRange(rd.ReadStates);
            sim.Node.Advance(rd);
        }
    }

    private void CheckCommitted(ulong id, Entry entry)
    {
        if (_committed.TryGetValue(entry.Index, out var known))
        {
            if (!known.Equals(entry))
            {
                throw new InvalidOperationException(
                    $"state machine safety violated at index {entry.Index}: member {id} applied {entry} but {known} was committed");
            }
        }
        else
        {
            _committed[entry.Index] = entry.Clone();
        }
    }

    public void ProcessAll()
    {
        foreach (var id in Nodes.Keys)
        {
            Process(id);
        }
    }

    /// <summary>Loses the queued message at <paramref name="position"/>.</summary>
    public void LoseAt(int position) => DeliverAt(position, lose: true);

    /// <summary>Delivers the queued message at <paramref name="position"/> (or drops it when its link is cut).</summary>
    public void DeliverAt(int position, bool lose = false)
    {
        var m = Queue[position];
        Queue.RemoveAt(position);
        var delivered = !lose && !IsCut(m.From, m.To) && Drop?.Invoke(m) != true && Nodes.TryGetValue(m.To, out var target) && !target.Down;
        if (delivered)
        {
            Nodes[m.To].Node.Step(m);
            Process(m.To);
        }

        if (m.Type == MessageType.MsgSnap && Nodes.TryGetValue(m.From, out var sender) && !sender.Down)
        {
            // The transport reports the outcome of a snapshot send to the sender.
            sender.Node.ReportSnapshot(m.To, delivered);
            Process(m.From);
        }
    }

    /// <summary>Delivers queued messages in order until none is left (bounded).</summary>
    public void DeliverAll(int maxMessages = 100_000)
    {
        ProcessAll();
        for (var i = 0; Queue.Count > 0; i++)
        {
            if (i >= maxMessages)
            {
                throw new InvalidOperationException("network did not quiesce");
            }

            DeliverAt(0);
        }
    }

    public void Tick(ulong id)
    {
        if (Nodes[id].Down)
        {
            return;
        }

        Nodes[id].Node.Tick();
        Process(id);
    }

    public void TickAll()
    {
        foreach (var id in Nodes.Keys)
        {
            Tick(id);
        }
    }

    /// <summary>Ticks every member and delivers messages until <paramref name="condition"/> holds.</summary>
    public void RunUntil(Func<bool> condition, int maxTicks = 1000, string? what = null)
    {
        for (var tick = 0; tick < maxTicks; tick++)
        {
            DeliverAll();
            if (condition())
            {
                return;
            }

            TickAll();
        }

        DeliverAll();
        if (!condition())
        {
            throw new TimeoutException($"condition not reached within {maxTicks} ticks: {what}\n{Describe()}");
        }
    }

    /// <summary>Every member's status, for failure messages.</summary>
    public string Describe() => string.Join("\n", Nodes.Values.Select(n =>
        $"{n.Id}: down={n.Down} applied={n.AppliedIndex} last={n.Storage.LastIndex()} first={n.Storage.FirstIndex()} values={string.Join(',', Values(n).TakeLast(3))} {Brief(n.Node.Status)} "
        + string.Join(" ", n.Node.Status.Progress.Select(p => $"[{p.Key}: {p.Value}]"))));

    private static string Brief(RaftStatus s) =>
        $"term={s.Term} vote={s.Vote} lead={s.Lead} state={s.State} commit={s.Commit} applied={s.Applied} transferee={s.LeadTransferee}";

    /// <summary>The one member that leads the highest term any member knows, or null.</summary>
    public SimNode? Leader()
    {
        var leaders = Nodes.Values.Where(n => !n.Down && n.Node.Status.State == RaftState.Leader).ToList();
        return leaders.Count == 0 ? null : leaders.MaxBy(n => n.Node.Status.Term);
    }

    public SimNode ElectLeader(ulong id)
    {
        Nodes[id].Node.Campaign();
        DeliverAll();
        if (Nodes[id].Node.Status.State != RaftState.Leader)
        {
            throw new InvalidOperationException($"member {id} did not become leader: {Nodes[id].Node.Status}");
        }

        return Nodes[id];
    }

    /// <summary>The data of the applied normal entries with data (what a client would see).</summary>
    public static List<string> Values(SimNode node) =>
        node.Applied.Where(e => e.Type == EntryType.EntryNormal && !e.Data.IsEmpty).Select(e => e.Data.ToStringUtf8()).ToList();

    public static ByteString EncodeStateMachine(List<Entry> applied)
    {
        var holder = new Message();
        holder.Entries.AddRange(applied);
        return holder.ToByteString();
    }

    public static List<Entry> DecodeStateMachine(ByteString data) => [.. Message.Parser.ParseFrom(data).Entries];
}
