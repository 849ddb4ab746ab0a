using Etcdserverpb;
using Mvccpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// Revisions published before the WatcherActor's self-sent FlushBatches marker comes back (one burst of its mailbox)
/// reach each watcher as one response (etcd's catch-up batching). Each test holds the stream's actor
/// (<see cref="WatchSpec.HoldStreams"/>) while it queues the burst, so every message of the burst is in the mailbox
/// before the actor handles the first one, and the marker it then sends itself lands behind all of them.
/// </summary>
public class WatchCoalescingTests : WatchSpec
{
    [Fact]
    public async Task A_burst_of_revisions_reaches_each_watcher_as_one_response_in_order()
    {
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var onKey = await probe.WatchKeyAsync("k");
        var onPrefix = await probe.WatchPrefixAsync("k");
        var noDelete = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("k"), Filters = { WatchCreateRequest.Types.FilterType.Nodelete } });
        var withPrevKv = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("k"), PrevKv = true });

        using (HoldStreams())
        {
            for (var i = 1; i <= 8; i++)
            {
                await store.PutAsync("k", $"v{i}");
            }
            await store.PutAsync("k2", "other"); // 9
            await store.DeleteAsync("k"); // 10
            Assert.Equal(0, probe.Outbox.Count);
        }

        var responses = new Dictionary<long, WatchResponse>();
        for (var i = 0; i < 4; i++)
        {
            var response = await probe.NextAsync();
            responses.Add(response.WatchId, response);
        }
        var keyRevisions = new long[] { 1, 2, 3, 4, 5, 6, 7, 8, 10 };
        Assert.Equal(keyRevisions, responses[onKey].Events.Select(e => e.Kv.ModRevision));
        Assert.Equal(10, responses[onKey].Header.Revision);
        Assert.All(responses[onKey].Events, e => Assert.Null(e.PrevKv));
        Assert.Equal(Enumerable.Range(1, 10).Select(r => (long)r), responses[onPrefix].Events.Select(e => e.Kv.ModRevision));
        Assert.Equal(10, responses[onPrefix].Header.Revision);
        Assert.Equal(Enumerable.Range(1, 8).Select(r => (long)r), responses[noDelete].Events.Select(e => e.Kv.ModRevision));
        Assert.Equal(8, responses[noDelete].Header.Revision); // the last revision included
        Assert.Equal(keyRevisions, responses[withPrevKv].Events.Select(e => e.Kv.ModRevision));
        Assert.Null(responses[withPrevKv].Events[0].PrevKv);
        Assert.Equal(Enumerable.Range(1, 8).Select(r => (long)r), responses[withPrevKv].Events.Skip(1).Select(e => e.PrevKv.ModRevision));
        Assert.Equal(Event.Types.EventType.Delete, responses[withPrevKv].Events[^1].Type);

        await store.PutAsync("k", "after");
        var live = new[] { await probe.NextAsync(), await probe.NextAsync(), await probe.NextAsync(), await probe.NextAsync() };
        Assert.All(live, r => Assert.Equal(11, Assert.Single(r.Events).Kv.ModRevision));
        await probe.ExpectQuietAsync(11);
    }

    [Fact]
    public async Task Revisions_published_in_one_apply_batch_while_the_stream_runs_are_never_lost_or_split()
    {
        // Without holding the actor: how the store's Tells and the actor's marker interleave is up to the scheduler,
        // so the number of responses varies, but every revision arrives once, in order, never split.
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchPrefixAsync("k/");

        await store.WriteAsync(Enumerable.Range(1, 200).Select(i => new (string, string?)[] { ($"k/{i % 7}", "a"), ($"k/x{i % 3}", "b") }).ToList());

        var revisions = new List<long>();
        while (revisions.Count < 400)
        {
            var response = await probe.NextAsync();
            Assert.Equal(id, response.WatchId);
            Assert.Equal(0, response.Events.Count % 2); // both events of a revision, together
            Assert.Equal(response.Events[^1].Kv.ModRevision, response.Header.Revision);
            revisions.AddRange(response.Events.Select(e => e.Kv.ModRevision));
        }
        Assert.Equal(Enumerable.Range(1, 200).SelectMany(r => new long[] { r, r }), revisions);
        await probe.ExpectQuietAsync(200);
    }

    [Fact]
    public async Task A_cancel_and_a_progress_request_between_publishes_keep_their_place()
    {
        var store = StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        var a = await probe.WatchKeyAsync("k");
        var b = await probe.WatchKeyAsync("k");

        using (HoldStreams())
        {
            await store.PutAsync("k", "1");
            await probe.CancelAsync(a);
            await store.PutAsync("k", "2");
            await store.PutAsync("k", "3");
            await probe.RequestProgressAsync();
            await store.PutAsync("k", "4");
        }

        var first = new[] { await probe.NextAsync(), await probe.NextAsync() }.OrderBy(r => r.WatchId).ToArray();
        Assert.Equal(new[] { a, b }, first.Select(r => r.WatchId));
        Assert.All(first, r => Assert.Equal((1L, 1L), (r.Header.Revision, Assert.Single(r.Events).Kv.ModRevision)));

        var canceled = await probe.NextAsync();
        Assert.True(canceled.Canceled);
        Assert.Equal(a, canceled.WatchId);

        var middle = await probe.NextAsync();
        Assert.Equal((b, 3L), (middle.WatchId, middle.Header.Revision));
        Assert.Equal(new long[] { 2, 3 }, middle.Events.Select(e => e.Kv.ModRevision));

        AssertProgress(await probe.NextAsync(), 3);

        var last = await probe.NextAsync();
        Assert.Equal((b, 4L, 4L), (last.WatchId, last.Header.Revision, Assert.Single(last.Events).Kv.ModRevision));
        await probe.ExpectQuietAsync(4);
    }

    [Fact]
    public async Task The_event_cap_cuts_a_burst_at_revision_boundaries()
    {
        var store = StartStore(NoTimer with { CoalesceMaxEvents = 3 });
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchPrefixAsync("k");

        using (HoldStreams())
        {
            await store.PutAsync("k/a", "1"); // 1
            await store.PutAsync("k/a", "2"); // 2
            await store.TxnAsync(("k/a", "3"), ("k/b", "3")); // 3: would make 4 events, so 1-2 go first
            await store.PutAsync("k/a", "4"); // 4: reaches 3 events
            await store.TxnAsync(Enumerable.Range(0, 5).Select(i => ($"k/{i}", (string?)"5")).ToArray()); // 5: over the cap alone
            await store.PutAsync("k/a", "6"); // 6
            await store.PutAsync("k/a", "7"); // 7
        }

        var expected = new[]
        {
            (Header: 2L, Revisions: new long[] { 1, 2 }),
            (Header: 4L, Revisions: new long[] { 3, 3, 4 }),
            (Header: 5L, Revisions: new long[] { 5, 5, 5, 5, 5 }),
            (Header: 7L, Revisions: new long[] { 6, 7 }),
        };
        foreach (var (header, revisions) in expected)
        {
            var response = await probe.NextAsync();
            Assert.Equal((id, header), (response.WatchId, response.Header.Revision));
            Assert.Equal(revisions, response.Events.Select(e => e.Kv.ModRevision));
        }
        await probe.ExpectQuietAsync(7);
    }

    [Fact]
    public async Task The_byte_cap_cuts_a_burst_at_revision_boundaries()
    {
        // each event is about 115 bytes encoded: two fit under 250 bytes, three do not
        var store = StartStore(NoTimer with { CoalesceMaxBytes = 250 }, new FakeStoreSettings(PublishPrevKv: false));
        await using var probe = await OpenStreamAsync();
        var id = await probe.WatchKeyAsync("k");

        using (HoldStreams())
        {
            for (var i = 1; i <= 6; i++)
            {
                await store.PutAsync("k", new string('v', 100));
            }
        }

        for (var first = 1L; first <= 6; first += 2)
        {
            var response = await probe.NextAsync();
            Assert.Equal((id, first + 1), (response.WatchId, response.Header.Revision));
            Assert.Equal(new[] { first, first + 1 }, response.Events.Select(e => e.Kv.ModRevision));
            Assert.True(response.CalculateSize() < 300);
        }
        await probe.ExpectQuietAsync(6);
    }

    [Fact]
    public async Task Watchers_whose_coalesced_response_does_not_fit_catch_up_without_gaps_or_duplicates()
    {
        var store = StartStore(NoTimer with { OutboxCapacity = 2, CoalesceMaxEvents = 2 });
        await using var probe = await OpenStreamAsync();
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await probe.WatchKeyAsync("k"));
        }

        using (HoldStreams())
        {
            for (var i = 1; i <= 9; i++)
            {
                await store.PutAsync("k", $"{i}");
            }
        }

        var next = ids.ToDictionary(id => id, _ => 1L);
        while (next.Values.Any(r => r <= 9))
        {
            var response = await probe.NextAsync();
            Assert.NotEmpty(response.Events);
            foreach (var ev in response.Events)
            {
                Assert.Equal(next[response.WatchId]++, ev.Kv.ModRevision);
            }
            Assert.Equal(response.Events[^1].Kv.ModRevision, response.Header.Revision);
        }
        Assert.NotEmpty(await store.ReadsAsync()); // a 2-response outbox cannot take 4 watchers' responses: victims caught up
        await probe.ExpectQuietAsync(9);
    }
}
