using System.Buffers.Binary;
using System.Diagnostics;
using Akka.Etcd.Benchmark.Cli;
using Akka.Etcd.Benchmark.Connections;
using Akka.Etcd.Benchmark.Reporting;
using Akka.Etcd.Benchmark.Running;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Akka.Etcd.Benchmark.Workloads;

/// <summary>
/// <c>watch</c>: opens <c>--streams</c> Watch streams carrying <c>--watchers</c> watchers in total (watcher w on
/// stream w % streams, key w % watched-key-total, keys <c>/bench/watch/K</c>), waits until every watcher is created,
/// then issues <c>--put-total</c> puts round-robin over the watched keys (over <c>--clients</c>, optionally at
/// <c>--rate</c>). Every put carries its send time (Stopwatch ticks, little-endian, first 8 bytes of the value), so
/// each delivered event yields one put-to-event latency sample; throughput is events delivered per second from the
/// first put to the last event. Events missing 30 s after the last put are counted as errors.
/// </summary>
internal sealed class WatchWorkload : IWorkload
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(30);

    private readonly int _watchers;
    private readonly int _streams;
    private readonly int _keyTotal;
    private readonly long _putTotal;
    private readonly int _valSize;
    private readonly double _rate;

    private WatchWorkload(int watchers, int streams, int keyTotal, long putTotal, int valSize, double rate)
    {
        _watchers = watchers;
        _streams = streams;
        _keyTotal = keyTotal;
        _putTotal = putTotal;
        _valSize = valSize;
        _rate = rate;
    }

    /// <summary>Reads the watch flags.</summary>
    public static WatchWorkload From(CommandLine line)
    {
        var watchers = line.Int("watchers", 100, min: 1);
        var streams = Math.Min(watchers, line.Int("streams", 10, min: 1));
        var keys = Math.Min(watchers, line.Int("watched-key-total", 1, min: 1));
        return new WatchWorkload(watchers, streams, keys, line.Long("put-total", 100, min: 1), line.Int("val-size", 32, min: 8),
            line.Double("rate", 0));
    }

    /// <inheritdoc />
    public async Task<BenchmarkReport> RunAsync(GlobalSettings settings, ConnectionPool pool, CancellationToken cancellationToken)
    {
        var keys = Enumerable.Range(0, _keyTotal).Select(k => ByteString.CopyFromUtf8($"/bench/watch/{k}")).ToArray();
        var watchersPerKey = new long[_keyTotal];
        for (var w = 0; w < _watchers; w++)
            watchersPerKey[w % _keyTotal]++;
        long expected = 0;
        for (long p = 0; p < _putTotal; p++)
            expected += watchersPerKey[p % _keyTotal];

        var events = new LatencyRecorder(expected);
        var putRecorder = new LatencyRecorder(_putTotal);
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var createdCount = 0;
        long received = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        var calls = new AsyncDuplexStreamingCall<WatchRequest, WatchResponse>[_streams];
        var readers = new Task[_streams];
        try
        {
            for (var s = 0; s < _streams; s++)
            {
                var call = calls[s] = pool.Client(s).Watch.Watch(cancellationToken: stop.Token);
                readers[s] = Task.Run(async () =>
                {
                    try
                    {
                        while (await call.ResponseStream.MoveNext().ConfigureAwait(false))
                        {
                            var response = call.ResponseStream.Current;
                            if (response.Created && Interlocked.Increment(ref createdCount) == _watchers)
                                created.TrySetResult();
                            if (response.Canceled)
                                throw new InvalidOperationException("watch canceled by the server: " + response.CancelReason);
                            if (response.Events.Count == 0)
                                continue;
                            var now = Stopwatch.GetTimestamp();
                            foreach (var e in response.Events)
                                events.RecordSuccess(BinaryPrimitives.ReadInt64LittleEndian(e.Kv.Value.Span), now);
                            if (Interlocked.Add(ref received, response.Events.Count) >= expected)
                                delivered.TrySetResult();
                        }
                    }
                    catch (Exception e)
                    {
                        // After the run, disposing the streams ends the readers; only earlier failures matter.
                        if (!stop.IsCancellationRequested)
                        {
                            created.TrySetException(e);
                            delivered.TrySetException(e);
                        }
                    }
                }, CancellationToken.None);
            }

            for (var w = 0; w < _watchers; w++)
            {
                var create = new WatchRequest { CreateRequest = new WatchCreateRequest { Key = keys[w % _keyTotal] } };
                await calls[w % _streams].RequestStream.WriteAsync(create, cancellationToken).ConfigureAwait(false);
            }

            await created.Task.WaitAsync(DeliveryTimeout, cancellationToken).ConfigureAwait(false);

            var workers = new Operation[pool.ClientCount];
            for (var w = 0; w < workers.Length; w++)
            {
                var client = pool.Client(w);
                var value = new byte[_valSize];
                Workload.RandomBytes(_valSize).CopyTo(value, 0);
                var request = new PutRequest { Value = UnsafeByteOperations.UnsafeWrap(value) };
                workers[w] = (sequence, ct) =>
                {
                    request.Key = keys[sequence % _keyTotal];
                    BinaryPrimitives.WriteInt64LittleEndian(value, Stopwatch.GetTimestamp());
                    return client.Kv.PutAsync(request, cancellationToken: ct).ResponseAsync;
                };
            }

            var puts = Task.Run(async () =>
            {
                await LoadRunner.RunAsync(workers, _putTotal, new RatePacer(_rate), putRecorder, cancellationToken).ConfigureAwait(false);
                try
                {
                    await delivered.Task.WaitAsync(DeliveryTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    events.RecordErrors($"watch events not delivered within {DeliveryTimeout.TotalSeconds:0} s of the last put",
                        (int)(expected - Interlocked.Read(ref received)));
                }
            }, CancellationToken.None);
            await ProgressDisplay.RunAsync("watch events", expected, () => events.Completed, puts, settings.Progress).ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            foreach (var call in calls)
                call?.Dispose();
            await Task.WhenAll(readers.Where(r => r is not null)).ConfigureAwait(false);
        }

        var (latencies, errors, span) = events.Snapshot();
        var (putLatencies, putErrors, putSpan) = putRecorder.Snapshot();
        var allErrors = new Dictionary<string, int>(errors, StringComparer.Ordinal);
        foreach (var (text, count) in putErrors)
            allErrors["put: " + text] = count;
        var extra = new Dictionary<string, double>
        {
            ["watchers"] = _watchers,
            ["streams"] = _streams,
            ["puts"] = putLatencies.Length,
            ["putsPerSec"] = putSpan > 0 ? putLatencies.Length / putSpan : 0,
            ["expectedEvents"] = expected,
        };
        return BenchmarkReport.From("watch", "Events", span, latencies, allErrors, extra);
    }
}
