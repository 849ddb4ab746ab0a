using Akka.Etcd.Storage.Wal;
using Akka.Etcd.TestDoubles;
using Raftpb;
using static Akka.Etcd.Storage.Tests.Wal.WalTestKit;

namespace Akka.Etcd.Storage.Tests.Wal;

/// <summary>
/// Journal sequence numbers in the WAL (Akka.Persistence numbering: every HardState, Entry and snapshot marker record
/// after a segment's header is one event): stable across reopening and segment release, anchored in every new segment
/// header, and counted in segments written before they existed, so a WAL written by the previous build (the fixture in
/// Wal/Fixtures/legacy-wal, made by legacy-wal.generator.cs.txt against the build before this change) opens unchanged.
/// </summary>
public class WalSequenceTests
{
    private readonly SimulatedDisk _fs = new();

    private static string FixtureDir => Path.Combine(AppContext.BaseDirectory, "Wal", "Fixtures", "legacy-wal");

    private void CopyFixture()
    {
        _fs.CreateDirectory(Dir);
        foreach (var path in Directory.GetFiles(FixtureDir))
        {
            using var file = _fs.CreateFile(Path.Combine(Dir, Path.GetFileName(path)));
            file.Write(0, File.ReadAllBytes(path));
            file.Sync();
        }
    }

    [Fact]
    public void A_WAL_written_by_the_previous_build_opens_unchanged_and_numbers_its_events_by_counting()
    {
        CopyFixture();
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Wal", "Fixtures", "legacy-wal.expected.txt"));
        long highest;
        IReadOnlyList<long> sequenceNrs;
        using (var wal = WriteAheadLog.Open(Dir, Options(_fs, segmentSize: 4096, keep: 3), out var state))
        {
            Assert.Equal(MemberId, state.MemberId);
            Assert.Equal(ClusterId, state.ClusterId);
            var actual = new[] { $"hardstate {state.HardState.Term} {state.HardState.Vote} {state.HardState.Commit}", $"snapshot {state.SnapshotIndex} {state.SnapshotTerm}" }
                .Concat(state.Entries.Select(e => $"entry {e.Index} {e.Term} {e.Data.ToBase64()}"));
            Assert.Equal(expected, actual);
            sequenceNrs = state.Sequence.Entries;
            highest = state.Sequence.Highest;
            Assert.True(sequenceNrs.SequenceEqual(sequenceNrs.Order()) && sequenceNrs.Distinct().Count() == sequenceNrs.Count);
            Assert.True(highest >= sequenceNrs[^1] && state.Sequence.HardState > 0 && state.Sequence.Snapshot > 0);
            Assert.Equal(highest + 1, wal.NextSequenceNr);

            // The new build appends to it: its numbering goes on from the count.
            wal.AppendEvents(wal.NextSequenceNr, [new HardState { Term = 3, Commit = 95 }, Entry(96, 3), Entry(97, 3)]);
            wal.Sync();
        }
        var reopened = Reopen(_fs, Options(_fs, segmentSize: 4096, keep: 3));
        Assert.Equal(highest + 3, reopened.Sequence.Highest);
        Assert.Equal(sequenceNrs.Concat([highest + 2, highest + 3]), reopened.Sequence.Entries);
        Assert.Equal(97UL, reopened.Entries[^1].Index);
        Assert.Equal(95UL, reopened.HardState.Commit);
    }

    [Fact]
    public void Sequence_numbers_stay_the_same_across_reopening_and_the_release_of_old_segments()
    {
        var options = Options(_fs, segmentSize: 4096, keep: 2);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            for (ulong i = 1; i <= 120; i += 4)
                wal.Append(new HardState { Term = 1, Commit = i - 1 }, Entries(i, i + 3, dataBytes: 100));
            wal.Sync();
            Assert.True(wal.SegmentCount > 4);
        }
        var before = Reopen(_fs, options);
        Assert.Equal(150, before.Sequence.Highest); // 30 HardStates + 120 entries
        Assert.Equal(Enumerable.Range(1, 30).SelectMany(r => Enumerable.Range((r - 1) * 5 + 2, 4)).Select(n => (long)n), before.Sequence.Entries);

        var entry100 = before.Sequence.Entries[99];
        using (var wal = WriteAheadLog.Open(Dir, options, out _))
        {
            wal.SaveSnapshotMarker(100, 1);
            wal.DeleteTo(entry100);
            Assert.Equal(2, wal.SegmentCount); // every segment wholly below the deletion went, --max-wals kept
            Assert.Equal(entry100, wal.DeletedToSequenceNr);
        }
        var after = Reopen(_fs, options);
        Assert.Equal(151, after.Sequence.Highest);
        Assert.Equal(entry100, after.Sequence.DeletedTo);
        Assert.Equal(100UL, after.SnapshotIndex);
        Assert.Equal(before.Sequence.Entries.Skip(100), after.Sequence.Entries);
        Assert.Equal(Entries(101, 120, dataBytes: 100).Select(e => e.Index), after.Entries.Select(e => e.Index));
    }

    [Fact]
    public void An_append_whose_numbers_jump_ahead_is_anchored_and_one_that_goes_back_is_refused()
    {
        var options = Options(_fs);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            wal.AppendEvents(1, [Entry(1, 1), Entry(2, 1)]);
            wal.AppendEvents(10, [Entry(3, 1)]);
            Assert.Equal(11, wal.NextSequenceNr);
            Assert.Throws<ArgumentException>(() => wal.AppendEvents(5, [Entry(4, 1)]));
            Assert.Throws<ArgumentException>(() => wal.AppendEvents(11, [Entry(9, 1)])); // a gap in the Raft log
            Assert.Throws<ArgumentException>(() => wal.AppendEvents(11, ["not a raft event"]));
            wal.Sync();
        }
        var state = Reopen(_fs, options);
        Assert.Equal(new long[] { 1, 2, 10 }, state.Sequence.Entries);
        Assert.Equal(10, state.Sequence.Highest);
    }
}
