using Akka.Actor;
using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Mvccpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

public class WatcherActorTests : WatchSpec
{
    [Fact]
    public async Task Created_comes_first_then_each_revision_with_its_header()
    {
        var store = StartStore(NoTimer with { CoalesceMaxEvents = 1 }); // no coalescing of a burst
        await store.PutAsync("a", "0");
        await using var probe = await OpenStreamAsync();

        await probe.SendAsync(new WatchCreateRequest { Key = Bytes("a") });
        var created = await probe.NextAsync();
        Assert.True(created.Created);
        Assert.Equal(0, created.WatchId);
        Assert.Equal(1, created.Header.Revision); // etcd: the store's revision when the watch was created
        Assert.Equal((11UL, 22UL, 3UL), (created.Header.ClusterId, created.Header.MemberId, created.Header.RaftTerm));

        await store.PutAsync("a", "1");
        await store.PutAsync("other", "x");
        await store.PutAsync("a", "2");
        var first = await probe.NextAsync();
        var second = await probe.NextAsync();
        Assert.Equal(new long[] { 2, 4 }, new[] { first.Header.Revision, second.Header.Revision });
        Assert.Equal("1", Assert.Single(first.Events).Kv.Value.ToStringUtf8());
        Assert.Equal("2", Assert.Single(second.Events).Kv.Value.ToStringUtf8());
        Assert.All(new[] { first, second }, r => Assert.Equal(0, r.WatchId));
        await probe.ExpectQuietAsync(4);
    }

