using Akka.Etcd.Storage.Mvcc;
using Google.Protobuf;

namespace Akka.Etcd.Storage.Tests.Mvcc;

public sealed class MaintenanceTests
{
    static void Fill(StoreFixture f, int keys, int valueBytes)
    {
        var value = ByteString.CopyFrom(new byte[valueBytes]);
        f.Write(txn =>
        {
            for (var i = 0; i < keys; i++)
                txn.Put(StoreFixture.B($"key/{i:D5}"), value, 0);
        });
    }

    [Fact]
    public void Sizes_and_defragment_after_deleting_and_compacting()
    {
        using var f = new StoreFixture();
        Fill(f, 500, 1024);
        f.Store.Commit();
        var inUse = f.Store.DbSizeInUseBytes;
        Assert.True(inUse > 500 * 1024, $"in use {inUse}");
        Assert.True(f.Store.DbSizeBytes >= inUse);

        f.Delete("key/", "key0");
        f.Compact(f.Store.CurrentRevision);
        f.Store.ForceCommit(durable: true);
        Assert.True(f.Store.DbSizeInUseBytes < inUse / 4, $"in use after compaction {f.Store.DbSizeInUseBytes}");
        var before = f.Store.DbSizeBytes;

        f.Store.Defragment();

        Assert.True(f.Store.DbSizeBytes < before / 4, $"{f.Store.DbSizeBytes} vs {before}");
        Assert.Equal(f.Store.DbSizeBytes, f.Store.DbSizeInUseBytes);
        f.Put("after", "defrag");
        Assert.Equal("defrag", f.Single("after")!.Value.ToStringUtf8());
    }

    [Fact]
    public void Backup_is_a_complete_store_with_the_same_hash()
    {
        using var f = new StoreFixture();
        Fill(f, 50, 10);
        f.Put("pending", "uncommitted so far");
        var backupPath = Path.Combine(f.DataDir, "backup", "db");

        f.Store.BackupTo(backupPath);

        using var copy = MvccStore.Open(backupPath, new MvccStoreOptions());
        Assert.Equal(f.Store.CurrentRevision, copy.CurrentRevision);
        Assert.Equal(f.Store.ConsistentIndex, copy.ConsistentIndex);
        Assert.Equal(f.Store.HashKV(0, out _), copy.HashKV(0, out _));
        Assert.False(File.Exists(backupPath + "-wal") && new FileInfo(backupPath + "-wal").Length > 0);
    }
}
