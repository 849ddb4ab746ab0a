using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;

namespace Akka.Etcd.Benchmark.Reporting;

/// <summary>
/// Collects one latency sample per completed operation into a pre-sized array (no allocation per sample) and
/// counts errors by their text. Thread-safe: any number of workers record concurrently. Samples beyond the
/// capacity are counted but not kept.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly long[] _samples;
    private readonly ConcurrentDictionary<string, int> _errors = new(StringComparer.Ordinal);
    private int _recorded;
    private long _completed;
    private long _firstStart = long.MaxValue;
    private long _lastEnd;

    /// <summary>Creates a recorder for up to <paramref name="capacity"/> samples.</summary>
    public LatencyRecorder(long capacity) => _samples = new long[Math.Max(0, capacity)];

    /// <summary>Operations finished so far, successful or not (for the progress bar).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Successful samples recorded (at most the capacity).</summary>
    public int Recorded => Math.Min(Volatile.Read(ref _recorded), _samples.Length);

    /// <summary>Records a success that started at <paramref name="startTimestamp"/> (<see cref="Stopwatch"/> ticks) and ended now.</summary>
    public void RecordSuccess(long startTimestamp) => RecordSuccess(startTimestamp, Stopwatch.GetTimestamp());

    /// <summary>Records a success from <paramref name="startTimestamp"/> to <paramref name="endTimestamp"/> (<see cref="Stopwatch"/> ticks).</summary>
    public void RecordSuccess(long startTimestamp, long endTimestamp)
    {
        var slot = Interlocked.Increment(ref _recorded) - 1;
        if (slot < _samples.Length)
            _samples[slot] = endTimestamp - startTimestamp;
        Span(startTimestamp, endTimestamp);
        Interlocked.Increment(ref _completed);
    }

    /// <summary>Counts a failed operation under its error text (gRPC style: "rpc error: code = X desc = Y").</summary>
    public void RecordError(Exception error)
    {
        var text = error is RpcException e ? $"rpc error: code = {e.StatusCode} desc = {e.Status.Detail}" : error.Message;
        _errors.AddOrUpdate(text, 1, static (_, n) => n + 1);
        Interlocked.Increment(ref _completed);
    }

    /// <summary>Counts <paramref name="count"/> failures under <paramref name="text"/> (e.g. events never received).</summary>
    public void RecordErrors(string text, int count)
    {
        if (count <= 0)
            return;
        _errors.AddOrUpdate(text, count, (_, n) => n + count);
        Interlocked.Add(ref _completed, count);
    }

    /// <summary>
    /// The recorded latencies in seconds (unsorted copy), the error counts, and the wall-clock span from the first
    /// recorded start to the last recorded end, in seconds. Call once all workers are done.
    /// </summary>
    public (double[] LatenciesSeconds, IReadOnlyDictionary<string, int> Errors, double SpanSeconds) Snapshot()
    {
        var count = Recorded;
        var seconds = new double[count];
        for (var i = 0; i < count; i++)
            seconds[i] = (double)_samples[i] / Stopwatch.Frequency;
        var span = _lastEnd > _firstStart ? (double)(_lastEnd - _firstStart) / Stopwatch.Frequency : 0;
        return (seconds, new Dictionary<string, int>(_errors, StringComparer.Ordinal), span);
    }

    private void Span(long start, long end)
    {
        long seen;
        while (start < (seen = Volatile.Read(ref _firstStart)) && Interlocked.CompareExchange(ref _firstStart, start, seen) != seen)
        {
        }

        while (end > (seen = Volatile.Read(ref _lastEnd)) && Interlocked.CompareExchange(ref _lastEnd, end, seen) != seen)
        {
        }
    }
}
