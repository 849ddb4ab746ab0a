using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Mvccpb;
using static Akka.Etcd.Actors.Tests.Store.Apply.ApplierFixture;

namespace Akka.Etcd.Actors.Tests.Store.Apply;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

public sealed class DataModelTests : IDisposable
{
    readonly ApplierFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Empty_store_is_at_revision_1_and_never_compacted()
    {
        Assert.Equal(1, _f.Store.CurrentRevision);
        Assert.Equal(-1, _f.Store.CompactRevision);
        Assert.Equal(0UL, _f.Store.ConsistentIndex);
        var response = _f.Get("a");
        Assert.Empty(response.Kvs);
        Assert.Equal(1, response.Header.Revision);
    }

    [Fact]
    public void Put_repeat_delete_recreate_track_create_mod_and_version()
    {
        // (action, expected revision after, create, mod, version)
        Assert.Equal(2, _f.Put("k", "v1").Header.Revision);
        AssertKv(_f.Single("k")!, "v1", create: 2, mod: 2, version: 1);

        Assert.Equal(3, _f.Put("k", "v2").Header.Revision);
        AssertKv(_f.Single("k")!, "v2", create: 2, mod: 3, version: 2);

        var deleted = _f.Delete("k");
        Assert.Equal(1, deleted.Deleted);
        Assert.Equal(4, deleted.Header.Revision);
        Assert.Null(_f.Single("k"));

        Assert.Equal(5, _f.Put("k", "v3").Header.Revision);
        AssertKv(_f.Single("k")!, "v3", create: 5, mod: 5, version: 1); // new generation: version resets

        // history is readable
        AssertKv(_f.Single("k", revision: 2)!, "v1", create: 2, mod: 2, version: 1);
        AssertKv(_f.Single("k", revision: 3)!, "v2", create: 2, mod: 3, version: 2);
        Assert.Null(_f.Single("k", revision: 4)); // tombstone
        Assert.Null(_f.Single("k", revision: 1));
        Assert.Equal(5, _f.Store.CurrentRevision);
    }

    [Fact]
    public void Delete_of_missing_key_creates_no_revision()
    {
        _f.Put("a", "1");
        var response = _f.Delete("zzz");
        Assert.Equal(0, response.Deleted);
        Assert.Equal(2, response.Header.Revision);
        Assert.Equal(2, _f.Store.CurrentRevision);
        Assert.Empty(_f.Store.LastEvents);
    }

