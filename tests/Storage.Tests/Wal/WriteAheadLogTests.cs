using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.TestDoubles;
using Akka.Etcd.Storage.Wal;
using Raftpb;
using static Akka.Etcd.Storage.Tests.Wal.WalTestKit;

namespace Akka.Etcd.Storage.Tests.Wal;

public class WriteAheadLogTests
{
    private readonly SimulatedDisk _fs = new();

    [Fact]
    public void Round_trip_returns_metadata_hard_state_and_entries()
    {
        Assert.False(WriteAheadLog.Exists(Dir, _fs));
        using (var wal = WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId))
        {
            wal.Append(new HardState { Term = 1, Vote = MemberId, Commit = 0 }, Entries(1, 5));
            wal.Append(new HardState { Term = 2, Vote = 7, Commit = 4 }, Entries(6, 10, term: 2));
            wal.Sync();
            Assert.Equal(10ul, wal.LastIndex);
        }
        Assert.True(WriteAheadLog.Exists(Dir, _fs));
        Assert.Equal(["0000000000000000-0000000000000000.wal"], SegmentFiles(_fs));

        var state = Reopen(_fs);
        Assert.Equal(MemberId, state.MemberId);
        Assert.Equal(ClusterId, state.ClusterId);
        Assert.Equal(new HardState { Term = 2, Vote = 7, Commit = 4 }, state.HardState);
        Assert.Equal(0ul, state.SnapshotIndex);
        AssertEntries(Entries(1, 5).Concat(Entries(6, 10, term: 2)), state.Entries);
    }

    [Fact]
    public void Empty_wal_reopens_with_empty_state_and_appends_continue_after_reopen()
    {
        WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId).Dispose();
        using (var wal = WriteAheadLog.Open(Dir, Options(_fs), out var empty))
        {
            Assert.Empty(empty.Entries);
            Assert.Equal(new HardState(), empty.HardState);
            Assert.Equal(0ul, wal.LastIndex);
            wal.Append(null, Entries(1, 3));
        }
        using (var wal = WriteAheadLog.Open(Dir, Options(_fs), out var state))
        {
            AssertEntries(Entries(1, 3), state.Entries);
            Assert.Equal(3ul, wal.LastIndex);
            wal.Append(new HardState { Term = 1, Commit = 3 }, Entries(4, 4));
        }
        var final = Reopen(_fs);
        AssertEntries(Entries(1, 4), final.Entries);
        Assert.Equal(3ul, final.HardState.Commit);
    }

    [Fact]
    public void Later_entries_overwrite_an_uncommitted_suffix()
    {
        using (var wal = WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId))
        {
            wal.Append(null, Entries(1, 5, term: 1));
            wal.Append(null, Entries(3, 4, term: 2));
            Assert.Equal(4ul, wal.LastIndex);
            wal.Append(null, Entries(5, 6, term: 2));
            wal.Sync();
        }
        var state = Reopen(_fs);
        AssertEntries(Entries(1, 2, term: 1).Concat(Entries(3, 6, term: 2)), state.Entries);
    }

    [Fact]
    public void Append_rejects_gaps_and_non_consecutive_batches()
    {
        using var wal = WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId);
        wal.Append(null, Entries(1, 3));
        Assert.Throws<ArgumentException>(() => wal.Append(null, Entries(5, 6)));
        Assert.Throws<ArgumentException>(() => wal.Append(null, [Entry(4, 1), Entry(6, 1)]));
        wal.SaveSnapshotMarker(2, 1);
        Assert.Throws<ArgumentException>(() => wal.Append(null, Entries(2, 3)));
        Assert.Throws<ArgumentException>(() => wal.SaveSnapshotMarker(1, 1));
    }

    [Fact]
    public void Segments_roll_over_when_full_and_read_back_across_segments()
    {
        var options = Options(_fs, segmentSize: 4096);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            for (ulong i = 1; i <= 200; i += 4)
            {
                wal.Append(new HardState { Term = 1, Commit = i - 1 }, Entries(i, i + 3, dataBytes: 100));
                wal.Sync();
            }
            Assert.True(wal.SegmentCount > 5, $"only {wal.SegmentCount} segments");
        }
        var files = SegmentFiles(_fs);
        for (var i = 0; i < files.Count; i++)
        {
            Assert.True(WalSegmentName.TryParse(files[i], out var name));
            Assert.Equal((ulong)i, name.Sequence);
            var bytes = _fs.ReadAllBytes(Path.Combine(Dir, files[i]));
            Assert.Equal(4096, bytes.Length); // preallocated, and no batch overflows a segment
            if (i > 0)
            {
                // the first entry in a segment is its named first index
                var first = Records(bytes).First(r => r.Type == WalRecordType.Entry);
                var entry = Raftpb.Entry.Parser.ParseFrom(bytes.AsSpan((int)first.Offset + WalRecord.HeaderSize,
                    first.Size - WalRecord.HeaderSize - bytes[first.Offset + 5]));
                Assert.Equal(name.FirstIndex, entry.Index);
            }
        }
        var state = Reopen(_fs, options);
        AssertEntries(Entries(1, 200, dataBytes: 100), state.Entries);
        Assert.Equal(196ul, state.HardState.Commit);
    }

    [Fact]
    public void Entries_kept_across_older_segments_after_a_snapshot_marker_and_a_rewrite_are_read_back_exactly()
    {
        // Entries are parsed lazily after the whole log is read: the survivors here start in an older segment and end
        // with a rewritten suffix, and the entries before the marker and the replaced ones are never materialised.
        var options = Options(_fs, segmentSize: 4096);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            for (ulong i = 1; i <= 200; i += 4)
                wal.Append(new HardState { Term = 1, Commit = i - 1 }, Entries(i, i + 3, dataBytes: 100));
            wal.SaveSnapshotMarker(150, 1);
            wal.Append(new HardState { Term = 2, Commit = 169 }, Entries(170, 180, term: 2, dataBytes: 100));
            wal.Sync();
            Assert.True(wal.SegmentCount > 5, $"only {wal.SegmentCount} segments");
        }
        var state = Reopen(_fs, options);
        Assert.Equal(150ul, state.SnapshotIndex);
        AssertEntries(Entries(151, 169, dataBytes: 100).Concat(Entries(170, 180, term: 2, dataBytes: 100)), state.Entries);
        Assert.Equal(169ul, state.HardState.Commit);
    }

    [Fact]
    public void A_batch_larger_than_a_segment_is_written_whole()
    {
        var options = Options(_fs, segmentSize: 4096);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            wal.Append(null, Entries(1, 1, dataBytes: 10_000));
            wal.Append(null, Entries(2, 3, dataBytes: 10));
            wal.Sync();
        }
        AssertEntries(Entries(1, 1, dataBytes: 10_000).Concat(Entries(2, 3, dataBytes: 10)), Reopen(_fs, options).Entries);
    }

    [Fact]
    public void ReleaseTo_deletes_old_segments_and_reopen_starts_from_the_snapshot_marker()
    {
        var options = Options(_fs, segmentSize: 4096, keep: 1);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            for (ulong i = 1; i <= 200; i += 5)
                wal.Append(new HardState { Term = 3, Vote = 1, Commit = i + 4 }, Entries(i, i + 4, term: 3, dataBytes: 100));
            wal.Sync();
            var before = wal.SegmentCount;
            wal.SaveSnapshotMarker(150, 3);
            Assert.Equal(200ul, wal.LastIndex);
            wal.ReleaseTo(150);
            Assert.True(wal.SegmentCount < before);
            Assert.Equal(wal.SegmentCount, SegmentFiles(_fs).Count);
        }
        var remaining = SegmentFiles(_fs);
        Assert.True(WalSegmentName.TryParse(remaining[0], out var oldest));
        Assert.True(oldest.FirstIndex <= 150, $"the segment holding index 150 was deleted: {string.Join(",", remaining)}");
        Assert.NotEqual(0ul, oldest.Sequence);

        using (var wal = WriteAheadLog.Open(Dir, options, out var state))
        {
            Assert.Equal((150ul, 3ul), (state.SnapshotIndex, state.SnapshotTerm));
            AssertEntries(Entries(151, 200, term: 3, dataBytes: 100), state.Entries);
            Assert.Equal(new HardState { Term = 3, Vote = 1, Commit = 200 }, state.HardState);
            Assert.Equal((MemberId, ClusterId), (state.MemberId, state.ClusterId));
            wal.Append(null, Entries(201, 230, term: 4, dataBytes: 100));
            wal.SaveSnapshotMarker(225, 4);
            wal.ReleaseTo(225);
        }
        var last = Reopen(_fs, options);
        Assert.Equal(225ul, last.SnapshotIndex);
        AssertEntries(Entries(226, 230, term: 4, dataBytes: 100), last.Entries);
    }

    [Fact]
    public void ReleaseTo_keeps_MaxSegmentsToKeep_and_zero_keeps_everything()
    {
        foreach (var (keep, expected) in new[] { (0, -1), (3, 3) })
        {
            var fs = new SimulatedDisk();
            var options = Options(fs, segmentSize: 4096, keep: keep);
            using var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId);
            wal.Append(null, Entries(1, 300, dataBytes: 100));
            for (ulong i = 301; i <= 400; i++)
                wal.Append(null, Entries(i, i, dataBytes: 100));
            var before = wal.SegmentCount;
            wal.SaveSnapshotMarker(400, 1);
            wal.ReleaseTo(400);
            Assert.Equal(expected < 0 ? before : expected, wal.SegmentCount);
        }
    }

    [Fact]
    public void A_snapshot_marker_beyond_the_log_starts_a_new_run_of_entries()
    {
        using (var wal = WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId))
        {
            wal.Append(null, Entries(1, 50));
            wal.SaveSnapshotMarker(1000, 5); // a follower installing a leader's snapshot
            Assert.Equal(1000ul, wal.LastIndex);
            wal.Append(new HardState { Term = 5, Commit = 1000 }, Entries(1001, 1003, term: 5));
            wal.Sync();
        }
        var state = Reopen(_fs);
        Assert.Equal(1000ul, state.SnapshotIndex);
        AssertEntries(Entries(1001, 1003, term: 5), state.Entries);
    }

    [Fact]
    public void Create_refuses_an_existing_wal_and_Open_refuses_a_missing_one()
    {
        Assert.Throws<FileNotFoundException>(() => WriteAheadLog.Open(Dir, Options(_fs), out _));
        WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId).Dispose();
        var e = Assert.Throws<IOException>(() => WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId));
        Assert.Contains("already exists", e.Message);
    }

    [Fact]
    public void A_locked_directory_cannot_be_opened_twice()
    {
        using var wal = WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId);
        var e = Assert.Throws<StorageLockedException>(() => WriteAheadLog.Open(Dir, Options(_fs), out _));
        Assert.Contains(WriteAheadLog.LockFileName, e.Message);
        Assert.Throws<StorageLockedException>(() => WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId));
        wal.Dispose();
        WriteAheadLog.Open(Dir, Options(_fs), out _).Dispose();
    }

    [Fact]
    public void Group_commit_many_appends_one_sync()
    {
        using var wal = WriteAheadLog.Create(Dir, Options(_fs), MemberId, ClusterId);
        var syncsBefore = _fs.SyncCount;
        for (ulong i = 1; i <= 100; i++)
            wal.Append(new HardState { Term = 1, Commit = i - 1 }, [Entry(i, 1)]);
        wal.Sync();
        wal.Sync(); // nothing new: no fsync
        Assert.Equal(syncsBefore + 1, _fs.SyncCount);
        Assert.True(wal.LastSyncDuration >= TimeSpan.Zero);
    }
}
