using Akka.Etcd.Actors.Raft;
using Raftpb;
using static Akka.Etcd.Actors.Tests.Raft.RaftTestSupport;

namespace Akka.Etcd.Actors.Tests.Raft;

public sealed class MemoryRaftLogStorageTests
{
    private static MemoryRaftLogStorage Compacted()
    {
        // Entries 3..5 with the dummy at index 3 (as etcd's storage tests): first index 4.
        var storage = LogStorage(E(3, 1), E(3, 2), E(3, 3), E(4, 4), E(5, 5));
        storage.Compact(3);
        return storage;
    }

    [Fact]
    public void Empty_storage_has_first_index_1_and_last_index_0()
    {
        var storage = new MemoryRaftLogStorage();
        Assert.Equal(1ul, storage.FirstIndex());
        Assert.Equal(0ul, storage.LastIndex());
        Assert.Equal(0ul, storage.Term(0));
        Assert.Empty(storage.Entries(1, 1, ulong.MaxValue));
        Assert.Equal(0ul, storage.Snapshot().Metadata.Index);
    }

    [Fact]
    public void Term_is_known_from_the_compacted_dummy_to_the_last_index()
    {
        var storage = Compacted();
        Assert.Throws<RaftLogCompactedException>(() => storage.Term(2));
        Assert.Equal(3ul, storage.Term(3));
        Assert.Equal(4ul, storage.Term(4));
        Assert.Equal(5ul, storage.Term(5));
        Assert.Throws<RaftLogUnavailableException>(() => storage.Term(6));
    }

    [Fact]
    public void Entries_respects_compaction_bounds_and_the_size_limit()
    {
        var storage = Compacted();
        Assert.Throws<RaftLogCompactedException>(() => storage.Entries(3, 5, ulong.MaxValue));
        Assert.Equal([E(4, 4), E(5, 5)], storage.Entries(4, 6, ulong.MaxValue));
        Assert.Equal([E(4, 4)], storage.Entries(4, 6, 0)); // at least one entry
        var oneSize = (ulong)E(4, 4).CalculateSize();
        Assert.Equal([E(4, 4)], storage.Entries(4, 6, oneSize));
        Assert.Equal([E(4, 4), E(5, 5)], storage.Entries(4, 6, oneSize * 2));
        Assert.Throws<RaftLogUnavailableException>(() => storage.Entries(4, 7, ulong.MaxValue));
    }

    [Fact]
    public void Compact_moves_the_first_index_and_rejects_going_back()
    {
        var storage = Compacted();
        storage.Compact(4);
        Assert.Equal(5ul, storage.FirstIndex());
        Assert.Equal(4ul, storage.Term(4));
        Assert.Throws<RaftLogCompactedException>(() => storage.Compact(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => storage.Compact(9));
    }

    [Fact]
    public void Append_truncates_a_conflicting_suffix_and_skips_compacted_entries()
    {
        var storage = Compacted();
        storage.Append([E(3, 3), E(6, 4), E(6, 5), E(6, 6)]);
        Assert.Equal([E(6, 4), E(6, 5), E(6, 6)], storage.Entries(4, 7, ulong.MaxValue));

        storage.Append([E(7, 5)]);
        Assert.Equal(5ul, storage.LastIndex());
        Assert.Equal(7ul, storage.Term(5));

        Assert.Throws<ArgumentException>(() => storage.Append([E(7, 9)]));
    }

    [Fact]
    public void CreateSnapshot_records_term_conf_state_and_data()
    {
        var storage = Compacted();
        var cs = new ConfState { Voters = { 1, 2, 3 } };
        var snapshot = storage.CreateSnapshot(4, cs, "data"u8.ToArray());
        Assert.Equal(4ul, snapshot.Metadata.Index);
        Assert.Equal(4ul, snapshot.Metadata.Term);
        Assert.Equal(cs, snapshot.Metadata.ConfState);
        Assert.Equal("data", snapshot.Data.ToStringUtf8());
        Assert.Equal(cs, storage.InitialState().ConfState);
        Assert.Throws<SnapshotOutOfDateException>(() => storage.CreateSnapshot(4, cs, default));
    }

    [Fact]
    public void ApplySnapshot_replaces_the_log_and_rejects_older_snapshots()
    {
        var storage = Compacted();
        var snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = 10, Term = 7, ConfState = new ConfState { Voters = { 1 } } } };
        storage.ApplySnapshot(snapshot);
        Assert.Equal(11ul, storage.FirstIndex());
        Assert.Equal(10ul, storage.LastIndex());
        Assert.Equal(7ul, storage.Term(10));
        Assert.Throws<SnapshotOutOfDateException>(() => storage.ApplySnapshot(snapshot));
    }

    [Fact]
    public void HardState_round_trips()
    {
        var storage = new MemoryRaftLogStorage();
        storage.SetHardState(new HardState { Term = 3, Vote = 2, Commit = 0 });
        Assert.Equal(new HardState { Term = 3, Vote = 2 }, storage.InitialState().HardState);
    }
}