    [Fact]
    public void Delete_range_writes_one_revision_with_sub_revisions_and_prev_kvs()
    {
        _f.Put("a", "1");
        _f.Put("b", "2");
        _f.Put("c", "3");
        var response = _f.Delete("a", "c", prevKv: true);
        Assert.Equal(2, response.Deleted);
        Assert.Equal(5, response.Header.Revision);
        Assert.Equal(["1", "2"], response.PrevKvs.Select(kv => kv.Value.ToStringUtf8()));
        Assert.Equal(["c"], Keys(_f.Get("a", "\0")));
        var events = _f.Store.LastEvents;
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(Event.Types.EventType.Delete, e.Type));
        Assert.All(events, e => Assert.Equal(5, e.Kv.ModRevision));
    }

    [Fact]
    public void Put_with_prev_kv_returns_previous_and_events_carry_new_kv()
    {
        _f.Put("k", "old");
        var response = _f.Put("k", "new", prevKv: true);
        Assert.Equal("old", response.PrevKv.Value.ToStringUtf8());
        var e = Assert.Single(_f.Store.LastEvents);
        Assert.Equal(Event.Types.EventType.Put, e.Type);
        AssertKv(e.Kv, "new", create: 2, mod: 3, version: 2);
        Assert.Null(_f.Put("fresh", "x", prevKv: true).PrevKv);
    }

    [Fact]
    public void Ignore_value_and_ignore_lease_reuse_previous_and_need_an_existing_key()
    {
        var leases = new HashSet<long> { 7 };
        using var f = new ApplierFixture(new() { LeaseExists = leases.Contains });
        f.Put("k", "v", lease: 7);
        KvApplier.Put(f.Store, new PutRequest { Key = B("k"), IgnoreValue = true }, f.NextIndex());
        AssertKv(f.Single("k")!, "v", create: 2, mod: 3, version: 2);
        Assert.Equal(0, f.Single("k")!.Lease); // lease not ignored: reset to 0

        KvApplier.Put(f.Store, new PutRequest { Key = B("k"), Value = B("w"), Lease = 7 }, f.NextIndex());
        KvApplier.Put(f.Store, new PutRequest { Key = B("k"), Value = B("x"), IgnoreLease = true }, f.NextIndex());
        Assert.Equal(7, f.Single("k")!.Lease);
        Assert.Equal("x", f.Single("k")!.Value.ToStringUtf8());

        var revision = f.Store.CurrentRevision;
        var error = Assert.Throws<EtcdException>(() => KvApplier.Put(f.Store, new PutRequest { Key = B("missing"), IgnoreValue = true }, f.NextIndex()));
        Assert.Equal(EtcdErrors.KeyNotFound.Message, error.Message);
        Assert.Throws<EtcdException>(() => KvApplier.Put(f.Store, new PutRequest { Key = B("missing"), IgnoreLease = true }, f.NextIndex()));
        Assert.Equal(revision, f.Store.CurrentRevision);
        Assert.Null(f.Single("missing"));
        Assert.Equal(f.Index, f.Store.ConsistentIndex); // the failed entries were still applied
    }

    [Fact]
    public void Unknown_lease_is_rejected_without_change()
    {
        var error = Assert.Throws<EtcdException>(() => _f.Put("k", "v", lease: 42));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, error.Message);
        Assert.Equal(RpcStatusCode.NotFound, error.Code);
        Assert.Equal(1, _f.Store.CurrentRevision);
        Assert.Null(_f.Single("k"));
    }

    [Fact]
    public void Lease_id_is_kept_in_the_key_value()
    {
        using var f = new ApplierFixture(new() { LeaseExists = id => id == 99 });
        f.Put("k", "v", lease: 99);
        Assert.Equal(99, f.Single("k")!.Lease);
    }

    [Fact]
    public void Get_reads_history_for_prev_kv_and_checks_revisions()
    {
        _f.Put("k", "1");
        _f.Put("k", "2");
        Assert.Equal("1", _f.Store.Get("k"u8.ToArray(), 2)!.Value.ToStringUtf8());
        Assert.Equal("2", _f.Store.Get("k"u8.ToArray(), 0)!.Value.ToStringUtf8());
        Assert.Null(_f.Store.Get("k"u8.ToArray(), 1));
        Assert.Equal(EtcdErrors.FutureRev.Message, Assert.Throws<EtcdException>(() => _f.Store.Get("k"u8.ToArray(), 9)).Message);
    }

    [Fact]
    public void Events_between_replay_history_for_a_key_range()
    {
        _f.Put("a", "1");     // 2
        _f.Put("b", "1");     // 3
        _f.Put("a", "2");     // 4
        _f.Delete("a");       // 5
        _f.Put("c", "1");     // 6
        var events = _f.Store.EventsBetween(3, 100, "a"u8.ToArray(), "c"u8.ToArray()).ToList();
        Assert.Equal([3L, 4L, 5L], events.Select(e => e.Kv.ModRevision));
        Assert.Equal(Event.Types.EventType.Delete, events[2].Type);
        Assert.Equal("a", events[2].Kv.Key.ToStringUtf8());
        AssertKv(events[1].Kv, "2", create: 2, mod: 4, version: 2);

        var single = _f.Store.EventsBetween(1, 6, "a"u8.ToArray(), null).ToList();
        Assert.Equal([2L, 4L, 5L], single.Select(e => e.Kv.ModRevision));
        var all = _f.Store.EventsBetween(1, 6, [0], [0]).ToList();
        Assert.Equal(5, all.Count);
    }

    [Fact]
    public void Apply_noop_moves_only_the_consistent_index()
    {
        _f.Put("a", "1");
        _f.Store.ApplyNoop(_f.NextIndex());
        Assert.Equal(_f.Index, _f.Store.ConsistentIndex);
        Assert.Equal(2, _f.Store.CurrentRevision);
        Assert.Empty(_f.Store.LastEvents);
    }

    internal static void AssertKv(KeyValue kv, string value, long create, long mod, long version)
    {
        Assert.Equal(value, kv.Value.ToStringUtf8());
        Assert.Equal(create, kv.CreateRevision);
        Assert.Equal(mod, kv.ModRevision);
        Assert.Equal(version, kv.Version);
    }
}
