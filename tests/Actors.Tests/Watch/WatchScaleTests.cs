using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Xunit.Abstractions;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

/// <summary>
/// Runs alone (no other test class in parallel): the memory figure is read from the whole process heap, which
/// concurrent tests would inflate.
/// </summary>
[CollectionDefinition(nameof(WatchScaleTests), DisableParallelization = true)]
public sealed class WatchScaleCollection
{
}

[Collection(nameof(WatchScaleTests))]
public class WatchScaleTests
{
    private readonly ITestOutputHelper _output;

    public WatchScaleTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task Ten_thousand_watchers_on_one_stream_cost_little_memory_and_only_matches_get_events()
    {
        const int keyWatchers = 9_000;
        const int prefixWatchers = 1_000;
        var store = new FakeStore(new WatchStreamOptions { ProgressNotifyInterval = Timeout.InfiniteTimeSpan, OutboxCapacity = 16_384 });
        await using var probe = new StreamProbe(store.Hub);
        var requests = Enumerable.Range(0, keyWatchers)
            .Select(i => new WatchCreateRequest { Key = Bytes($"key/{i:D5}") })
            .Concat(Enumerable.Range(0, prefixWatchers).Select(i => new WatchCreateRequest { Key = Bytes($"dir/{i:D4}/"), RangeEnd = PrefixEnd($"dir/{i:D4}/") }))
            .ToList();
        await probe.ExpectQuietAsync(0); // warm up the stream before measuring

        var before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var request in requests)
        {
            probe.Send(request);
        }
        for (var i = 0; i < requests.Count; i++)
        {
            var created = await probe.NextAsync();
            Assert.True(created.Created && !created.Canceled);
            Assert.Equal(i, created.WatchId);
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var perWatcher = (after - before) / (double)requests.Count;
        _output.WriteLine($"{requests.Count} watchers on one stream: {after - before} bytes, {perWatcher:F0} bytes per watcher (requests included)");
        Assert.InRange(perWatcher, 0, 4096);

        var revision = store.Txn(("key/05000", "v"), ("dir/0042/x", "v"), ("nobody", "v"));
        var seen = await WatcherActorTests.ReadUntilQuietAsync(probe, revision);
        Assert.Equal(new[] { 5000L, keyWatchers + 42L }, seen.Keys.Order());

        var timer = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 1_000; i++)
        {
            store.Put($"nobody/{i}", "v");
        }
        await probe.ExpectQuietAsync(store.Revision);
        _output.WriteLine($"1000 unmatched revisions against {requests.Count} watchers: {timer.ElapsedMilliseconds} ms");
        GC.KeepAlive(requests);
    }

    [Fact]
    public async Task A_hundred_thousand_watchers_over_a_hundred_streams_get_only_their_events()
    {
        const int streams = 100;
        const int watchersPerStream = 1_000;
        var store = new FakeStore(new WatchStreamOptions { ProgressNotifyInterval = Timeout.InfiniteTimeSpan, OutboxCapacity = 2_048 });
        var probes = Enumerable.Range(0, streams).Select(_ => new StreamProbe(store.Hub)).ToList();
        try
        {
            var timer = System.Diagnostics.Stopwatch.StartNew();
            foreach (var (probe, s) in probes.Select((p, s) => (p, s)))
            {
                for (var w = 0; w < watchersPerStream; w++)
                {
                    probe.Send(new WatchCreateRequest { Key = Bytes($"s{s:D3}/w{w:D4}") });
                }
            }
            foreach (var probe in probes)
            {
                for (var w = 0; w < watchersPerStream; w++)
                {
                    Assert.True((await probe.NextAsync()).Created);
                }
            }
            _output.WriteLine($"{streams * watchersPerStream} watchers created in {timer.ElapsedMilliseconds} ms");

            timer.Restart();
            for (var i = 0; i < 1_000; i++)
            {
                store.Put($"nobody/{i}", "v");
            }
            var hit = store.Txn(("s007/w0123", "v"), ("s099/w0999", "v"));
            foreach (var (probe, s) in probes.Select((p, s) => (p, s)))
            {
                var seen = await WatcherActorTests.ReadUntilQuietAsync(probe, hit);
                var expected = s switch { 7 => new[] { 123L }, 99 => new[] { 999L }, _ => Array.Empty<long>() };
                Assert.Equal(expected, seen.Keys.ToArray());
            }
            _output.WriteLine($"1001 revisions fanned out to {streams} streams / {streams * watchersPerStream} watchers in {timer.ElapsedMilliseconds} ms");
        }
        finally
        {
            foreach (var probe in probes)
            {
                await probe.DisposeAsync();
            }
        }
        Assert.Equal(0, store.Hub.StreamCount);
    }
}
