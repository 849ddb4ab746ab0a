using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Mvcc;
using Google.Protobuf;

namespace Akka.Etcd.Storage.Tests.Mvcc;

/// <summary>
/// The online defragmentation steps of <see cref="SqliteBackend"/>: a copy made while the store keeps writing and
/// compacting ends up equal to the live store (same hash, revision, index, buckets) and smaller.
/// </summary>
public sealed class OnlineDefragTests
{
    static void Fill(StoreFixture f, string prefix, int keys, int valueBytes)
    {
        var value = ByteString.CopyFrom(new byte[valueBytes]);
        f.Write(txn =>
        {
            for (var i = 0; i < keys; i++)
                txn.Put(StoreFixture.B($"{prefix}/{i:D5}"), value, 0);
        });
    }

    static void AssertSameAsReopened(StoreFixture f)
    {
        var hash = f.Store.HashKV(0, out var compact);
        var revision = f.Store.CurrentRevision;
        var index = f.Store.ConsistentIndex;
        f.Reopen();
        Assert.Equal(revision, f.Store.CurrentRevision);
        Assert.Equal(index, f.Store.ConsistentIndex);
        Assert.Equal(compact, f.Store.CompactRevision);
        Assert.Equal(hash, f.Store.HashKV(0, out _));
    }

    [Fact]
    public void Writes_during_the_copy_are_in_the_swapped_file()
    {
        using var f = new StoreFixture();
        Fill(f, "old", 300, 2048);
        f.Delete("old/", "old0");
        f.Compact(f.Store.CurrentRevision);
        f.Store.Commit();
        var before = f.Store.DbSizeBytes;

        var copy = SqliteBackend.CopyCompacted(f.DbPath, f.DbPath + ".defrag");
        f.Put("during/copy", "1");
        f.Store.Backend.PutBucketValue("lease", [1], [2]);
        f.Store.Commit();
        copy = SqliteBackend.CatchUp(copy, f.DbPath);
        f.Put("during/swap", "2");

        Assert.True(f.Store.Backend.TrySwapIn(copy, out var pause));
        Assert.True(pause > TimeSpan.Zero);
        Assert.False(File.Exists(f.DbPath + ".defrag"));
        Assert.True(f.Store.DbSizeBytes < before / 4, $"{f.Store.DbSizeBytes} vs {before}");
        Assert.Equal("1", f.Single("during/copy")!.Value.ToStringUtf8());
        Assert.Equal("2", f.Single("during/swap")!.Value.ToStringUtf8());
        f.Put("after/swap", "3");
        Assert.Equal([2], f.Store.Backend.GetBucketValue("lease", [1]));
        AssertSameAsReopened(f);
        Assert.Equal("3", f.Single("after/swap")!.Value.ToStringUtf8());
    }

    [Fact]
    public void A_compaction_after_the_catch_up_is_replayed_off_the_owner_before_the_swap()
    {
        using var f = new StoreFixture();
        Fill(f, "k", 100, 512);
        Fill(f, "k", 100, 512);
        f.Store.Commit();
        var copy = SqliteBackend.CatchUp(SqliteBackend.CopyCompacted(f.DbPath, f.DbPath + ".defrag"), f.DbPath);

        f.Compact(f.Store.CurrentRevision);
        f.Store.Commit();

        Assert.False(f.Store.Backend.TrySwapIn(copy, out _));
        copy = SqliteBackend.CatchUp(copy, f.DbPath);
        Assert.True(f.Store.Backend.TrySwapIn(copy, out _));
        AssertSameAsReopened(f);
        Assert.Equal(100, f.Get("k/", "k0").KeyValues.Count);
    }
}
