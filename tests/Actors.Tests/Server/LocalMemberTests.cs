using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Wal;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>A single member started in-process on a temp data dir: the whole write path, restart and snapshots.</summary>
public sealed class LocalMemberTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-server-" + Guid.NewGuid().ToString("N"));
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private ServerOptions Options(ulong snapshotCount = 100_000, long segmentBytes = 64L * 1024 * 1024) => new()
    {
        Name = "m1",
        DataDir = _dir,
        InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m1"] = new[] { "http://127.0.0.1:2380" } },
        AdvertisePeerUrls = new[] { "http://127.0.0.1:2380" },
        AdvertiseClientUrls = new[] { "http://127.0.0.1:2379" },
        SnapshotCount = snapshotCount,
        SnapshotCatchUpEntries = 10,
        WalSegmentSizeBytes = segmentBytes,
        MaxWals = 1,
        MaxSnapshots = 2,
        HeartbeatIntervalMs = 10,
        ElectionTimeoutMs = 100,
    };

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private static Task<LocalMember> Start(ServerOptions options) =>
        LocalMember.StartAsync(options, NullLoggerFactory.Instance).WaitAsync(Deadline);

    [Fact]
    public async Task Writes_are_applied_in_order_and_reads_are_linearizable_and_serializable()
    {
        await using var server = await Start(Options());
        var cancel = CancellationToken.None;
        var put = await server.Gateway.PutAsync(new PutRequest { Key = B("a"), Value = B("1") }, cancel);
        Assert.Equal(2, put.Header.Revision);
        Assert.Equal(server.Status.MemberId, put.Header.MemberId);
        Assert.Equal(server.Status.ClusterId, put.Header.ClusterId);
        Assert.True(put.Header.RaftTerm >= 2);
        var puts = Enumerable.Range(0, 200).Select(i => server.Gateway.PutAsync(new PutRequest { Key = B($"k{i:D3}"), Value = B($"v{i}") }, cancel));
        await Task.WhenAll(puts).WaitAsync(Deadline);
        var range = await server.Gateway.RangeAsync(new RangeRequest { Key = B("k"), RangeEnd = B("l") }, cancel);
        Assert.Equal(200, range.Count);
        Assert.Equal(202, range.Header.Revision);
        var serializable = await server.Gateway.RangeAsync(new RangeRequest { Key = B("a"), Serializable = true }, cancel);
        Assert.Equal("1", serializable.Kvs.Single().Value.ToStringUtf8());
    }

    [Fact]
    public async Task Errors_leave_the_store_unchanged()
    {
        await using var server = await Start(Options());
        var cancel = CancellationToken.None;
        await server.Gateway.PutAsync(new PutRequest { Key = B("a"), Value = B("1") }, cancel);
        var unknownLease = await Assert.ThrowsAsync<EtcdException>(() => server.Gateway.PutAsync(new PutRequest { Key = B("b"), Lease = 42 }, cancel));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, unknownLease.Message);
        var tooLarge = await Assert.ThrowsAsync<EtcdException>(() =>
            server.Gateway.PutAsync(new PutRequest { Key = B("big"), Value = ByteString.CopyFrom(new byte[2 * 1024 * 1024]) }, cancel));
        Assert.Equal(EtcdErrors.RequestTooLarge.Message, tooLarge.Message);
        await server.Gateway.CompactAsync(new CompactionRequest { Revision = 2 }, cancel);
        var compacted = await Assert.ThrowsAsync<EtcdException>(() => server.Gateway.RangeAsync(new RangeRequest { Key = B("a"), Revision = 1 }, cancel));
        Assert.Equal(RpcStatusCode.OutOfRange, compacted.Code);
        var range = await server.Gateway.RangeAsync(new RangeRequest { Key = B("a"), RangeEnd = B("z") }, cancel);
        Assert.Equal(2, range.Header.Revision);
        Assert.Single(range.Kvs);
    }

    [Fact]
    public async Task A_restarted_member_has_every_acknowledged_write_and_continues_revisions()
    {
        var options = Options();
        await using (var server = await Start(options))
        {
            for (var i = 0; i < 50; i++)
            {
                await server.Gateway.PutAsync(new PutRequest { Key = B($"k{i}"), Value = B($"v{i}") }, CancellationToken.None);
            }
        }
        await using (var restarted = await Start(options))
        {
            var range = await restarted.Gateway.RangeAsync(new RangeRequest { Key = B("k"), RangeEnd = B("l") }, CancellationToken.None);
            Assert.Equal(50, range.Count);
            Assert.Equal(51, range.Header.Revision);
            var put = await restarted.Gateway.PutAsync(new PutRequest { Key = B("after"), Value = B("x") }, CancellationToken.None);
            Assert.Equal(52, put.Header.Revision);
        }
    }

    [Fact]
    public async Task Snapshots_every_snapshot_count_entries_release_old_wal_segments_and_restart_works()
    {
        var options = Options(snapshotCount: 50, segmentBytes: 16 * 1024);
        var walDir = options.EffectiveWalDir;
        var value = ByteString.CopyFrom(new byte[512]);
        string firstSegment;
        await using (var server = await Start(options))
        {
            firstSegment = Directory.GetFiles(walDir, "*.wal").Order(StringComparer.Ordinal).First();
            for (var i = 0; i < 400; i++)
            {
                await server.Gateway.PutAsync(new PutRequest { Key = B($"k{i:D4}"), Value = value }, CancellationToken.None);
            }
            await WaitUntil(() => Directory.GetFiles(options.SnapDir, "*.snap").Length >= 2
                && Directory.GetFiles(walDir, "*.wal").Length <= 3);
        }
        Assert.False(File.Exists(firstSegment), "the first WAL segment should have been released after snapshots");
        await using var restarted = await Start(options);
        var range = await restarted.Gateway.RangeAsync(new RangeRequest { Key = B("k"), RangeEnd = B("l"), CountOnly = true }, CancellationToken.None);
        Assert.Equal(400, range.Count);
        Assert.Equal(401, range.Header.Revision);
    }

    [Fact]
    public async Task Leases_and_their_keys_survive_a_restart_and_a_revoke_deletes_the_keys_in_one_revision()
    {
        var options = Options();
        long lease;
        await using (var server = await Start(options))
        {
            var grant = await server.Gateway.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, CancellationToken.None);
            lease = grant.ID;
            Assert.NotEqual(0, lease);
            await server.Gateway.PutAsync(new PutRequest { Key = B("l/a"), Value = B("1"), Lease = lease }, CancellationToken.None);
            await server.Gateway.PutAsync(new PutRequest { Key = B("l/b"), Value = B("2"), Lease = lease }, CancellationToken.None);
        }
        await using var restarted = await Start(options);
        var ttl = await restarted.Gateway.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease, Keys = true }, CancellationToken.None);
        Assert.Equal(60, ttl.GrantedTTL);
        Assert.InRange(ttl.TTL, 1, 60);
        Assert.Equal(new[] { "l/a", "l/b" }, ttl.Keys.Select(k => k.ToStringUtf8()).ToArray());
        var before = await restarted.Gateway.RangeAsync(new RangeRequest { Key = B("l/"), RangeEnd = B("l0") }, CancellationToken.None);
        var revoke = await restarted.Gateway.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, CancellationToken.None);
        Assert.Equal(before.Header.Revision + 1, revoke.Header.Revision);
        var after = await restarted.Gateway.RangeAsync(new RangeRequest { Key = B("l/"), RangeEnd = B("l0") }, CancellationToken.None);
        Assert.Empty(after.Kvs);
        var gone = await restarted.Gateway.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease }, CancellationToken.None);
        Assert.Equal(-1, gone.TTL);
    }

    [Fact]
    public async Task A_data_dir_of_another_member_is_refused()
    {
        await using (await Start(Options()))
        {
        }
        var other = Options() with
        {
            Name = "m2",
            InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m2"] = new[] { "http://127.0.0.1:2390" } },
            AdvertisePeerUrls = new[] { "http://127.0.0.1:2390" },
        };
        await Assert.ThrowsAsync<InvalidOperationException>(() => Start(other));
        Assert.True(WriteAheadLog.Exists(other.EffectiveWalDir));
    }

    [Fact]
    public async Task A_watch_stream_opened_through_the_member_replays_history_then_follows_live_puts()
    {
        await using var server = await Start(Options());
        var cancel = CancellationToken.None;
        await server.Gateway.PutAsync(new PutRequest { Key = B("w"), Value = B("1") }, cancel); // revision 2
        await server.Gateway.PutAsync(new PutRequest { Key = B("w"), Value = B("2") }, cancel); // revision 3

        var stream = await new Akka.Etcd.Actors.Watch.WatchHub(server.Actors.WatchStreams, server.Gateway.RequestTimeout).OpenStreamAsync().WaitAsync(Deadline);
        var responses = stream.Outbox.ReadAllAsync().GetAsyncEnumerator();
        async Task<WatchResponse> Next()
        {
            Assert.True(await responses.MoveNextAsync().AsTask().WaitAsync(Deadline), "the stream ended");
            return responses.Current;
        }
        await stream.RequestAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = B("w"), StartRevision = 2, PrevKv = true } }, cancel);
        var created = await Next();
        Assert.True(created.Created);
        Assert.Equal((server.Status.ClusterId, server.Status.MemberId), (created.Header.ClusterId, created.Header.MemberId));

        var history = await Next();
        Assert.Equal(new long[] { 2, 3 }, history.Events.Select(e => e.Kv.ModRevision));
        Assert.Equal("1", history.Events[1].PrevKv.Value.ToStringUtf8());

        await server.Gateway.PutAsync(new PutRequest { Key = B("w"), Value = B("3") }, cancel);
        var live = await Next();
        var ev = Assert.Single(live.Events);
        Assert.Equal((4L, "3", "2"), (ev.Kv.ModRevision, ev.Kv.Value.ToStringUtf8(), ev.PrevKv.Value.ToStringUtf8()));

        stream.Stop();
        Assert.False(await responses.MoveNextAsync().AsTask().WaitAsync(Deadline)); // the outbox completes when the actor stops
    }

    [Fact]
    public async Task Exited_completes_not_fatal_when_the_member_is_stopped()
    {
        var server = await Start(Options());
        Assert.False(server.Exited.IsCompleted);
        await server.DisposeAsync();
        var exit = await server.Exited.WaitAsync(Deadline);
        Assert.False(exit.Fatal);
        Assert.Equal("stopped", exit.Reason);
    }

    [Fact]
    public async Task Exited_is_fatal_when_an_actor_the_member_cannot_serve_without_ends()
    {
        await using var server = await Start(Options());
        server.Actors.Store.Tell(Akka.Actor.PoisonPill.Instance, Akka.Actor.ActorRefs.NoSender);
        var exit = await server.Exited.WaitAsync(Deadline);
        Assert.True(exit.Fatal);
        Assert.Equal("the store actor failed: stopped", exit.Reason);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Deadline;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met before the deadline");
            await poll.WaitForNextTickAsync();
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
