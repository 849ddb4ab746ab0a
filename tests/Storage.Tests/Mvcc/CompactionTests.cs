using Akka.Etcd.Protos.Errors;
using Google.Protobuf;

namespace Akka.Etcd.Storage.Tests.Mvcc;

public sealed class CompactionTests : IDisposable
{
    readonly StoreFixture _f = new(new() { CompactionBatchLimit = 2 });

    public CompactionTests()
    {
        _f.Put("live", "1");     // 2
        _f.Put("live", "2");     // 3
        _f.Put("gone", "x");     // 4
        _f.Delete("gone");       // 5
        _f.Put("live", "3");     // 6
        _f.Put("late", "l");     // 7
        _f.Put("back", "b1");    // 8
        _f.Delete("back");       // 9
        _f.Put("back", "b2");    // 10
    }

    public void Dispose() => _f.Dispose();

    long RowCount() => _f.Store.Backend.CountRevisions();

    [Fact]
    public void Compaction_keeps_newest_live_versions_and_drops_the_rest()
    {
        Assert.Equal(9, RowCount());
        _f.Compact(5);
        Assert.Equal(5, _f.Store.CompactRevision);
        Assert.Equal(10, _f.Store.CurrentRevision);

        // at 5: live=2 (rev 3) kept; live@2 dropped; gone put+tombstone dropped
        var at5 = _f.Get("\0", "\0", revision: 5);
        Assert.Equal(["live"], StoreFixture.Keys(at5));
        Assert.Equal("2", at5.KeyValues[0].Value.ToStringUtf8());
        Assert.Equal(2, at5.KeyValues[0].Version);
        Assert.Equal(2, at5.KeyValues[0].CreateRevision);
        Assert.Equal(["back", "late", "live"], StoreFixture.Keys(_f.Get("\0", "\0")));
        // rows left: live@3, live@6, late@7, back@8, back@9(t), back@10
        Assert.Equal(6, RowCount());
        Assert.Equal(3, _f.Store.IndexedKeyCount); // gone is out of the index
    }

    [Fact]
    public void Reads_below_the_compact_revision_fail_and_at_it_succeed()
    {
        _f.Compact(6);
        var error = Assert.Throws<EtcdException>(() => _f.Get("live", revision: 5));
        Assert.Equal(EtcdErrors.Compacted.Message, error.Message);
        Assert.Equal(RpcStatusCode.OutOfRange, error.Code);
        Assert.Equal("3", _f.Single("live", revision: 6)!.Value.ToStringUtf8());
        Assert.Throws<EtcdException>(() => _f.Store.Get("live"u8.ToArray(), 4));
        Assert.Throws<EtcdException>(() => _f.Store.EventsBetween(5, 10, "live"u8.ToArray(), null).ToList());
        Assert.Single(_f.Store.EventsBetween(6, 10, "live"u8.ToArray(), null));
    }

    [Fact]
    public void Compact_errors_for_old_and_future_revisions()
    {
        _f.Compact(4);
        Assert.Equal(EtcdErrors.Compacted.Message, Assert.Throws<EtcdException>(() => _f.Compact(4)).Message);
        Assert.Equal(EtcdErrors.Compacted.Message, Assert.Throws<EtcdException>(() => _f.Compact(3)).Message);
        Assert.Equal(EtcdErrors.FutureRev.Message, Assert.Throws<EtcdException>(() => _f.Compact(11)).Message);
        Assert.Equal(4, _f.Store.CompactRevision);
        Assert.Equal(_f.Index, _f.Store.ConsistentIndex);
    }

    [Fact]
    public void Compacting_a_deleted_key_removes_it_and_a_recreated_key_keeps_its_new_generation()
    {
        _f.Compact(9);
        Assert.Null(_f.Single("gone", revision: 9));
        Assert.Null(_f.Single("back", revision: 9));
        var back = _f.Single("back")!;
        Assert.Equal(10, back.CreateRevision);
        Assert.Equal(1, back.Version);
        // back's old generation (8, 9t) is gone; new generation keeps going
        _f.Put("back", "b3");
        Assert.Equal(2, _f.Single("back")!.Version);
        Assert.Equal(10, _f.Single("back")!.CreateRevision);
    }

    [Fact]
    public void Compaction_at_current_revision_then_writes_continue()
    {
        _f.Compact(10);
        Assert.Equal(["back", "late", "live"], StoreFixture.Keys(_f.Get("\0", "\0", revision: 10)));
        Assert.Equal(3, RowCount());
        _f.Put("live", "4");
        Assert.Equal(4, _f.Single("live")!.Version);
        Assert.Equal(11, _f.Store.CurrentRevision);
    }

    [Fact]
    public void Compaction_survives_reopen_and_a_crash_before_finishing_is_resumed()
    {
        _f.Compact(5);
        _f.Reopen();
        Assert.Equal(5, _f.Store.CompactRevision);
        Assert.Equal(10, _f.Store.CurrentRevision);
        Assert.Throws<EtcdException>(() => _f.Get("live", revision: 4));

        // schedule a compaction by hand and "crash" before the rows are deleted
        _f.Store.Backend.WriteMeta("scheduled_compact_rev", 9);
        _f.Store.Commit();
        _f.Reopen(commit: false);
        Assert.Equal(9, _f.Store.CompactRevision);
        Assert.Equal(["back", "late", "live"], StoreFixture.Keys(_f.Get("\0", "\0")));
        Assert.Equal(3, RowCount()); // live@6, late@7, back@10
    }

    [Fact]
    public void Hash_is_equal_for_equal_histories_and_changes_with_data()
    {
        using var other = new StoreFixture();
        other.Put("live", "1");
        other.Put("live", "2");
        other.Put("gone", "x");
        other.Delete("gone");
        other.Put("live", "3");
        other.Put("late", "l");
        other.Put("back", "b1");
        other.Delete("back");
        other.Put("back", "b2");

        Assert.Equal(_f.Store.HashKV(0, out var compact), other.Store.HashKV(0, out _));
        Assert.Equal(-1, compact);
        Assert.Equal(_f.Store.HashKV(6, out _), other.Store.HashKV(6, out _));
        Assert.NotEqual(_f.Store.HashKV(6, out _), _f.Store.HashKV(7, out _));

        _f.Compact(5);
        other.Compact(5);
        Assert.Equal(_f.Store.HashKV(8, out var c1), other.Store.HashKV(8, out _));
        Assert.Equal(5, c1);
        Assert.Throws<EtcdException>(() => _f.Store.HashKV(5, out _));
        Assert.Throws<EtcdException>(() => _f.Store.HashKV(11, out _));

        other.Put("late", "changed");
        _f.Put("late", "l");
        Assert.NotEqual(_f.Store.HashKV(0, out _), other.Store.HashKV(0, out _));
    }

    [Fact]
    public void Hash_ignores_whether_old_rows_were_physically_removed()
    {
        // a member that compacted and one that did not hash the same above the compact revision
        using var other = new StoreFixture();
        foreach (var kv in _f.Store.EventsBetween(1, 10, [0], [0]))
        {
            if (kv.Type == Mvccpb.Event.Types.EventType.Put)
                other.Put(kv.Kv.Key, kv.Kv.Value);
            else
                other.Delete(kv.Kv.Key, ByteString.Empty);
        }
        _f.Compact(6);
        Assert.Equal(_f.Store.HashKV(8, out _), HashWithCompactionOnly(other, 6, 8));
    }

    static uint HashWithCompactionOnly(StoreFixture f, long compact, long at)
    {
        f.Compact(compact);
        return f.Store.HashKV(at, out _);
    }
}
