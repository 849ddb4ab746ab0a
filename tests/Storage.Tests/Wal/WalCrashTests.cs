using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.TestDoubles;
using Akka.Etcd.Storage.Wal;
using Raftpb;
using static Akka.Etcd.Storage.Tests.Wal.WalTestKit;

namespace Akka.Etcd.Storage.Tests.Wal;

public class WalCrashTests
{
    private const string Segment0 = Dir + "/0000000000000000-0000000000000000.wal";

    /// <summary>Entries 1..3 synced, then one unsynced write of HardState + entries 4..6 of different sizes.</summary>
    private static SimulatedDisk SyncedThenPendingBatch(out long pendingBytes)
    {
        var fs = new SimulatedDisk();
        var wal = WriteAheadLog.Create(Dir, Options(fs), MemberId, ClusterId);
        wal.Append(new HardState { Term = 1, Commit = 2 }, Entries(1, 3));
        wal.Sync();
        wal.Append(new HardState { Term = 1, Commit = 3 }, [Entry(4, 1, 5), Entry(5, 1, 40), Entry(6, 1, 1)]);
        pendingBytes = fs.UnsyncedBytes;
        return fs; // the WAL is abandoned: the "process" crashes
    }

    [Fact]
    public void Torn_tail_at_every_byte_offset_keeps_every_whole_record()
    {
        var reference = SyncedThenPendingBatch(out var pending);
        var bytes = reference.ReadAllBytes(Segment0);
        var records = Records(bytes);
        var batch = records.Skip(records.Count - 4).ToList(); // HardState + 3 entries
        var batchStart = batch[0].Offset;
        Assert.Equal(pending, batch[^1].Offset + batch[^1].Size - batchStart);
        // a record is whole once its payload landed: its padding is zeros already in the preallocated file
        var payloadEnds = batch.Select(r => r.Offset + r.Size - bytes[r.Offset + 5] - batchStart).ToList();

        for (long keep = 0; keep <= pending; keep++)
        {
            var fs = SyncedThenPendingBatch(out _);
            fs.Crash(keepUnsyncedBytes: keep);
            var wholeRecords = payloadEnds.Count(end => end <= keep);
            var expectedLast = 3 + (ulong)Math.Max(0, wholeRecords - 1);

            using (var wal = WriteAheadLog.Open(Dir, Options(fs), out var state))
            {
                AssertEntries(Entries(1, 3).Concat(new[] { Entry(4, 1, 5), Entry(5, 1, 40), Entry(6, 1, 1) })
                    .Take((int)expectedLast), state.Entries);
                Assert.Equal(wholeRecords >= 1 ? 3ul : 2ul, state.HardState.Commit);
                Assert.Equal(expectedLast, wal.LastIndex);
                // the log is usable: the next append lands after the repaired tail
                wal.Append(null, [Entry(expectedLast + 1, 2)]);
            }
            var after = Reopen(fs);
            Assert.Equal(expectedLast + 1, after.Entries[^1].Index);
            Assert.Equal(2ul, after.Entries[^1].Term);
        }
    }

    [Fact]
    public void Unsynced_appends_are_lost_after_a_crash_but_synced_ones_survive()
    {
        var fs = new SimulatedDisk();
        var wal = WriteAheadLog.Create(Dir, Options(fs, segmentSize: 4096), MemberId, ClusterId);
        wal.Append(new HardState { Term = 1, Commit = 1 }, Entries(1, 40, dataBytes: 100)); // crosses segments
        wal.Sync();
        wal.Append(new HardState { Term = 1, Commit = 40 }, Entries(41, 45));
        wal.Append(null, Entries(46, 48));
        fs.Crash();

        var state = Reopen(fs, Options(fs, segmentSize: 4096));
        AssertEntries(Entries(1, 40, dataBytes: 100), state.Entries);
        Assert.Equal(1ul, state.HardState.Commit);
        Assert.Throws<ObjectDisposedException>(() => wal.Append(null, Entries(41, 41)));
    }

    [Fact]
    public void Garbage_after_the_last_record_is_a_torn_tail_and_is_zero_filled()
    {
        var fs = new SimulatedDisk();
        using (var wal = WriteAheadLog.Create(Dir, Options(fs), MemberId, ClusterId))
        {
            wal.Append(null, Entries(1, 3));
        }
        var end = Records(fs.ReadAllBytes(Segment0)).Select(r => r.Offset + r.Size).Last();
        fs.Poke(Segment0, end + 3, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);

        var logger = new ListLogger();
        AssertEntries(Entries(1, 3), Reopen(fs, Options(fs) with { Logger = logger }).Entries);
        Assert.False(fs.ReadAllBytes(Segment0).AsSpan((int)end).ContainsAnyExcept((byte)0));
        var warning = Assert.Single(logger.Messages);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains($"torn tail at byte offset {end}", warning.Message);
        Assert.Contains(Segment0, warning.Message);
    }

