using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Tests.Linearizability;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>The simulation's parts on their own: durable log, state machine, invariant checks.</summary>
public sealed class ClusterPartsTests
{
    private static Entry Entry(ulong index, ulong term, string data = "") =>
        new() { Index = index, Term = term, Data = ByteString.CopyFromUtf8(data) };

    [Fact]
    public void Durable_log_truncates_a_conflicting_suffix_and_reloads_only_what_was_saved()
    {
        var durable = new DurableLog();
        durable.Append([Entry(1, 1, "a"), Entry(2, 1, "b"), Entry(3, 1, "c")]);
        durable.Append([Entry(2, 2, "x")]);
        durable.SetHardState(new HardState { Term = 2, Vote = 1, Commit = 1 });

        var storage = durable.Load();

        Assert.Equal(2UL, storage.LastIndex());
        Assert.Equal(2UL, storage.Term(2));
        Assert.Equal(new HardState { Term = 2, Vote = 1, Commit = 1 }, storage.InitialState().HardState);
    }

    [Fact]
    public void Durable_log_keeps_entries_after_a_local_snapshot_and_drops_all_for_a_received_one()
    {
        var durable = new DurableLog();
        durable.Append([Entry(1, 1), Entry(2, 1), Entry(3, 1)]);
        var snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = 2, Term = 1, ConfState = new ConfState { Voters = { 1 } } } };

        durable.SaveLocalSnapshot(snapshot);
        var storage = durable.Load();
        Assert.Equal(3UL, storage.FirstIndex());
        Assert.Equal(3UL, storage.LastIndex());

        durable.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 10, Term = 3, ConfState = new ConfState { Voters = { 1 } } } });
        storage = durable.Load();
        Assert.Equal(11UL, storage.FirstIndex());
        Assert.Equal(10UL, storage.LastIndex());
    }

    [Fact]
    public void State_machine_applies_each_request_once_and_round_trips_through_a_snapshot()
    {
        var machine = new KvStateMachine();
        Assert.Equal(new KvApplyResult(true), machine.Apply(1, new KvCommand("r1", KvOperationKind.Put, "k", "1", null)));
        Assert.Null(machine.Apply(2, new KvCommand("r1", KvOperationKind.Put, "k", "1", null)));
        Assert.Equal(new KvApplyResult(false), machine.Apply(3, new KvCommand("r2", KvOperationKind.Cas, "k", "2", "0")));
        Assert.Equal(new KvApplyResult(true), machine.Apply(4, new KvCommand("r3", KvOperationKind.Cas, "k", "2", "1")));
        machine.Skip(5);
        Assert.Equal(new KvApplyResult(false), machine.Apply(6, new KvCommand("r4", KvOperationKind.Delete, "other", null, null)));
        Assert.Equal("2", machine.Get("k"));

        var restored = KvStateMachine.FromSnapshot(machine.ToSnapshot(), machine.AppliedIndex);
        Assert.Equal(machine.Fingerprint(), restored.Fingerprint());
        Assert.Null(restored.Apply(7, new KvCommand("r3", KvOperationKind.Put, "k", "again", null)));
        Assert.Throws<SimulationInvariantException>(() => restored.Skip(9));
    }

    [Fact]
    public void Command_round_trips_through_its_encoding()
    {
        var command = new KvCommand("req-7", KvOperationKind.Cas, "k1", "v7", null);
        Assert.Equal(command, KvCommand.Decode(command.Encode()));
    }

    [Fact]
    public void Invariants_reject_two_leaders_in_one_term()
    {
        var invariants = new RaftInvariants();
        invariants.ObserveLeader(1, 5, new MemoryRaftLogStorage());
        invariants.ObserveLeader(1, 5, new MemoryRaftLogStorage());
        Assert.Contains("election safety", Assert.Throws<SimulationInvariantException>(() => invariants.ObserveLeader(2, 5, new MemoryRaftLogStorage())).Message);
    }

    [Fact]
    public void Invariants_reject_logs_that_agree_on_an_entry_but_not_on_its_predecessor()
    {
        var invariants = new RaftInvariants();
        var a = new MemoryRaftLogStorage();
        a.Append([Entry(1, 1)]);
        var b = new MemoryRaftLogStorage();
        b.Append([Entry(1, 2)]);

        invariants.ObserveAppend(1, [Entry(2, 3, "x")], a);
        Assert.Contains("log matching", Assert.Throws<SimulationInvariantException>(() => invariants.ObserveAppend(2, [Entry(2, 3, "x")], b)).Message);
        Assert.Throws<SimulationInvariantException>(() => invariants.ObserveAppend(2, [Entry(2, 3, "other data")], a));
    }

    [Fact]
    public void Invariants_reject_a_leader_missing_a_committed_entry_and_members_applying_different_entries()
    {
        var invariants = new RaftInvariants();
        invariants.ObserveApply(1, Entry(1, 1, "a"), fingerprint: 10, leaders: []);
        Assert.Throws<SimulationInvariantException>(() => invariants.ObserveApply(2, Entry(1, 2, "b"), fingerprint: 10, leaders: []));
        Assert.Throws<SimulationInvariantException>(() => invariants.ObserveApply(2, Entry(1, 1, "a"), fingerprint: 11, leaders: []));

        var stale = new MemoryRaftLogStorage();
        stale.Append([Entry(1, 2, "b")]);
        Assert.Contains("leader completeness", Assert.Throws<SimulationInvariantException>(() => invariants.ObserveLeader(3, 4, stale)).Message);
    }
}
