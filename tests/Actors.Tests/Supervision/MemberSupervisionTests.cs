using Akka.Actor;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Actors.Tests.Supervision;

/// <summary>
/// Crashes each of a member's actors in turn (Akka's <see cref="Kill"/>, which fails the actor with
/// <see cref="ActorKilledException"/>) and shows the supervision the member promises: an actor it cannot serve
/// without (Raft, store) stops the whole member as fatal, and so does a crash of the Raft log's journal plugin at the
/// member's next write, so the process exits non-zero instead of serving and hanging; the lessor and the watch
/// streams are restarted and the member keeps serving.
/// </summary>
public sealed class MemberSupervisionTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-supervision-" + Guid.NewGuid().ToString("N"));
    private LocalMember _server = null!;

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    public async Task InitializeAsync()
    {
        var options = new ServerOptions
        {
            Name = "m1",
            DataDir = _dir,
            InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m1"] = new[] { "http://127.0.0.1:2380" } },
            AdvertisePeerUrls = new[] { "http://127.0.0.1:2380" },
            AdvertiseClientUrls = new[] { "http://127.0.0.1:2379" },
            HeartbeatIntervalMs = 10,
            ElectionTimeoutMs = 100,
            LessorShards = 2,
        };
        _server = await LocalMember.StartAsync(options, NullLoggerFactory.Instance).WaitAsync(Deadline);
        await _server.Gateway.PutAsync(new PutRequest { Key = B("before"), Value = B("1") }, CancellationToken.None).WaitAsync(Deadline);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_crash_of_the_journal_stops_the_member_as_fatal()
    {
        // The Raft log's journal is an Akka.Persistence plugin (a system actor); Kill stops it (Akka's default decider).
        var journal = await new ActorSelection(_server.Actors.Member, "../../system/" + RaftLogPlugins.WalPluginId).ResolveOne(Deadline);
        journal.Tell(Kill.Instance);

        var exit = await _server.Exited.WaitAsync(Deadline);
        Assert.True(exit.Fatal);
        Assert.Contains("journal", exit.Reason);
        var put = await Assert.ThrowsAnyAsync<Exception>(() =>
            _server.Gateway.PutAsync(new PutRequest { Key = B("after"), Value = B("2") }, CancellationToken.None).WaitAsync(Deadline));
        Assert.True(put is EtcdException or AskTimeoutException, put.GetType().Name + ": " + put.Message);
    }

    [Theory]
    [InlineData("raft")]
    [InlineData("store")]
    public async Task A_crash_of_an_actor_the_member_needs_stops_the_member_as_fatal(string child)
    {
        var actor = await ResolveAsync(child);
        actor.Tell(Kill.Instance);

        var exit = await _server.Exited.WaitAsync(Deadline);
        Assert.True(exit.Fatal);
        Assert.Contains(child, exit.Reason);
        Assert.IsType<ActorKilledException>(exit.Cause);
        // Not a zombie: nothing is served any more, every call fails fast instead of timing out.
        var put = await Assert.ThrowsAnyAsync<Exception>(() =>
            _server.Gateway.PutAsync(new PutRequest { Key = B("after"), Value = B("2") }, CancellationToken.None).WaitAsync(Deadline));
        Assert.True(put is EtcdException or AskTimeoutException, put.GetType().Name + ": " + put.Message);
    }

    [Fact]
    public async Task A_crashed_lessor_is_restarted_from_the_backend_and_keep_alives_work_again()
    {
        var grant = await _server.Gateway.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, CancellationToken.None).WaitAsync(Deadline);
        await _server.Gateway.PutAsync(new PutRequest { Key = B("leased"), Value = B("v"), Lease = grant.ID }, CancellationToken.None).WaitAsync(Deadline);

        _server.Actors.Lessor.Tell(Kill.Instance);

        // The restarted lessor reloads the lease and its key from the store and is primary again on this leader.
        var renewed = await EventuallyAsync(async () =>
        {
            var keepAlive = await new LeaseForwarding(_server.Gateway).LeaseKeepAliveAsync(grant.ID, CancellationToken.None);
            return keepAlive.TTL == 60 ? keepAlive : null;
        });
        Assert.Equal(grant.ID, renewed.ID);
        var ttl = await _server.Gateway.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = grant.ID, Keys = true }, CancellationToken.None);
        Assert.Equal("leased", Assert.Single(ttl.Keys).ToStringUtf8());
        Assert.False(_server.Exited.IsCompleted);
        var put = await _server.Gateway.PutAsync(new PutRequest { Key = B("after"), Value = B("2") }, CancellationToken.None).WaitAsync(Deadline);
        Assert.True(put.Header.Revision > 0);
    }

    [Fact]
    public async Task A_crashed_lease_shard_is_reloaded_and_the_other_shard_is_untouched()
    {
        var leases = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            leases.Add((await _server.Gateway.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, CancellationToken.None).WaitAsync(Deadline)).ID);
        }
        var shard = await ResolveAsync("lessor/shard-0");
        shard.Tell(Kill.Instance);

        foreach (var id in leases)
        {
            var renewed = await EventuallyAsync(async () =>
            {
                var keepAlive = await new LeaseForwarding(_server.Gateway).LeaseKeepAliveAsync(id, CancellationToken.None);
                return keepAlive.TTL == 60 ? keepAlive : null;
            });
            Assert.Equal(id, renewed.ID);
        }
        var listed = await _server.Gateway.AskAsync<LeaseProtocol.LeaseIds>(_server.Actors.Lessor, LeaseProtocol.List.Instance, CancellationToken.None)
            .WaitAsync(Deadline);
        Assert.Equal(leases.Order(), listed.Ids.Order());
    }

    [Fact]
    public async Task A_crashed_watch_stream_ends_with_an_error_and_the_member_keeps_serving()
    {
        var stream = await Watches().OpenStreamAsync().WaitAsync(Deadline);
        var other = await Watches().OpenStreamAsync().WaitAsync(Deadline);
        await other.RequestAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = B("w") } }, CancellationToken.None);
        Assert.True((await ReadAsync(other)).Created);

        stream.Actor.Tell(Kill.Instance);

        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            while (await stream.Outbox.WaitToReadAsync().AsTask().WaitAsync(Deadline))
            {
                stream.Outbox.TryRead(out _);
            }
        });
        Assert.IsType<ActorKilledException>(failure);
        await _server.Gateway.PutAsync(new PutRequest { Key = B("w"), Value = B("1") }, CancellationToken.None).WaitAsync(Deadline);
        var ev = await ReadAsync(other);
        Assert.Equal("w", Assert.Single(ev.Events).Kv.Key.ToStringUtf8());
        Assert.False(_server.Exited.IsCompleted);
        other.Stop();
    }

    private Akka.Etcd.Actors.Watch.WatchHub Watches() => new(_server.Actors.WatchStreams, _server.Gateway.RequestTimeout);

    private Task<IActorRef> ResolveAsync(string child) => new ActorSelection(_server.Actors.Member, child).ResolveOne(Deadline);

    private static async Task<WatchResponse> ReadAsync(Akka.Etcd.Actors.Watch.WatchStream stream)
    {
        while (true)
        {
            if (stream.Outbox.TryRead(out var response))
            {
                return response;
            }
            if (!await stream.Outbox.WaitToReadAsync().AsTask().WaitAsync(Deadline))
            {
                throw new InvalidOperationException("the stream ended");
            }
        }
    }

    /// <summary>Retries <paramref name="attempt"/> until it returns a value (exceptions count as "not yet") or the deadline passes.</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> attempt) where T : class
    {
        var until = DateTime.UtcNow + Deadline;
        Exception? last = null;
        while (DateTime.UtcNow < until)
        {
            try
            {
                if (await attempt() is { } value)
                {
                    return value;
                }
            }
            catch (EtcdException ex)
            {
                last = ex;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("condition not met before the deadline", last);
    }
}
