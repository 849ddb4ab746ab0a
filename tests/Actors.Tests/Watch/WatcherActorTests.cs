using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Mvccpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

public class WatcherActorTests
{
    private static readonly WatchStreamOptions NoTimer = new() { ProgressNotifyInterval = Timeout.InfiniteTimeSpan };

    [Fact]
    public async Task Created_comes_first_then_each_revision_with_its_header()
    {
        var store = new FakeStore(NoTimer with { CoalesceMaxEvents = 1 }); // no coalescing of a burst
        store.Put("a", "0");
        await using var probe = new StreamProbe(store.Hub);

        probe.Send(new WatchCreateRequest { Key = Bytes("a") });
        var created = await probe.NextAsync();
        Assert.True(created.Created);
        Assert.Equal(0, created.WatchId);
        Assert.Equal(1, created.Header.Revision); // etcd: the store's revision when the watch was created
        Assert.Equal((11UL, 22UL, 3UL), (created.Header.ClusterId, created.Header.MemberId, created.Header.RaftTerm));

        store.Put("a", "1");
        store.Put("other", "x");
        store.Put("a", "2");
        var first = await probe.NextAsync();
        var second = await probe.NextAsync();
        Assert.Equal(new long[] { 2, 4 }, new[] { first.Header.Revision, second.Header.Revision });
        Assert.Equal("1", Assert.Single(first.Events).Kv.Value.ToStringUtf8());
        Assert.Equal("2", Assert.Single(second.Events).Kv.Value.ToStringUtf8());
        Assert.All(new[] { first, second }, r => Assert.Equal(0, r.WatchId));
        await probe.ExpectQuietAsync(4);
    }

    [Fact]
    public async Task A_future_start_revision_waits_for_that_revision()
    {
        var store = new FakeStore(NoTimer);
        store.Put("a", "1");
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchKeyAsync("a", startRevision: 4);
        Assert.Empty(store.Reads);

        store.Put("a", "2");
        store.Put("a", "3");
        store.Put("a", "4");
        var response = await probe.NextAsync();
        Assert.Equal((id, 4L), (response.WatchId, Assert.Single(response.Events).Kv.ModRevision));
        await probe.ExpectQuietAsync(4);
    }

