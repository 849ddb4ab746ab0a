using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

public class WatchCatchUpTests
{
    private static readonly WatchStreamOptions NoTimer = new() { ProgressNotifyInterval = Timeout.InfiniteTimeSpan };

    [Fact]
    public async Task Historical_replay_then_live_has_no_gap_and_no_duplicate()
    {
        var store = new FakeStore(NoTimer) { AnswerReadsAtOnce = false };
        for (var i = 1; i <= 10; i++)
        {
            store.Put("k", $"{i}");
        }
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchKeyAsync("k", startRevision: 3);
        await store.ReadQueuedAsync();
        Assert.Equal(3, store.Reads.Single().FromRevision);

        // published while the read is pending: the read (answered later) covers them, live copies are ignored
        store.Put("k", "11");
        store.Put("k", "12");
        store.AnswerPendingReads();
        store.Put("k", "13");

        var catchUp = await probe.NextAsync();
        Assert.Equal(id, catchUp.WatchId);
        Assert.Equal(12, catchUp.Header.Revision);
        Assert.Equal(Enumerable.Range(3, 10).Select(r => (long)r), catchUp.Events.Select(e => e.Kv.ModRevision));
        var live = await probe.NextAsync();
        Assert.Equal(13, Assert.Single(live.Events).Kv.ModRevision);
        Assert.Equal(13, live.Header.Revision);
        await probe.ExpectQuietAsync(13);
    }

    [Fact]
    public async Task Catch_up_goes_in_batches_of_whole_revisions()
    {
        var store = new FakeStore(NoTimer with { HistoryBatchRevisions = 4 });
        for (var i = 1; i <= 10; i++)
        {
            store.Txn(("k/a", $"{i}"), ("k/b", $"{i}"));
        }
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchPrefixAsync("k/", startRevision: 1);

        var batches = new[] { await probe.NextAsync(), await probe.NextAsync(), await probe.NextAsync() };
        Assert.Equal(new long[] { 4, 8, 10 }, batches.Select(b => b.Header.Revision));
        Assert.All(batches, b => Assert.Equal(id, b.WatchId));
        var revisions = batches.SelectMany(b => b.Events).Select(e => e.Kv.ModRevision).ToList();
        Assert.Equal(Enumerable.Range(1, 10).SelectMany(r => new long[] { r, r }), revisions);

        store.Put("k/c", "live");
        Assert.Equal(11, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);
    }

    [Fact]
    public async Task A_compacted_start_revision_is_canceled_with_the_compact_revision()
    {
        var store = new FakeStore(NoTimer);
        for (var i = 1; i <= 5; i++)
        {
            store.Put("k", $"{i}");
        }
        store.Compact(4);
        await using var probe = new StreamProbe(store.Hub);

        var id = await probe.WatchKeyAsync("k", startRevision: 2);
        var canceled = await probe.NextAsync();
        Assert.Equal(id, canceled.WatchId);
        Assert.True(canceled.Canceled);
        Assert.Equal(4, canceled.CompactRevision);
        Assert.Equal(0, canceled.Header.Revision); // what etcd 3.4 sends
        Assert.Empty(canceled.Events);

        // etcd serves a watch starting exactly at the compact revision
        var atCompact = await probe.WatchKeyAsync("k", startRevision: 4);
        var events = await probe.NextAsync();
        Assert.Equal(atCompact, events.WatchId);
        Assert.Equal(new long[] { 4, 5 }, events.Events.Select(e => e.Kv.ModRevision));

        store.Put("k", "6");
        Assert.Equal(atCompact, (await probe.NextAsync()).WatchId); // the canceled watcher stays silent
        await probe.ExpectQuietAsync(6);
    }

