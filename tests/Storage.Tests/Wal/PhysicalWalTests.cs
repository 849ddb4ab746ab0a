using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.Storage.Wal;
using Raftpb;
using static Akka.Etcd.Storage.Tests.Wal.WalTestKit;

namespace Akka.Etcd.Storage.Tests.Wal;

public sealed class PhysicalWalTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "akka-etcd-wal-" + Guid.NewGuid().ToString("N"));

    private string WalDir => WriteAheadLog.DefaultDirectory(_dataDir);

    private static WalOptions Options => new() { SegmentSizeBytes = 8192 };

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
            Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public void Round_trip_on_disk_across_segments()
    {
        Assert.False(WriteAheadLog.Exists(WalDir));
        using (var wal = WriteAheadLog.Create(WalDir, Options, MemberId, ClusterId))
        {
            for (ulong i = 1; i <= 80; i += 10)
                wal.Append(new HardState { Term = 4, Vote = 2, Commit = 60 }, Entries(i, i + 9, term: 4, dataBytes: 200));
            wal.Sync();
            Assert.True(wal.LastSyncDuration > TimeSpan.Zero);
        }
        Assert.True(WriteAheadLog.Exists(WalDir));
        Assert.EndsWith(Path.Combine("member", "wal"), WalDir);
        var files = Directory.GetFiles(WalDir, "*.wal");
        Assert.True(files.Length >= 2);
        Assert.All(files, f => Assert.Equal(8192, new FileInfo(f).Length)); // preallocated

        using (var wal = WriteAheadLog.Open(WalDir, Options, out var state))
        {
            Assert.Equal(new HardState { Term = 4, Vote = 2, Commit = 60 }, state.HardState);
            AssertEntries(Entries(1, 80, term: 4, dataBytes: 200), state.Entries);
            Assert.Equal(80ul, wal.LastIndex);
        }
    }

    [Fact]
    public void A_second_open_of_a_locked_directory_fails_with_a_clear_error()
    {
        using var wal = WriteAheadLog.Create(WalDir, Options, MemberId, ClusterId);
        var e = Assert.Throws<StorageLockedException>(() => WriteAheadLog.Open(WalDir, Options, out _));
        Assert.Equal(Path.Combine(WalDir, WriteAheadLog.LockFileName), e.LockPath);
        Assert.Contains("locked", e.Message);
        wal.Dispose();
        WriteAheadLog.Open(WalDir, Options, out _).Dispose();
    }

    [Fact]
    public void Torn_tail_on_disk_is_repaired()
    {
        using (var wal = WriteAheadLog.Create(WalDir, Options, MemberId, ClusterId))
            wal.Append(null, Entries(1, 4));
        var segment = Directory.GetFiles(WalDir, "*.wal").Single();
        var bytes = File.ReadAllBytes(segment);
        var last = Records(bytes)[^1];
        // cut the last entry in half, as a crash in the middle of the write would
        using (var stream = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            stream.Position = last.Offset + last.Size / 2;
            stream.Write(new byte[last.Size - last.Size / 2]);
        }
        using (WriteAheadLog.Open(WalDir, Options, out var state))
            AssertEntries(Entries(1, 3), state.Entries);
        Assert.False(File.ReadAllBytes(segment).AsSpan((int)last.Offset).ContainsAnyExcept((byte)0));
    }

    [Fact]
    public void Append_does_not_allocate_per_entry()
    {
        using var wal = WriteAheadLog.Create(WalDir, new WalOptions { SegmentSizeBytes = 4 * 1024 * 1024 }, MemberId, ClusterId);
        var warmUp = Entries(1, 1000);
        var batch = Entries(1001, 2000);
        wal.Append(null, warmUp); // grows the reusable buffer
        wal.Sync();

        var before = GC.GetAllocatedBytesForCurrentThread();
        wal.Append(null, batch);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 1000, $"Append of 1000 entries allocated {allocated} bytes");
    }
}
