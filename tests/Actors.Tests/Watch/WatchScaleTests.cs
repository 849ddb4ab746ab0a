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
public class WatchScaleTests : WatchSpec
{
    private readonly ITestOutputHelper _output;

    public WatchScaleTests(ITestOutputHelper output)
        : base(output)
    {
        _output = output;
    }

    [Fact]
    public async Task Ten_thousand_watchers_on_one_stream_cost_little_memory_and_only_matches_get_events()
    {
        const int keyWatchers = 9_000;
        const int prefixWatchers = 1_000;
        var store = StartStore(NoTimer with { OutboxCapacity = 16_384 });
        await using var probe = await OpenStreamAsync();
        var requests = Enumerable.Range(0, keyWatchers)
            .Select(i => new WatchCreateRequest { Key = Bytes($"key/{i:D5}") })
            .Concat(Enumerable.Range(0, prefixWatchers).Select(i => new WatchCreateRequest { Key = Bytes($"dir/{i:D4}/"), RangeEnd = PrefixEnd($"dir/{i:D4}/") }))
            .ToList();
        await probe.ExpectQuietAsync(0); // warm up the stream before measuring

        var before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var request in requests)
        {
            await probe.SendAsync(request);
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

        var revision = await store.TxnAsync(("key/05000", "v"), ("dir/0042/x", "v"), ("nobody", "v"));
        var seen = await probe.ReadUntilQuietAsync(revision);
        Assert.Equal(new[] { 5000L, keyWatchers + 42L }, seen.Keys.Order());

        var timer = System.Diagnostics.Stopwatch.StartNew();
        var last = await store.WriteAsync(Enumerable.Range(0, 1_000).Select(i => new (string, string?)[] { ($"nobody/{i}", "v") }).ToList());
        await probe.ExpectQuietAsync(last);
        _output.WriteLine($"1000 unmatched revisions against {requests.Count} watchers: {timer.ElapsedMilliseconds} ms");
        GC.KeepAlive(requests);
    }

    [Fact]
    public async Task A_hundred_thousand_watchers_over_a_hundred_streams_get_only_their_events()
    {
        const int streams = 100;
        const int watchersPerStream = 1_000;
        var store = StartStore(NoTimer with { OutboxCapacity = 2_048 });
        var probes = new List<StreamProbe>();
        for (var s = 0; s < streams; s++)
        {
            probes.Add(await OpenStreamAsync());
        }
        try
        {
            var timer = System.Diagnostics.Stopwatch.StartNew();
            foreach (var (probe, s) in probes.Select((p, s) => (p, s)))
            {
                for (var w = 0; w < watchersPerStream; w++)
                {
                    await probe.SendAsync(new WatchCreateRequest { Key = Bytes($"s{s:D3}/w{w:D4}") });
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
            await store.WriteAsync(Enumerable.Range(0, 1_000).Select(i => new (string, string?)[] { ($"nobody/{i}", "v") }).ToList());
            var hit = await store.TxnAsync(("s007/w0123", "v"), ("s099/w0999", "v"));
            foreach (var (probe, s) in probes.Select((p, s) => (p, s)))
            {
                var seen = await probe.ReadUntilQuietAsync(hit);
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
        await AwaitAssertAsync(async () => Assert.Equal(0, (await store.StateAsync()).Streams), Deadline);
    }
}
