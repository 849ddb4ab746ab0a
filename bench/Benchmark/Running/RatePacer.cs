using System.Diagnostics;

namespace Akka.Etcd.Benchmark.Running;

/// <summary>
/// Paces operations to a total rate (operations/s over all workers, as etcd benchmark's <c>--rate</c>): operation n
/// may start at start + n / rate. Open-loop: a slow server makes later operations start late, not fewer of them.
/// Thread-safe; 0 means unlimited.
/// </summary>
internal sealed class RatePacer
{
    private readonly double _rate;
    private long _start;

    /// <summary>Creates a pacer for <paramref name="rate"/> operations per second (0 = no limit).</summary>
    public RatePacer(double rate) => _rate = rate;

    /// <summary>Marks time zero; call once just before the workers start.</summary>
    public void Start() => _start = Stopwatch.GetTimestamp();

    /// <summary>Completes when operation <paramref name="sequence"/> (0-based) is due.</summary>
    public ValueTask WaitAsync(long sequence, CancellationToken cancellationToken)
    {
        if (_rate <= 0)
            return ValueTask.CompletedTask;
        var due = _start + (long)(sequence / _rate * Stopwatch.Frequency);
        var wait = due - Stopwatch.GetTimestamp();
        return wait <= 0
            ? ValueTask.CompletedTask
            : new ValueTask(Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken));
    }
}
