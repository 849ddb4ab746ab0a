using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.TestDoubles;
using Akka.Etcd.Storage.Snap;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Storage.Tests.Snap;

public class SnapshotFilesTests
{
    private const string Dir = "/data/member/snap";
    private readonly SimulatedDisk _fs = new();

    private static Snapshot Snapshot(ulong term, ulong index) => new()
    {
        Data = ByteString.CopyFromUtf8($"state at {index}"),
        Metadata = new SnapshotMetadata
        {
            Term = term,
            Index = index,
            ConfState = new ConfState { Voters = { 1, 2, 3 } },
        },
    };

    [Fact]
    public void Save_then_LoadNewest_returns_the_highest_term_and_index()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        Assert.Null(snap.LoadNewest());
        var path = snap.Save(Snapshot(1, 10));
        Assert.Equal(Dir + "/0000000000000001-000000000000000a.snap", path);
        snap.Save(Snapshot(2, 20));
        snap.Save(Snapshot(2, 15));

        Assert.Equal(Snapshot(2, 20), snap.LoadNewest());
        Assert.Equal(["0000000000000002-0000000000000014.snap", "0000000000000002-000000000000000f.snap",
            "0000000000000001-000000000000000a.snap"], snap.List());
        Assert.DoesNotContain(_fs.ListFiles(Dir), n => n.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadNewest_skips_broken_files_and_renames_them()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        snap.Save(Snapshot(1, 10));
        var newest = snap.Save(Snapshot(1, 20));
        var emptyOne = Path.Combine(Dir, SnapshotFiles.FileName(1, 30));
        _fs.CreateFile(emptyOne).Dispose();
        var flipped = _fs.ReadAllBytes(newest);
        _fs.Poke(newest, flipped.Length - 1, [(byte)(flipped[^1] ^ 0x40)]);

        Assert.Equal(Snapshot(1, 10), snap.LoadNewest());
        Assert.True(_fs.FileExists(newest + SnapshotFiles.BrokenSuffix));
        Assert.True(_fs.FileExists(emptyOne + SnapshotFiles.BrokenSuffix));
        Assert.Equal(["0000000000000001-000000000000000a.snap"], snap.List());
    }

    [Fact]
    public void A_file_whose_contents_do_not_match_its_name_is_broken()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        var path = snap.Save(Snapshot(3, 30));
        _fs.Rename(path, Path.Combine(Dir, SnapshotFiles.FileName(3, 31)));
        Assert.Null(snap.LoadNewest());
    }

    [Fact]
    public void Purge_keeps_the_newest_n()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        for (ulong i = 1; i <= 7; i++)
            snap.Save(Snapshot(1, i * 100));
        Assert.Equal(0, snap.Purge(0));
        Assert.Equal(2, snap.Purge(5));
        Assert.Equal(5, snap.List().Count);
        Assert.Equal(3, snap.Purge(2));
        Assert.Equal([SnapshotFiles.FileName(1, 700), SnapshotFiles.FileName(1, 600)], snap.List());
    }

    [Fact]
    public void Empty_snapshots_are_rejected_and_write_errors_surface()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        Assert.Throws<ArgumentException>(() => snap.Save(new Snapshot()));
        _fs.WriteFault = _ => SimulatedDisk.DiskFull();
        var e = Assert.Throws<IOException>(() => snap.Save(Snapshot(1, 1)));
        Assert.Equal("No space left on device", e.Message);
        Assert.Empty(_fs.ListFiles(Dir));
    }

    [Fact]
    public void A_saved_snapshot_survives_a_crash()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        snap.Save(Snapshot(1, 10));
        _fs.Crash();
        Assert.Equal(Snapshot(1, 10), new SnapshotFiles(Dir, _fs).LoadNewest());
    }

    [Fact]
    public void EIO_on_the_fsync_of_a_new_snapshot_surfaces_and_the_previous_snapshot_stays_the_newest()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        snap.Save(Snapshot(1, 10));
        _fs.SyncFault = _ => SimulatedDisk.Eio();
        var e = Assert.Throws<IOException>(() => snap.Save(Snapshot(1, 20)));
        Assert.Equal("Input/output error", e.Message);
        _fs.SyncFault = null;
        _fs.Crash();
        Assert.Equal(Snapshot(1, 10), new SnapshotFiles(Dir, _fs).LoadNewest());
    }

    [Fact]
    public async Task A_snapshot_torn_by_a_crash_before_its_fsync_is_never_loaded()
    {
        var snap = new SnapshotFiles(Dir, _fs);
        snap.Save(Snapshot(1, 10));
        Task saving;
        using (_fs.HoldSyncs())
        {
            saving = Task.Run(() => snap.Save(Snapshot(1, 20)));
            await _fs.SyncStartedAsync(); // the new file is written, not yet fsynced
            _fs.CrashTearingLastWrite(keepBytesOfLastWrite: 7);
        }
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => saving); // the process died with it
        Assert.Equal(Snapshot(1, 10), new SnapshotFiles(Dir, _fs).LoadNewest());
    }

    [Fact]
    public void Round_trip_on_disk()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "akka-etcd-snap-" + Guid.NewGuid().ToString("N"));
        try
        {
            var snap = new SnapshotFiles(SnapshotFiles.DefaultDirectory(dataDir));
            snap.Save(Snapshot(2, 5));
            Assert.Equal(Snapshot(2, 5), new SnapshotFiles(SnapshotFiles.DefaultDirectory(dataDir)).LoadNewest());
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