    [Fact]
    public async Task Compaction_while_a_slow_watcher_lags_cancels_it_after_what_was_delivered()
    {
        // one response per revision, so the 4-response outbox overflows
        var store = new FakeStore(NoTimer with { OutboxCapacity = 4, CoalesceMaxEvents = 1 });
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchKeyAsync("k");
        for (var i = 1; i <= 20; i++)
        {
            store.Put("k", $"{i}");
        }
        store.Compact(15);

        var delivered = new List<long>();
        while (true)
        {
            var response = await probe.NextAsync();
            Assert.Equal(id, response.WatchId);
            if (response.Canceled)
            {
                Assert.Equal(15, response.CompactRevision);
                break;
            }
            delivered.AddRange(response.Events.Select(e => e.Kv.ModRevision));
        }
        Assert.Equal(Enumerable.Range(1, delivered.Count).Select(r => (long)r), delivered);
        Assert.True(delivered.Count < 15);

        store.Put("k", "21");
        await probe.ExpectQuietAsync(21);
    }

    [Fact]
    public async Task A_client_that_stops_reading_for_100000_revisions_then_gets_all_in_order()
    {
        const int revisions = 100_000;
        var store = new FakeStore(NoTimer with { CoalesceMaxEvents = 1 }); // live responses overflow the outbox
        await using var probe = new StreamProbe(store.Hub);
        var onKey = await probe.WatchKeyAsync("k");
        var onPrefix = await probe.WatchPrefixAsync("k");
        var elsewhere = await probe.WatchKeyAsync("unrelated");

        for (var i = 1; i <= revisions; i++)
        {
            store.Put("k", "v");
        }
        Assert.True(probe.Actor.Outbox.Count <= probe.Actor.Outbox.Capacity);

        var next = new Dictionary<long, long> { [onKey] = 1, [onPrefix] = 1 };
        var responses = 0;
        while (next[onKey] <= revisions || next[onPrefix] <= revisions)
        {
            var response = await probe.NextAsync();
            responses++;
            Assert.NotEqual(elsewhere, response.WatchId);
            foreach (var ev in response.Events)
            {
                Assert.Equal(next[response.WatchId], ev.Kv.ModRevision);
                next[response.WatchId]++;
            }
            Assert.Equal(response.Events[^1].Kv.ModRevision, response.Header.Revision);
        }
        Assert.True(store.Reads.Count > 0, "the lagging watchers caught up from history");
        Assert.True(responses < 2 * revisions / 10, $"catch-up batches many revisions per response ({responses} responses)");

        store.Put("k", "after");
        var live = new[] { await probe.NextAsync(), await probe.NextAsync() };
        Assert.All(live, r => Assert.Equal(revisions + 1, Assert.Single(r.Events).Kv.ModRevision));
        await probe.ExpectQuietAsync(revisions + 1);
    }

    [Fact]
    public async Task Created_and_canceled_responses_are_never_dropped_when_the_outbox_is_full()
    {
        var store = new FakeStore(NoTimer with { OutboxCapacity = 2 });
        await using var probe = new StreamProbe(store.Hub);
        for (var i = 0; i < 10; i++)
        {
            probe.Send(new WatchCreateRequest { Key = Bytes($"k{i}") });
        }
        probe.Cancel(3);
        store.Put("k5", "v");

        var created = new List<long>();
        var canceled = new List<long>();
        var events = new List<long>();
        while (canceled.Count == 0 || events.Count == 0)
        {
            var response = await probe.NextAsync();
            if (response.Created)
            {
                created.Add(response.WatchId);
            }
            else if (response.Canceled)
            {
                canceled.Add(response.WatchId);
            }
            else
            {
                Assert.Contains(response.WatchId, created);
                events.Add(response.WatchId);
            }
        }
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), created);
        Assert.Equal(new long[] { 3 }, canceled);
        Assert.Equal(new long[] { 5 }, events);
    }

    [Fact]
    public async Task After_a_store_restore_watchers_catch_up_the_revisions_never_published()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchKeyAsync("k");
        store.Put("k", "1");
        Assert.Equal(1, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);

        store.Publishing = false; // as if revisions 2 and 3 came in a Raft snapshot
        store.Put("k", "2");
        store.Put("k", "3");
        store.Publishing = true;
        store.Hub.Restore(store.Revision);

        var catchUp = await probe.NextAsync();
        Assert.Equal(id, catchUp.WatchId);
        Assert.Equal(new long[] { 2, 3 }, catchUp.Events.Select(e => e.Kv.ModRevision));
        store.Put("k", "4");
        Assert.Equal(4, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);
    }
}
