using System.Buffers.Binary;
using System.Text;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.EtcdDb;
using Akka.Etcd.Storage.Mvcc;
using Akka.Etcd.Storage.Tests.Bbolt;
using Akka.Etcd.Storage.Tests.Mvcc;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using static Akka.Etcd.Storage.Tests.Bbolt.BboltTestFiles;

namespace Akka.Etcd.Storage.Tests.EtcdDb;

public sealed class EtcdDbTests : IDisposable
{
    readonly BboltTestFiles _files = new();
    readonly string _root = Directory.CreateTempSubdirectory("etcddb-tests-").FullName;

    public void Dispose()
    {
        _files.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    static byte[] Id8(ulong id)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, id);
        return key;
    }

    static Member NewMember(ulong id, string name, string peer, string? client = null, bool learner = false)
    {
        var member = new Member { ID = id, Name = name, IsLearner = learner };
        member.PeerURLs.Add(peer);
        if (client is not null) member.ClientURLs.Add(client);
        return member;
    }

    /// <summary>A store with puts, a txn, deletes, a compaction, two leases (LeaseTable's encoding) and members
    /// (ClusterMembership's encoding), committed.</summary>
    static StoreFixture BuildStore()
    {
        var f = new StoreFixture(new MvccStoreOptions { LeaseExists = id => id is 0x10 or 0x20 });
        var backend = f.Store.Backend;
        backend.PutBucketValue("lease", Id8(0x10), Id8(600));
        backend.PutBucketValue("lease", Id8(0x20), Id8(30));
        f.Put("a", "1");
        f.Put("b", "2", lease: 0x10);
        f.Put("a", "3");
        f.Delete("b");
        f.Write(txn =>
        {
            // One revision with two puts, as a txn's success branch writes them.
            txn.Put(StoreFixture.B("t1"), StoreFixture.B("x"), 0);
            txn.Put(StoreFixture.B("t2"), ByteString.Empty, 0x20);
        });
        f.Compact(4);
        f.Put("c", new string('v', 10_000));
        f.Delete("t1");
        backend.PutBucketValue("members", Id8(0x8e9e05c52164694d), NewMember(0x8e9e05c52164694d, "m1", "http://127.0.0.1:2380", "http://127.0.0.1:2379").ToByteArray());
        backend.PutBucketValue("members", Id8(0x10), NewMember(0x10, "", "http://127.0.0.1:2480", learner: true).ToByteArray());
        backend.PutBucketValue("members_removed", Id8(0xabc), []);
        backend.PutBucketValue("cluster", U("clusterVersion"), U("3.4.0"));
        f.Store.Commit();
        return f;
    }

    string Export(StoreFixture f)
    {
        var path = Path.Combine(_root, Guid.NewGuid().ToString("N") + ".db");
        using var view = SqliteReadView.Open(f.DbPath);
        using var output = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
        var result = EtcdDbExport.Write(view, output);
        Assert.Equal(output.Length, result.SizeBytes);
        Assert.Equal(f.Store.ConsistentIndex, result.ConsistentIndex);
        return path;
    }

    [Fact]
    public void Our_store_exports_as_etcds_buckets_and_encodings()
    {
        using var f = BuildStore();
        var file = _files.Open(Export(f));

        Assert.Empty(file.Check());
        Assert.Equal(["alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease", "members", "members_removed", "meta"],
            Elements(file.Root).Select(e => Encoding.UTF8.GetString(e.Key)));
        Assert.Empty(Elements(file.Root.Bucket(U("alarm"))!.Value));
        Assert.Equal(Id8(1), file.Root.Bucket(U("auth"))!.Value.Get(U("authRevision")));
        Assert.Equal("3.4.0", Encoding.UTF8.GetString(file.Root.Bucket(U("cluster"))!.Value.Get(U("clusterVersion"))!));

        // key: revision bytes -> KeyValue, tombstones marked 't' and holding the key only, as etcd writes them
        var rows = Elements(file.Root.Bucket(U("key"))!.Value);
        var revisions = rows.Select(r => EtcdDbLayout.ParseRevisionKey(r.Key)).ToList();
        Assert.Equal([(3L, 0L, false), (4L, 0L, false), (5L, 0L, true), (6L, 0L, false), (6L, 1L, false), (7L, 0L, false), (8L, 0L, true)], revisions);
        Assert.Equal(new KeyValue { Key = StoreFixture.B("a"), CreateRevision = 2, ModRevision = 4, Version = 2, Value = StoreFixture.B("3") },
            KeyValue.Parser.ParseFrom(rows[1].Value));
        Assert.Equal(new KeyValue { Key = StoreFixture.B("b") }.ToByteArray(), rows[2].Value);
        Assert.Equal(new KeyValue { Key = StoreFixture.B("t2"), CreateRevision = 6, ModRevision = 6, Version = 1, Lease = 0x20 }.ToByteArray(), rows[4].Value);

        var meta = file.Root.Bucket(U("meta"))!.Value;
        Assert.Equal(Id8(f.Store.ConsistentIndex), meta.Get(U("consistent_index")));
        Assert.Equal(EtcdDbLayout.CompactRevisionValue(4), meta.Get(U("finishedCompactRev")));
        Assert.Equal(EtcdDbLayout.CompactRevisionValue(4), meta.Get(U("scheduledCompactRev")));
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 4, (byte)'_', 0, 0, 0, 0, 0, 0, 0, 0], meta.Get(U("finishedCompactRev")));

        var lease = file.Root.Bucket(U("lease"))!.Value;
        Assert.Equal(new Leasepb.Lease { ID = 0x10, TTL = 600 }, Leasepb.Lease.Parser.ParseFrom(lease.Get(Id8(0x10))));
        Assert.Equal(new Leasepb.Lease { ID = 0x20, TTL = 30 }, Leasepb.Lease.Parser.ParseFrom(lease.Get(Id8(0x20))));

        var members = Elements(file.Root.Bucket(U("members"))!.Value);
        Assert.Equal(["10", "8e9e05c52164694d"], members.Select(m => Encoding.UTF8.GetString(m.Key)));
        Assert.Equal("{\"id\":16,\"peerURLs\":[\"http://127.0.0.1:2480\"],\"isLearner\":true}", Encoding.UTF8.GetString(members[0].Value));
        Assert.Equal("{\"id\":10276657743932975437,\"peerURLs\":[\"http://127.0.0.1:2380\"],\"name\":\"m1\",\"clientURLs\":[\"http://127.0.0.1:2379\"]}",
            Encoding.UTF8.GetString(members[1].Value));
        Assert.Equal(U("removed"), file.Root.Bucket(U("members_removed"))!.Value.Get(U("abc")));
    }

    [Fact]
    public void Export_then_import_gives_the_same_keys_revisions_hash_compaction_and_leases()
    {
        using var f = BuildStore();
        var path = Export(f);
        var expected = f.Store.HashKV(0, out var compact);
        var newMember = NewMember(0x1234, "r1", "http://127.0.0.1:3380");

        var restoredPath = Path.Combine(_root, "restored", "db");
        EtcdDbImportResult result;
        using (var backend = SqliteBackend.Open(restoredPath))
            result = EtcdDbImport.Import(_files.Open(path), backend, [newMember], consistentIndex: 1);
        Assert.Equal(7, result.KeyRows);
        Assert.Equal(8, result.LastRevision);
        Assert.Equal(4, result.FinishedCompactRevision);
        Assert.Equal(2, result.Leases);
        Assert.False(result.AuthEnabled);
        Assert.Equal(["auth", "authRoles", "authUsers", "cluster"], result.CopiedBuckets);

        using var restored = MvccStore.Open(restoredPath, new MvccStoreOptions());
        Assert.Equal(f.Store.CurrentRevision, restored.CurrentRevision);
        Assert.Equal(compact, restored.CompactRevision);
        Assert.Equal(1ul, restored.ConsistentIndex);
        Assert.Equal(expected, restored.HashKV(0, out _));
        Assert.Equal(f.Store.HashKV(6, out _), restored.HashKV(6, out _));
        var zero = ByteString.CopyFrom(0);
        Assert.Equal(f.Store.Read().Range(zero, zero, default).KeyValues, restored.Read().Range(zero, zero, default).KeyValues);
        Assert.Equal(Id8(600), restored.Backend.GetBucketValue("lease", Id8(0x10)));
        Assert.Equal([newMember.ToByteArray()], restored.Backend.ReadBucket("members").Select(m => m.Value));
        Assert.Empty(restored.Backend.ReadBucket("members_removed"));
        Assert.Equal(U("3.4.0"), restored.Backend.GetBucketValue("cluster", U("clusterVersion")));
    }

    [Fact]
    public void A_snapshot_etcd_wrote_imports_with_etcds_HashKV_revision_compaction_and_leases()
    {
        // etcd 3.4.23 answered HashKV at revision 23: hash 1461794671, compact revision 10 (see BboltFileTests).
        var restoredPath = Path.Combine(_root, "from-etcd", "db");
        using (var backend = SqliteBackend.Open(restoredPath))
        {
            var result = EtcdDbImport.Import(_files.Open(BboltFileTests.LargeEtcdSnapshot), backend, [NewMember(1, "r", "http://r:1")], 1);
            Assert.Equal(1516, result.KeyRows);
            Assert.Equal(10, result.FinishedCompactRevision);
        }
        using var store = MvccStore.Open(restoredPath, new MvccStoreOptions());

        Assert.Equal(23, store.CurrentRevision);
        Assert.Equal(10, store.CompactRevision);
        Assert.Equal(1461794671u, store.HashKV(0, out var compact));
        Assert.Equal(10, compact);
        Assert.Equal(1493, store.Read().Range(ByteString.CopyFrom(0), ByteString.CopyFrom(0), new RangeOptions(CountOnly: true)).Count);
        Assert.Equal("updated", store.Get(U("k/00001"), 23)!.Value.ToStringUtf8());
        Assert.Null(store.Get(U("k/00002"), 23));
        Assert.Equal(20_000, store.Get(U("big"), 23)!.Value.Length);
        Assert.Equal(0x3177a23b853aab17, store.Get(U("leased/a"), 23)!.Lease);
        var leases = store.Backend.ReadBucket("lease");
        Assert.Equal([(0x3177a23b853aab17L, 600L), (0x3177a23b853aab1bL, 3000L)],
            leases.Select(l => (BinaryPrimitives.ReadInt64BigEndian(l.Key), BinaryPrimitives.ReadInt64BigEndian(l.Value))));
    }

    [Fact]
    public void Status_is_etcdctls_for_files_etcd_wrote()
    {
        // What etcdctl 3.4.23 `snapshot status -w json` printed for the fixtures.
        Assert.Equal(new EtcdDbStatus(2252599401, 7, 13, 20480), EtcdDbStatus.Compute(_files.Open(BboltFileTests.SmallEtcdSnapshot)));
        Assert.Equal(new EtcdDbStatus(4057612283, 23, 1524, 204800), EtcdDbStatus.Compute(_files.Open(BboltFileTests.LargeEtcdSnapshot)));
    }

    [Fact]
    public void Status_reports_a_failed_integrity_check_as_etcd_does()
    {
        var source = _files.Write(w => w.Root.CreateBucket(U("b")).Put(U("k"), U("v")));
        var bytes = File.ReadAllBytes(source).Concat(new byte[4096]).ToArray();
        foreach (var meta in new[] { 16, 4096 + 16 }) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(meta + 40), 5);
        Resign(bytes);
        var broken = _files.Copy(source, _ => { });
        File.WriteAllBytes(broken, bytes);

        var error = Assert.Throws<BboltFormatException>(() => EtcdDbStatus.Compute(_files.Open(broken)));
        Assert.Equal("snapshot file integrity check failed. 1 errors found.\npage 4: unreachable unfreed", error.Message);
    }

    [Fact]
    public void The_trailing_sha256_is_checked_as_etcdctl_restore_does()
    {
        Assert.Null(SnapshotChecksum.Verify(BboltFileTests.SmallEtcdSnapshot, skipHashCheck: false));
        var flipped = _files.Copy(BboltFileTests.SmallEtcdSnapshot, bytes => bytes[20000] ^= 1);
        var error = SnapshotChecksum.Verify(flipped, skipHashCheck: false);
        Assert.StartsWith("expected sha256 [", error);
        Assert.Contains("], got [", error);
        Assert.Null(SnapshotChecksum.Verify(flipped, skipHashCheck: true));
        var bare = _files.Copy(BboltFileTests.SmallEtcdSnapshot, _ => { });
        File.WriteAllBytes(bare, File.ReadAllBytes(bare)[..20480]);
        Assert.Equal("snapshot missing hash but --skip-hash-check=false", SnapshotChecksum.Verify(bare, skipHashCheck: false));
        Assert.Null(SnapshotChecksum.Verify(bare, skipHashCheck: true));
        Assert.Equal("[0 1 255]", SnapshotChecksum.GoBytes([0, 1, 255]));
    }

    [Theory]
    [InlineData("k", 0, 0, 0, "", 0)]
    [InlineData("key", 2, 5, 3, "value", 0)]
    [InlineData("key", 1L << 40, long.MaxValue, 1, "", 0x3177a23b853aab17)]
    [InlineData("k", 2, 2, 1, "v", -1)]
    public void KeyValues_are_marshaled_byte_for_byte_as_protobuf_does(string key, long create, long mod, long version, string value, long lease)
    {
        var expected = new KeyValue
        {
            Key = StoreFixture.B(key), CreateRevision = create, ModRevision = mod, Version = version, Value = StoreFixture.B(value), Lease = lease,
        }.ToByteArray();
        Assert.Equal(expected, new KeyValueEncoder().Encode(U(key), create, mod, version, U(value), lease).ToArray());
    }

    [Fact]
    public void Member_json_escapes_as_go_does()
    {
        var member = NewMember(1, "a\"<b>&\n\u2028", "http://x:1", "http://y:2");
        Assert.Equal("{\"id\":1,\"peerURLs\":[\"http://x:1\"],\"name\":\"a\\\"\\u003cb\\u003e\\u0026\\n\\u2028\",\"clientURLs\":[\"http://y:2\"]}",
            EtcdDbLayout.MemberJson(member));
        Assert.Equal("8e9e05c52164694d", EtcdDbLayout.MemberKey(0x8e9e05c52164694d));
        Assert.Equal("1", EtcdDbLayout.MemberKey(1));
    }

    [Fact]
    public void Our_meta_names_are_the_stores()
    {
        Assert.Equal(MvccStore.MetaScheduledCompact, EtcdDbLayout.OurScheduledCompactKey);
        Assert.Equal(MvccStore.MetaFinishedCompact, EtcdDbLayout.OurFinishedCompactKey);
    }

    [Fact]
    public void A_read_view_keeps_its_point_in_time_while_the_store_commits()
    {
        using var f = BuildStore();
        using var view = SqliteReadView.Open(f.DbPath);
        var index = view.ConsistentIndex;
        f.Put("later", "x");
        f.Store.Commit();

        Assert.Equal(index, view.ConsistentIndex);
        Assert.Equal(7, view.CountRevisions());
        long last = 0;
        view.ForEachRevision((main, _, _, _, _, _, _, _) => last = main);
        Assert.Equal(8, last);
        using var fresh = SqliteReadView.Open(f.DbPath);
        Assert.Equal(8, fresh.CountRevisions());
    }

    [Fact]
    public void A_durable_commit_while_a_view_is_open_neither_waits_for_the_view_nor_loses_commits()
    {
        using var f = BuildStore();
        using (var view = SqliteReadView.Open(f.DbPath))
        {
            for (var i = 0; i < 100; i++) f.Put($"during/{i}", "x");
            // The checkpoint cannot pass the view: it answers busy at once and the WAL is fsynced instead.
            f.Store.ForceCommit(durable: true);
            Assert.True(new FileInfo(f.DbPath + "-wal").Length > 0);
            Assert.Equal(7, view.CountRevisions());
        }
        f.Reopen(commit: false);
        Assert.Equal(100, f.Get("during/", "during0").Count);
        f.Store.ForceCommit(durable: true);
        Assert.Equal(0, new FileInfo(f.DbPath + "-wal").Length); // with the view gone the checkpoint completes
    }
}
