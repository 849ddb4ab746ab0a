using System.Text;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.EtcdDb;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>
/// The store's <c>OpenReadView</c> (what Maintenance.Snapshot streams) on an in-process member: the view is the state after the last
/// applied entry, stays put while writes go on, and exports as etcd's db with the member's leases (LeaseTable's
/// records) and members (ClusterMembership's records) in etcd's encodings.
/// </summary>
public sealed class BackendSnapshotTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-backend-snapshot-" + Guid.NewGuid().ToString("N"));
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private ServerOptions Options() => new()
    {
        Name = "m1",
        DataDir = Path.Combine(_dir, "m1"),
        InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m1"] = ["http://127.0.0.1:2380"] },
        AdvertisePeerUrls = ["http://127.0.0.1:2380"],
        AdvertiseClientUrls = ["http://127.0.0.1:2379"],
        HeartbeatIntervalMs = 10,
        ElectionTimeoutMs = 100,
    };

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    [Fact]
    public async Task The_view_is_the_applied_state_and_exports_as_etcds_db()
    {
        await using var server = await LocalMember.StartAsync(Options(), NullLoggerFactory.Instance).WaitAsync(Deadline);
        var cancel = CancellationToken.None;
        var lease = await server.Gateway.LeaseGrantAsync(new LeaseGrantRequest { ID = 0x1234, TTL = 120 }, cancel);
        await server.Gateway.PutAsync(new PutRequest { Key = B("a"), Value = B("1"), Lease = lease.ID }, cancel);
        await server.Gateway.PutAsync(new PutRequest { Key = B("b"), Value = B("2") }, cancel);
        await server.Gateway.DeleteRangeAsync(new DeleteRangeRequest { Key = B("b") }, cancel);
        var last = await server.Gateway.PutAsync(new PutRequest { Key = B("c"), Value = B("3") }, cancel);
        await server.Gateway.CompactAsync(new CompactionRequest { Revision = 3 }, cancel);
        var hash = await server.Gateway.HashKVAsync(new HashKVRequest(), cancel);

        var image = Path.Combine(_dir, "image.db");
        using (var view = await server.Gateway.OpenBackendSnapshotAsync(cancel).WaitAsync(Deadline))
        {
            // Writes after the view was opened are not in it.
            await server.Gateway.PutAsync(new PutRequest { Key = B("later"), Value = B("x") }, cancel);
            Assert.True(view.ConsistentIndex < server.Status.AppliedIndex);
            using var output = new FileStream(image, FileMode.CreateNew, FileAccess.ReadWrite);
            EtcdDbExport.Write(view, output);
        }

        using var db = BboltFile.Open(image);
        Assert.Empty(db.Check());
        var keys = new List<(long Main, bool Tombstone, KeyValue Kv)>();
        db.Root.Bucket("key"u8)!.Value.ForEach((key, value, _) =>
        {
            var (main, _, tombstone) = EtcdDbLayout.ParseRevisionKey(key);
            keys.Add((main, tombstone, KeyValue.Parser.ParseFrom(value)));
        });
        Assert.Equal(last.Header.Revision, keys[^1].Main);
        Assert.DoesNotContain(keys, k => k.Kv.Key.ToStringUtf8() == "later");
        Assert.Contains(keys, k => k.Tombstone && k.Kv.Key.ToStringUtf8() == "b");
        Assert.Equal(0x1234, keys.Single(k => k.Kv.Key.ToStringUtf8() == "a").Kv.Lease);

        // LeaseTable's record (granted TTL) becomes etcd's leasepb.Lease.
        var leaseRecord = db.Root.Bucket("lease"u8)!.Value.Get([0, 0, 0, 0, 0, 0, 0x12, 0x34]);
        Assert.Equal(new Leasepb.Lease { ID = 0x1234, TTL = 120 }, Leasepb.Lease.Parser.ParseFrom(leaseRecord));

        // ClusterMembership's record (a protobuf Member, published name and client URLs) becomes etcd's JSON.
        var members = db.Root.Bucket("members"u8)!.Value;
        var json = Encoding.UTF8.GetString(members.Get(Encoding.UTF8.GetBytes(server.Status.MemberId.ToString("x")))!);
        Assert.Equal($"{{\"id\":{server.Status.MemberId},\"peerURLs\":[\"http://127.0.0.1:2380\"],\"name\":\"m1\",\"clientURLs\":[\"http://127.0.0.1:2379\"]}}", json);
        Assert.Equal(EtcdDbLayout.CompactRevisionValue(3), db.Root.Bucket("meta"u8)!.Value.Get("finishedCompactRev"u8));
        Assert.NotEqual(0u, hash.Hash);
    }

    [Fact]
    public async Task A_stopped_member_refuses_to_open_a_view()
    {
        var server = await LocalMember.StartAsync(Options(), NullLoggerFactory.Instance).WaitAsync(Deadline);
        await server.DisposeAsync();
        await Assert.ThrowsAsync<Protos.Errors.EtcdException>(() => server.Gateway.OpenBackendSnapshotAsync(CancellationToken.None));
    }
}