    [Fact]
    public void A_zeroed_record_followed_by_valid_records_is_corruption()
    {
        var fs = new SimulatedDisk();
        using (var wal = WriteAheadLog.Create(Dir, Options(fs), MemberId, ClusterId))
        {
            wal.Append(null, Entries(1, 5));
        }
        var third = Records(fs.ReadAllBytes(Segment0)).Where(r => r.Type == WalRecordType.Entry).ElementAt(2);
        fs.Poke(Segment0, third.Offset, new byte[third.Size]);

        var e = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(Dir, Options(fs), out _));
        Assert.Equal(third.Offset, e.Offset);
        Assert.Contains("followed by a valid record", e.Message);
    }

    [Fact]
    public void A_crc_mismatch_followed_by_valid_records_is_corruption_naming_file_and_offset()
    {
        var fs = new SimulatedDisk();
        using (var wal = WriteAheadLog.Create(Dir, Options(fs), MemberId, ClusterId))
        {
            wal.Append(null, Entries(1, 5));
        }
        var second = Records(fs.ReadAllBytes(Segment0)).Where(r => r.Type == WalRecordType.Entry).ElementAt(1);
        var payloadByte = second.Offset + WalRecord.HeaderSize + 4;
        fs.Poke(Segment0, payloadByte, [(byte)(fs.ReadAllBytes(Segment0)[payloadByte] ^ 0x01)]);

        var e = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(Dir, Options(fs), out _));
        Assert.Equal(second.Offset, e.Offset);
        Assert.Contains(Segment0, e.Message);
        Assert.Contains($"byte offset {second.Offset}", e.Message);
        // the failed open released the lock and changed nothing
        Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(Dir, Options(fs), out _));
    }

    [Fact]
    public void A_bad_record_in_a_segment_that_is_not_the_last_is_corruption()
    {
        var fs = new SimulatedDisk();
        var options = Options(fs, segmentSize: 4096);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            for (ulong i = 1; i <= 100; i++)
                wal.Append(null, [Entry(i, 1, 100)]);
        }
        Assert.True(SegmentFiles(fs).Count >= 2);
        var last = Records(fs.ReadAllBytes(Segment0))[^1];
        fs.Poke(Segment0, last.Offset + WalRecord.HeaderSize, [0xff, 0xff]);

        var e = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(Dir, options, out _));
        Assert.Equal(Segment0, e.FilePath);
        Assert.Equal(last.Offset, e.Offset);
        Assert.Contains("not the last", e.Message);
    }

    [Fact]
    public void A_missing_segment_is_corruption()
    {
        var fs = new SimulatedDisk();
        var options = Options(fs, segmentSize: 4096);
        using (var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId))
        {
            for (ulong i = 1; i <= 150; i++)
                wal.Append(null, [Entry(i, 1, 100)]);
        }
        var files = SegmentFiles(fs);
        Assert.True(files.Count >= 3);
        fs.DeleteFile(Path.Combine(Dir, files[1]));

        var e = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(Dir, options, out _));
        Assert.Contains("missing segment", e.Message);
        Assert.Contains(files[2], e.Message);
    }

    [Fact]
    public void Disk_full_surfaces_as_IOException_and_the_log_stays_failed()
    {
        var fs = new SimulatedDisk();
        var wal = WriteAheadLog.Create(Dir, Options(fs), MemberId, ClusterId);
        wal.Append(null, Entries(1, 2));
        wal.Sync();

        fs.WriteFault = _ => SimulatedDisk.DiskFull();
        var e = Assert.Throws<IOException>(() => wal.Append(null, Entries(3, 4)));
        Assert.Equal("No space left on device", e.Message);
        fs.WriteFault = null;
        var again = Assert.Throws<IOException>(() => wal.Append(null, Entries(3, 4)));
        Assert.Contains("No space left on device", again.Message);
        Assert.Throws<IOException>(() => wal.Sync());
        wal.Dispose();

        AssertEntries(Entries(1, 2), Reopen(fs).Entries);
    }

    [Fact]
    public void Disk_full_while_cutting_a_segment_surfaces_and_reopen_keeps_synced_entries()
    {
        var fs = new SimulatedDisk();
        var options = Options(fs, segmentSize: 4096);
        var wal = WriteAheadLog.Create(Dir, options, MemberId, ClusterId);
        wal.Append(null, Entries(1, 30, dataBytes: 100));
        wal.Sync();
        fs.WriteFault = path => path.EndsWith(".tmp", StringComparison.Ordinal) ? SimulatedDisk.DiskFull() : null;
        Assert.Throws<IOException>(() => wal.Append(null, Entries(31, 70, dataBytes: 100)));
        wal.Dispose();
        fs.WriteFault = null;

        var state = Reopen(fs, options);
        AssertEntries(Entries(1, 30, dataBytes: 100), state.Entries);
        Assert.DoesNotContain(fs.ListFiles(Dir), n => n.EndsWith(".tmp", StringComparison.Ordinal));
    }
}
