using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Mvccpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

/// <summary>
/// Revisions published in one mailbox burst reach each watcher as one response (etcd's catch-up batching).
/// Each test holds the actor on a closed <see cref="FakeStore.HeaderGate"/> while it queues the burst.
/// </summary>
public class WatchCoalescingTests
{
    private static readonly WatchStreamOptions NoTimer = new() { ProgressNotifyInterval = Timeout.InfiniteTimeSpan };

    /// <summary>Closes the header gate and queues a progress request the actor then blocks on; returns the gate.</summary>
    private static ManualResetEventSlim HoldActor(FakeStore store, StreamProbe probe)
    {
        var gate = new ManualResetEventSlim(false);
        store.HeaderGate = gate;
        probe.RequestProgress();
        return gate;
    }

    [Fact]
    public async Task A_burst_of_revisions_reaches_each_watcher_as_one_response_in_order()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var onKey = await probe.WatchKeyAsync("k");
        var onPrefix = await probe.WatchPrefixAsync("k");
        var noDelete = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("k"), Filters = { WatchCreateRequest.Types.FilterType.Nodelete } });
        var withPrevKv = await probe.WatchAsync(new WatchCreateRequest { Key = Bytes("k"), PrevKv = true });

        using var gate = HoldActor(store, probe);
        for (var i = 1; i <= 8; i++)
        {
            store.Put("k", $"v{i}");
        }
        store.Put("k2", "other"); // 9
        store.Delete("k"); // 10
        gate.Set();

        AssertProgress(await probe.NextAsync(), 0);
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

        store.Put("k", "after");
        var live = new[] { await probe.NextAsync(), await probe.NextAsync(), await probe.NextAsync(), await probe.NextAsync() };
        Assert.All(live, r => Assert.Equal(11, Assert.Single(r.Events).Kv.ModRevision));
        await probe.ExpectQuietAsync(11);
    }

    [Fact]
    public async Task A_cancel_and_a_progress_request_between_publishes_keep_their_place()
    {
        var store = new FakeStore(NoTimer);
        await using var probe = new StreamProbe(store.Hub);
        var a = await probe.WatchKeyAsync("k");
        var b = await probe.WatchKeyAsync("k");

        using var gate = HoldActor(store, probe);
        store.Put("k", "1");
        probe.Cancel(a);
        store.Put("k", "2");
        store.Put("k", "3");
        probe.RequestProgress();
        store.Put("k", "4");
        gate.Set();

        AssertProgress(await probe.NextAsync(), 0);
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
        var store = new FakeStore(NoTimer with { CoalesceMaxEvents = 3 });
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchPrefixAsync("k");

        using var gate = HoldActor(store, probe);
        store.Put("k/a", "1"); // 1
        store.Put("k/a", "2"); // 2
        store.Txn(("k/a", "3"), ("k/b", "3")); // 3: would make 4 events, so 1-2 go first
        store.Put("k/a", "4"); // 4: reaches 3 events
        store.Txn(Enumerable.Range(0, 5).Select(i => ($"k/{i}", (string?)"5")).ToArray()); // 5: over the cap alone
        store.Put("k/a", "6"); // 6
        store.Put("k/a", "7"); // 7
        gate.Set();

        AssertProgress(await probe.NextAsync(), 0);
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
        var store = new FakeStore(NoTimer with { CoalesceMaxBytes = 250 }) { PublishPrevKv = false };
        await using var probe = new StreamProbe(store.Hub);
        var id = await probe.WatchKeyAsync("k");

        using var gate = HoldActor(store, probe);
        for (var i = 1; i <= 6; i++)
        {
            store.Put("k", new string('v', 100));
        }
        gate.Set();

        AssertProgress(await probe.NextAsync(), 0);
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
        var store = new FakeStore(NoTimer with { OutboxCapacity = 2, CoalesceMaxEvents = 2 });
        await using var probe = new StreamProbe(store.Hub);
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await probe.WatchKeyAsync("k"));
        }

        using var gate = HoldActor(store, probe);
        for (var i = 1; i <= 9; i++)
        {
            store.Put("k", $"{i}");
        }
        gate.Set();

        AssertProgress(await probe.NextAsync(), 0);
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
        Assert.NotEmpty(store.Reads); // a 2-response outbox cannot take 4 watchers' responses: victims caught up
        await probe.ExpectQuietAsync(9);
    }
}