    [Fact]
    public async Task A_request_sent_before_the_store_confirmed_the_registration_waits_for_it()
    {
        var store = StartStore(NoTimer);
        await store.PutAsync("a", "1");
        WatchStream stream;
        using (HoldStreams())
        {
            // The stream's actor has not run yet: its registration is not even sent when the request arrives.
            stream = await OpenHeldStreamAsync();
            await stream.RequestAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("a") } }, CancellationToken.None);
        }
        await using var probe = new StreamProbe(stream);
        var created = await probe.NextAsync();
        Assert.True(created.Created);
        Assert.Equal(1, created.Header.Revision); // the revision the store registered the stream at
        await store.PutAsync("a", "2");
        Assert.Equal(2, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);
    }

    [Fact]
    public async Task A_future_start_revision_waits_for_that_revision()
    {
        var store = StartStore(NoTimer);
        await store.PutAsync("a", "1");
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("a", startRevision: 4);
        Assert.Empty(await store.ReadsAsync());

        await store.PutAsync("a", "2");
        await store.PutAsync("a", "3");
        await store.PutAsync("a", "4");
        var response = await probe.NextAsync();
        Assert.Equal((id, 4L), (response.WatchId, Assert.Single(response.Events).Kv.ModRevision));
        await probe.ExpectQuietAsync(4);
    }

    [Fact]
    public async Task Auto_ids_skip_ids_the_client_chose()
    {
        StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();

        Assert.Equal(1, await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), WatchId = 1 }));
        Assert.Equal(0, await probe.WatchKeyAsync("a"));
        Assert.Equal(2, await probe.WatchKeyAsync("a"));
        Assert.Equal(7, await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), WatchId = 7 }));
    }

    [Fact]
    public async Task Duplicate_id_and_empty_range_are_created_and_canceled_like_etcd()
    {
        var store = StartStore(NoTimer);
        await store.PutAsync("a", "0");
        await using var probe = await OpenStreamAsync();
        await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), WatchId = 5 });

        await probe.SendAsync(new WatchCreateRequest { Key = Bytes("b"), WatchId = 5 });
        var duplicate = await probe.NextAsync();
        Assert.True(duplicate.Created && duplicate.Canceled);
        Assert.Equal(WatcherActor.InvalidWatchId, duplicate.WatchId);
        Assert.Equal("mvcc: duplicate watch ID provided on the WatchStream", duplicate.CancelReason);

        await probe.SendAsync(new WatchCreateRequest { Key = Bytes("b"), RangeEnd = Bytes("a") });
        var empty = await probe.NextAsync();
        Assert.True(empty.Created && empty.Canceled);
        Assert.Equal(WatcherActor.InvalidWatchId, empty.WatchId);
        Assert.Equal("mvcc: watcher range is empty", empty.CancelReason);

        // the first watch with id 5 still works
        await store.PutAsync("a", "1");
        Assert.Equal(5, (await probe.NextAsync()).WatchId);
    }

    [Fact]
    public async Task A_txn_touching_many_keys_arrives_as_one_response()
    {
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchPrefixAsync("k/");

        var ops = Enumerable.Range(0, 50).Select(i => ($"k/{i:D2}", (string?)$"v{i}")).Append(("x", "outside")).ToArray();
        var revision = await store.TxnAsync(ops);

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
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var single = await probe.WatchKeyAsync("b");
        var prefix = await probe.WatchPrefixAsync("b");
        var fromKey = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("c"), RangeEnd = Bytes("\0") });
        var range = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), RangeEnd = Bytes("c") });
        var all = await probe.WatchAsync(new WatchCreateRequest { Key = Google.Protobuf.ByteString.Empty, RangeEnd = Bytes("\0") });

        long revision = 0;
        foreach (var key in new[] { "a", "b", "ba", "c", "z" })
        {
            revision = await store.PutAsync(key, "v");
        }
        var seen = await probe.ReadUntilQuietAsync(revision);

        Assert.Equal(new[] { "b" }, seen[single]);
        Assert.Equal(new[] { "b", "ba" }, seen[prefix]);
        Assert.Equal(new[] { "c", "z" }, seen[fromKey]);
        Assert.Equal(new[] { "a", "b", "ba" }, seen[range]);
        Assert.Equal(new[] { "a", "b", "ba", "c", "z" }, seen[all]);
    }

    [Fact]
    public async Task Filters_drop_puts_or_deletes_and_an_all_filtered_revision_sends_nothing()
    {
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
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

        var put = await store.PutAsync("a", "1");
        var putResponse = await probe.NextAsync();
        Assert.Equal((noDelete, put), (putResponse.WatchId, putResponse.Header.Revision));

        var delete = await store.DeleteAsync("a");
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
        var store = StartStore(NoTimer, new FakeStoreSettings(PublishPrevKv: storePublishesPrevKv));
        await using var probe = await OpenStreamAsync();
        var withPrev = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), PrevKv = true });
        Assert.Equal(1, (await store.StateAsync()).PrevKvWatchers); // the store now fills prev_kv on what it publishes
        var plain = await probe.WatchKeyAsync("a");

        await store.PutAsync("a", "1");
        await store.PutAsync("a", "2");
        await store.DeleteAsync("a");
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
        Assert.Equal(storePublishesPrevKv, (await store.ReadsAsync()).Count == 0);
        await probe.ExpectQuietAsync(3);

        await probe.CancelAsync(withPrev);
        await probe.NextAsync();
        Assert.Equal(0, (await store.StateAsync()).PrevKvWatchers);
    }

    [Fact]
    public async Task A_stopped_stream_gives_back_its_prev_kv_watchers_and_leaves_the_store()
    {
        var store = StartStore(NoTimer);
        var probe = await OpenStreamAsync();
        await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), PrevKv = true });
        await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("b"), PrevKv = true });
        var state = await store.StateAsync();
        Assert.Equal((1, 2), (state.Streams, state.PrevKvWatchers));

        await probe.DisposeAsync();
        await probe.Outbox.Completion.WaitAsync(Deadline);
        await AwaitAssertAsync(async () =>
        {
            var after = await store.StateAsync();
            Assert.Equal((0, 0), (after.Streams, after.PrevKvWatchers));
        }, Deadline);
    }

    [Fact]
    public async Task Cancel_by_client_answers_canceled_and_stops_events_while_an_unknown_id_gets_no_answer()
    {
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("a");
        await store.PutAsync("a", "1");
        Assert.Equal(id, (await probe.NextAsync()).WatchId);

        await probe.CancelAsync(id);
        var canceled = await probe.NextAsync();
        Assert.True(canceled.Canceled);
        Assert.False(canceled.Created);
        Assert.Equal(id, canceled.WatchId);
        Assert.Equal(1, canceled.Header.Revision);

        await store.PutAsync("a", "2");
        await probe.CancelAsync(42);
        await probe.ExpectQuietAsync(2);
    }

    [Fact]
    public async Task Progress_request_answers_watch_id_minus_one_with_the_current_revision()
    {
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        await store.PutAsync("x", "1");
        await store.PutAsync("y", "1");
        await probe.ExpectQuietAsync(2); // no watcher at all: still answered
        await probe.WatchKeyAsync("a");
        await store.PutAsync("z", "1");
        await probe.ExpectQuietAsync(3);
    }

    [Fact]
    public async Task Progress_request_waits_until_every_watcher_is_synced()
    {
        var store = StartStore(NoTimer, new FakeStoreSettings(AnswerReadsAtOnce: false));
        for (var i = 0; i < 5; i++)
        {
            await store.PutAsync("a", $"{i}");
        }
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("a", startRevision: 2);
        await probe.RequestProgressAsync();
        await store.PutAsync("a", "live");
        await ExpectReadQueuedAsync();

        await store.AnswerPendingReadsAsync();
        var catchUp = await probe.NextAsync();
        Assert.Equal(id, catchUp.WatchId);
        Assert.Equal(new long[] { 2, 3, 4, 5, 6 }, catchUp.Events.Select(e => e.Kv.ModRevision));
        Assert.Equal(6, catchUp.Header.Revision);
        AssertProgress(await probe.NextAsync(), 6);
    }

    [Fact]
    public async Task Progress_notify_ticks_reach_idle_synced_watchers_and_are_elided_after_events()
    {
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var notified = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), ProgressNotify = true });
        await probe.WatchKeyAsync("b"); // no progress_notify: never notified
        await store.PutAsync("c", "1");

        probe.Stream.Actor.Tell(WatcherProtocol.ProgressTick.Instance);
        var progress = await probe.NextAsync();
        Assert.Equal(notified, progress.WatchId);
        Assert.Empty(progress.Events);
        Assert.Equal(1, progress.Header.Revision);

        await store.PutAsync("a", "1");
        Assert.Single((await probe.NextAsync()).Events);
        probe.Stream.Actor.Tell(WatcherProtocol.ProgressTick.Instance); // an event went out since the last tick: elided
        await probe.ExpectQuietAsync(2);

        probe.Stream.Actor.Tell(WatcherProtocol.ProgressTick.Instance);
        progress = await probe.NextAsync();
        Assert.Equal((notified, 2L), (progress.WatchId, progress.Header.Revision));
    }

    [Fact]
    public async Task The_progress_notify_timer_runs_on_the_scheduler_every_interval_plus_jitter()
    {
        // etcd's default 10 minutes, plus up to 10% jitter per stream: one tick by 11 minutes, the next by 22.
        var store = StartStore(new WatchStreamOptions { ProgressNotifyInterval = TimeSpan.FromMinutes(10) });
        await using var probe = await OpenStreamAsync();
        var notified = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("a"), ProgressNotify = true });
        await store.PutAsync("elsewhere", "1");

        Clock.Advance(TimeSpan.FromMinutes(9)); // before the interval: nothing
        await probe.ExpectQuietAsync(1);

        Clock.Advance(TimeSpan.FromMinutes(2));
        var progress = await probe.NextAsync();
        Assert.Equal((notified, 1L), (progress.WatchId, progress.Header.Revision));
        Assert.Empty(progress.Events);

        await store.PutAsync("elsewhere", "2");
        Clock.Advance(TimeSpan.FromMinutes(11));
        progress = await probe.NextAsync();
        Assert.Equal((notified, 2L), (progress.WatchId, progress.Header.Revision));
        await probe.ExpectQuietAsync(2);
    }

    [Fact]
    public async Task Large_responses_are_fragmented_only_for_watchers_that_ask()
    {
        var store = StartStore(NoTimer with { MaxResponseBytes = 300 });
        await using var probe = await OpenStreamAsync();
        var fragmented = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("k/"), RangeEnd = PrefixEnd("k/"), Fragment = true });
        var whole = await probe.WatchPrefixAsync("k/");

        var revision = await store.TxnAsync(Enumerable.Range(0, 10).Select(i => ($"k/{i}", (string?)new string('v', 60))).ToArray());
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
    public async Task Every_stream_gets_the_revision_and_a_stopped_stream_leaves_the_store()
    {
        var store = StartStore(NoTimer);
        var one = await OpenStreamAsync();
        await using var two = await OpenStreamAsync();
        await one.WatchKeyAsync("a");
        await two.WatchKeyAsync("a");
        Assert.Equal(2, (await store.StateAsync()).Streams);

        await store.PutAsync("a", "1");
        Assert.Single((await one.NextAsync()).Events);
        Assert.Single((await two.NextAsync()).Events);

        await one.DisposeAsync();
        await one.Outbox.Completion.WaitAsync(Deadline);
        await AwaitAssertAsync(async () => Assert.Equal(1, (await store.StateAsync()).Streams), Deadline);
        await store.PutAsync("a", "2");
        Assert.Single((await two.NextAsync()).Events);
    }

    /// <summary>Opens a stream while the gate holds it, without waiting for anything the stream's actor does.</summary>
    private async Task<WatchStream> OpenHeldStreamAsync() =>
        await Sys.ActorSelection("/user/streams").Ask<WatchStream>(WatcherProtocol.OpenStream.Instance, Deadline);
}
