using Etcdserverpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

public class WatchCatchUpTests : WatchSpec
{
    [Fact]
    public async Task Historical_replay_then_live_has_no_gap_and_no_duplicate()
    {
        var store = StartStore(NoTimer, new FakeStoreSettings(AnswerReadsAtOnce: false));
        for (var i = 1; i <= 10; i++)
        {
            await store.PutAsync("k", $"{i}");
        }
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("k", startRevision: 3);
        Assert.Equal(3, (await ExpectReadQueuedAsync()).Request.FromRevision);

        // published while the read is pending: the read (answered later) covers them, live copies are ignored
        await store.PutAsync("k", "11");
        await store.PutAsync("k", "12");
        await store.AnswerPendingReadsAsync();
        await store.PutAsync("k", "13");

        var catchUp = await probe.NextAsync();
        Assert.Equal(id, catchUp.WatchId);
        Assert.Equal(12, catchUp.Header.Revision);
        Assert.Equal(Enumerable.Range(3, 10).Select(r => (long)r), catchUp.Events.Select(e => e.Kv.ModRevision));
        var live = await probe.NextAsync();
        Assert.Equal(13, Assert.Single(live.Events).Kv.ModRevision);
        Assert.Equal(13, live.Header.Revision);
        await probe.ExpectQuietAsync(13);
        Assert.Single(await store.ReadsAsync());
    }

    [Fact]
    public async Task Catch_up_goes_in_batches_of_whole_revisions()
    {
        var store = StartStore(NoTimer with { HistoryBatchRevisions = 4 });
        await store.WriteAsync(Enumerable.Range(1, 10).Select(i => new (string, string?)[] { ("k/a", $"{i}"), ("k/b", $"{i}") }).ToList());
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchPrefixAsync("k/", startRevision: 1);

        var batches = new[] { await probe.NextAsync(), await probe.NextAsync(), await probe.NextAsync() };
        Assert.Equal(new long[] { 4, 8, 10 }, batches.Select(b => b.Header.Revision));
        Assert.All(batches, b => Assert.Equal(id, b.WatchId));
        var revisions = batches.SelectMany(b => b.Events).Select(e => e.Kv.ModRevision).ToList();
        Assert.Equal(Enumerable.Range(1, 10).SelectMany(r => new long[] { r, r }), revisions);

        await store.PutAsync("k/c", "live");
        Assert.Equal(11, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);
    }

    [Fact]
    public async Task A_compacted_start_revision_is_canceled_with_the_compact_revision()
    {
        var store = StartStore(NoTimer);
        for (var i = 1; i <= 5; i++)
        {
            await store.PutAsync("k", $"{i}");
        }
        await store.CompactAsync(4);
        await using var probe = await OpenStreamAsync();

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

        await store.PutAsync("k", "6");
        Assert.Equal(atCompact, (await probe.NextAsync()).WatchId); // the canceled watcher stays silent
        await probe.ExpectQuietAsync(6);
    }

    [Fact]
    public async Task Compaction_while_a_slow_watcher_lags_cancels_it_after_what_was_delivered()
    {
        // one response per revision, so the 4-response outbox overflows
        var store = StartStore(NoTimer with { OutboxCapacity = 4, CoalesceMaxEvents = 1 });
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("k");
        for (var i = 1; i <= 20; i++)
        {
            await store.PutAsync("k", $"{i}");
        }
        await store.CompactAsync(15);

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

        await store.PutAsync("k", "21");
        await probe.ExpectQuietAsync(21);
    }