    [Fact]
    public async Task Auto_ids_skip_ids_the_client_chose()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);

        Assert.Equal(1, await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), WatchId = 1 }));
        Assert.Equal(0, await probe.WatchKeyAsync("a"));
        Assert.Equal(2, await probe.WatchKeyAsync("a"));
        Assert.Equal(7, await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), WatchId = 7 }));
    }

    [Fact]
    public async Task Duplicate_id_and_empty_range_are_created_and_canceled_like_etcd()
    {
        var store = new FakeStore(NoTimer);
        store.Put("a", "0");
        await using var probe = new StreamProbe(store.Hub);
        await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), WatchId = 5 });

        probe.Send(new WatchCreateRequest { Key = Bytes("b"), WatchId = 5 });
        var duplicate = await probe.NextAsync();
        Assert.True(duplicate.Created && duplicate.Canceled);
        Assert.Equal(WatcherActor.InvalidWatchId, duplicate.WatchId);
        Assert.Equal("mvcc: duplicate watch ID provided on the WatchStream", duplicate.CancelReason);

        probe.Send(new WatchCreateRequest { Key = Bytes("b"), RangeEnd = Bytes("a") });
        var empty = await probe.NextAsync();
        Assert.True(empty.Created && empty.Canceled);
        Assert.Equal(WatcherActor.InvalidWatchId, empty.WatchId);
        Assert.Equal("mvcc: watcher range is empty", empty.CancelReason);

        // the first watch with id 5 still works
        store.Put("a", "1");
        Assert.Equal(5, (await probe.NextAsync()).WatchId);
    }

    [Fact]
    public async Task A_txn_touching_many_keys_arrives_as_one_response()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchPrefixAsync("k/");

        var ops = Enumerable.Range(0, 50).Select(i => ($"k/{i:D2}", (string?)$"v{i}")).Append(("x", "outside")).ToArray();
        var revision = store.Txn(ops);

        var response = await probe.NextAsync();
        Assert.Equal(id, response.WatchId);
        Assert.Equal(revision, response.Header.Revision);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"k/{i:D2}"), response.Events.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.All(response.Events, e => Assert.Equal(revision, e.Kv.ModRevision));
        await probe.ExpectQuietAsync(revision);
    }

    [Fact]
    public async Task Single_key_prefix_from_key_and_range_watchers_see_exactly_their_keys()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var single = await probe.WatchKeyAsync("b");
        var prefix = await probe.WatchPrefixAsync("b");
        var fromKey = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("c"), RangeEnd = Bytes("\0") });
        var range = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), RangeEnd = Bytes("c") });
        var all = await probe.WatchAsync(new WatchCreateRequest { Key = Google.Protobuf.ByteString.Empty, RangeEnd = Bytes("\0") });

        foreach (var key in new[] { "a", "b", "ba", "c", "z" })
        {
            store.Put(key, "v");
        }
        var seen = await ReadUntilQuietAsync(probe, store.Revision);

        Assert.Equal(new[] { "b" }, seen[single]);
        Assert.Equal(new[] { "b", "ba" }, seen[prefix]);
        Assert.Equal(new[] { "c", "z" }, seen[fromKey]);
        Assert.Equal(new[] { "a", "b", "ba" }, seen[range]);
        Assert.Equal(new[] { "a", "b", "ba", "c", "z" }, seen[all]);
    }

    [Fact]
    public async Task Filters_drop_puts_or_deletes_and_an_all_filtered_revision_sends_nothing()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var noPut = await probe.WatchAsync(new WatchCreateRequest
        {
            Key = Bytes("a"),
            Filters = { WatchCreateRequest.Types.FilterType.Noput },
        });
        var noDelete = await probe.WatchAsync(new WatchCreateRequest
        {
            Key = Bytes("a"),
            Filters = { WatchCreateRequest.Types.FilterType.Nodelete },
        });

        var put = store.Put("a", "1");
        var putResponse = await probe.NextAsync();
        Assert.Equal((noDelete, put), (putResponse.WatchId, putResponse.Header.Revision));

        var delete = store.Delete("a");
        var deleteResponse = await probe.NextAsync();
        Assert.Equal((noPut, delete), (deleteResponse.WatchId, deleteResponse.Header.Revision));
        var ev = Assert.Single(deleteResponse.Events);
        Assert.Equal(Event.Types.EventType.Delete, ev.Type);
        Assert.Equal(delete, ev.Kv.ModRevision);
        await probe.ExpectQuietAsync(delete);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the store does not fill prev_kv on published events: the watcher catches up from history
    public async Task Prev_kv_is_the_previous_version_only_for_watchers_that_ask(bool storePublishesPrevKv)
    {
        var store = new FakeStore(NoTimer) { PublishPrevKv = storePublishesPrevKv };
        await using var probe = new StreamProbe(store.Hub);
        var withPrev = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), PrevKv = true });
        Assert.True(store.Hub.PrevKvWanted);
        var plain = await probe.WatchKeyAsync("a");

        store.Put("a", "1");
        store.Put("a", "2");
        store.Delete("a");
        var seen = new Dictionary<long, List<Event>> { [withPrev] = new(), [plain] = new() };
        while (seen[withPrev].Count < 3 || seen[plain].Count < 3)
        {
            var response = await probe.NextAsync();
            seen[response.WatchId].AddRange(response.Events);
        }

        var prevs = seen[withPrev].Select(e => e.PrevKv?.Value.ToStringUtf8()).ToArray();
        Assert.Equal(new[] { null, "1", "2" }, prevs);
        Assert.All(seen[plain], e => Assert.Null(e.PrevKv));
        Assert.Equal(new long[] { 1, 2, 3 }, seen[withPrev].Select(e => e.Kv.ModRevision));
        Assert.Equal(new long[] { 1, 2, 3 }, seen[plain].Select(e => e.Kv.ModRevision));
        await probe.ExpectQuietAsync(3);

        probe.Cancel(withPrev);
        await probe.NextAsync();
        Assert.False(store.Hub.PrevKvWanted);
    }

    [Fact]
    public async Task Cancel_by_client_answers_canceled_and_stops_events_while_an_unknown_id_gets_no_answer()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchKeyAsync("a");
        store.Put("a", "1");
        Assert.Equal(id, (await probe.NextAsync()).WatchId);

        probe.Cancel(id);
        var canceled = await probe.NextAsync();
        Assert.True(canceled.Canceled);
        Assert.False(canceled.Created);
        Assert.Equal(id, canceled.WatchId);
        Assert.Equal(1, canceled.Header.Revision);

        store.Put("a", "2");
        probe.Cancel(42);
        await probe.ExpectQuietAsync(2);
    }

    [Fact]
    public async Task Progress_request_answers_watch_id_minus_one_with_the_current_revision()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        store.Put("x", "1");
        store.Put("y", "1");
        await probe.ExpectQuietAsync(2); // no watcher at all: still answered
        await probe.WatchKeyAsync("a");
        store.Put("z", "1");
        await probe.ExpectQuietAsync(3);
    }

    [Fact]
    public async Task Progress_request_waits_until_every_watcher_is_synced()
    {
        var store = new FakeStore(NoTimer) { AnswerReadsAtOnce = false };
        for (var i = 0; i < 5; i++)
        {
            store.Put("a", $"{i}");
        }
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchKeyAsync("a", startRevision: 2);
        probe.RequestProgress();
        store.Put("a", "live");
        await store.ReadQueuedAsync();

        store.AnswerPendingReads();
        var catchUp = await probe.NextAsync();
        Assert.Equal(id, catchUp.WatchId);
        Assert.Equal(new long[] { 2, 3, 4, 5, 6 }, catchUp.Events.Select(e => e.Kv.ModRevision));
        Assert.Equal(6, catchUp.Header.Revision);
        AssertProgress(await probe.NextAsync(), 6);
    }

    [Fact]
    public async Task Progress_notify_ticks_reach_idle_synced_watchers_and_are_elided_after_events()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var notified = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), ProgressNotify = true });
        await probe.WatchKeyAsync("b"); // no progress_notify: never notified
        store.Put("c", "1");

        probe.Actor.ProgressTick();
        var progress = await probe.NextAsync();
        Assert.Equal(notified, progress.WatchId);
        Assert.Empty(progress.Events);
        Assert.Equal(1, progress.Header.Revision);

        store.Put("a", "1");
        Assert.Single((await probe.NextAsync()).Events);
        probe.Actor.ProgressTick(); // an event went out since the last tick: elided
        await probe.ExpectQuietAsync(2);

        probe.Actor.ProgressTick();
        progress = await probe.NextAsync();
        Assert.Equal((notified, 2L), (progress.WatchId, progress.Header.Revision));
    }

    [Fact]
    public async Task Large_responses_are_fragmented_only_for_watchers_that_ask()
    {
        var store = new FakeStore(NoTimer with { MaxResponseBytes = 300 });
        await using var probe = new StreamProbe(store.Hub);
        var fragmented = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("k/"), RangeEnd = PrefixEnd("k/"), Fragment = true });
        var whole = await probe.WatchPrefixAsync("k/");

        var revision = store.Txn(Enumerable.Range(0, 10).Select(i => ($"k/{i}", (string?)new string('v', 60))).ToArray());
        var fragments = new List<WatchResponse>();
        WatchResponse? single = null;
        while (single is null || fragments.Count == 0 || fragments[^1].Fragment)
        {
            var response = await probe.NextAsync();
            if (response.WatchId == whole)
            {
                single = response;
            }
            else
            {
                Assert.Equal(fragmented, response.WatchId);
                fragments.Add(response);
            }
        }

        Assert.Equal(10, single.Events.Count);
        Assert.False(single.Fragment);
        Assert.True(fragments.Count > 1);
        Assert.All(fragments[..^1], f => Assert.True(f.Fragment));
        Assert.All(fragments, f => Assert.Equal(revision, f.Header.Revision));
        Assert.All(fragments.Where(f => f.Events.Count > 1), f => Assert.True(f.CalculateSize() < 300));
        Assert.Equal(single.Events, fragments.SelectMany(f => f.Events));
    }

    [Fact]
    public async Task Every_stream_gets_the_revision_and_a_stopped_stream_leaves_the_hub()
    {
        var store = new FakeStore(NoTimer);
        var one = new StreamProbe(store.Hub);
        await using var two = new StreamProbe(store.Hub);
        await one.WatchKeyAsync("a");
        await two.WatchKeyAsync("a");
        Assert.Equal(2, store.Hub.StreamCount);

        store.Put("a", "1");
        Assert.Single((await one.NextAsync()).Events);
        Assert.Single((await two.NextAsync()).Events);

        await one.DisposeAsync();
        Assert.Equal(1, store.Hub.StreamCount);
        await one.Actor.Outbox.Completion.WaitAsync(Deadline);
        store.Put("a", "2");
        Assert.Single((await two.NextAsync()).Events);
    }

    /// <summary>Collects event keys per watch id until a progress barrier at <paramref name="revision"/>.</summary>
    internal static async Task<Dictionary<long, List<string>>> ReadUntilQuietAsync(StreamProbe probe, long revision)
    {
        probe.RequestProgress();
        var seen = new Dictionary<long, List<string>>();
        while (true)
        {
            var response = await probe.NextAsync();
            if (response.WatchId == WatcherActor.InvalidWatchId)
            {
                AssertProgress(response, revision);
                return seen;
            }
            if (!seen.TryGetValue(response.WatchId, out var keys))
            {
                seen[response.WatchId] = keys = new List<string>();
            }
            keys.AddRange(response.Events.Select(e => e.Kv.Key.ToStringUtf8()));
        }
    }
}