    [Fact]
    public async Task Victims_of_a_full_outbox_behind_the_compact_revision_are_canceled_and_the_others_miss_nothing()
    {
        // Two watchers fall behind at different revisions; the compaction lands between them. Their catch-up is one
        // history read from the lower revision: the one behind the compact revision is canceled, the other gets
        // every revision from where it stopped (the read covers [compact revision, ...] for it).
        var store = StartStore(NoTimer with { OutboxCapacity = 4, CoalesceMaxEvents = 1 });
        await using var probe = await OpenStreamAsync();
        var early = await probe.WatchKeyAsync("a");
        var late = await probe.WatchKeyAsync("b");
        await store.PutAsync("a", "1"); // 1: one response for early
        await store.PutAsync("b", "2"); // 2
        await store.PutAsync("b", "3"); // 3
        await store.PutAsync("b", "4"); // 4: the outbox is full
        await store.PutAsync("a", "5"); // 5: early becomes a victim from 5
        for (var i = 6; i <= 12; i++)
        {
            await store.PutAsync(i % 2 == 0 ? "b" : "a", $"{i}"); // late becomes a victim from 6
        }
        await store.CompactAsync(6);

        var next = new Dictionary<long, long> { [early] = 1, [late] = 2 };
        var canceled = new List<long>();
        var got = new Dictionary<long, List<long>> { [early] = new(), [late] = new() };
        while (!got[late].Contains(12))
        {
            var response = await probe.NextAsync();
            if (response.Canceled)
            {
                Assert.Equal(6, response.CompactRevision);
                canceled.Add(response.WatchId);
                continue;
            }
            got[response.WatchId].AddRange(response.Events.Select(e => e.Kv.ModRevision));
        }
        Assert.Equal(new[] { early }, canceled);
        Assert.Equal(new long[] { 1 }, got[early]);
        Assert.Equal(new long[] { 2, 3, 4, 6, 8, 10, 12 }, got[late]);
        await probe.ExpectQuietAsync(12);
    }

    [Fact]
    public async Task A_client_that_stops_reading_for_100000_revisions_then_gets_all_in_order()
    {
        const int revisions = 100_000;
        var store = StartStore(NoTimer with { CoalesceMaxEvents = 1 }); // live responses overflow the outbox
        await using var probe = await OpenStreamAsync();
        var onKey = await probe.WatchKeyAsync("k");
        var onPrefix = await probe.WatchPrefixAsync("k");
        var elsewhere = await probe.WatchKeyAsync("unrelated");

        for (var batch = 0; batch < revisions / 1000; batch++)
        {
            await store.WriteAsync(Enumerable.Range(0, 1000).Select(_ => new (string, string?)[] { ("k", "v") }).ToList());
        }
        Assert.True(probe.Outbox.Count <= probe.Outbox.Capacity);

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
        Assert.True((await store.ReadsAsync()).Count > 0, "the lagging watchers caught up from history");
        Assert.True(responses < 2 * revisions / 10, $"catch-up batches many revisions per response ({responses} responses)");

        await store.PutAsync("k", "after");
        var live = new[] { await probe.NextAsync(), await probe.NextAsync() };
        Assert.All(live, r => Assert.Equal(revisions + 1, Assert.Single(r.Events).Kv.ModRevision));
        await probe.ExpectQuietAsync(revisions + 1);
    }

    [Fact]
    public async Task Created_and_canceled_responses_are_never_dropped_when_the_outbox_is_full()
    {
        var store = StartStore(NoTimer with { OutboxCapacity = 2 });
        await using var probe = await OpenStreamAsync();
        for (var i = 0; i < 10; i++)
        {
            await probe.SendAsync(new WatchCreateRequest { Key = Bytes($"k{i}") });
        }
        await probe.CancelAsync(3);
        await store.PutAsync("k5", "v");

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
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("k");
        await store.PutAsync("k", "1");
        Assert.Equal(1, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);

        await store.ConfigureAsync(new FakeStoreSettings(Publishing: false)); // as if revisions 2 and 3 came in a Raft snapshot
        await store.PutAsync("k", "2");
        await store.PutAsync("k", "3");
        await store.ConfigureAsync(new FakeStoreSettings());
        await store.RestoreAsync();

        var catchUp = await probe.NextAsync();
        Assert.Equal(id, catchUp.WatchId);
        Assert.Equal(new long[] { 2, 3 }, catchUp.Events.Select(e => e.Kv.ModRevision));
        await store.PutAsync("k", "4");
        Assert.Equal(4, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);
    }

    [Fact]
    public async Task A_failed_history_read_is_asked_again_and_the_watcher_still_gets_every_revision()
    {
        var store = StartStore(NoTimer, new FakeStoreSettings(FailReads: 2));
        for (var i = 1; i <= 5; i++)
        {
            await store.PutAsync("k", $"{i}");
        }
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("k", startRevision: 2);

        var catchUp = await probe.NextAsync();
        Assert.Equal(id, catchUp.WatchId);
        Assert.Equal(new long[] { 2, 3, 4, 5 }, catchUp.Events.Select(e => e.Kv.ModRevision));
        Assert.Equal(new long[] { 2, 2, 2 }, (await store.ReadsAsync()).Select(r => r.FromRevision));
        await store.PutAsync("k", "6");
        Assert.Equal(6, Assert.Single((await probe.NextAsync()).Events).Kv.ModRevision);
        await probe.ExpectQuietAsync(6);
    }
}
