using System.Diagnostics;
using Akka.Etcd.Benchmark.Reporting;

namespace Akka.Etcd.Benchmark.Running;

/// <summary>
/// One operation of a worker: runs request number <c>sequence</c> (0-based over the whole run). A worker's
/// operation is never called concurrently with itself, so it may reuse its own pre-built request.
/// </summary>
internal delegate Task Operation(long sequence, CancellationToken cancellationToken);

/// <summary>
/// Runs <c>total</c> operations over a fixed set of workers (closed loop: each worker issues its next operation when
/// the previous one completes), optionally paced by a <see cref="RatePacer"/>, timing each one into a
/// <see cref="LatencyRecorder"/>. Errors are counted, not thrown. Async all the way: a worker never blocks a thread.
/// </summary>
internal static class LoadRunner
{
    /// <summary>
    /// Runs the load and returns the wall-clock seconds from the first start to the last completion. The caller
    /// shows progress by polling <paramref name="recorder"/>.
    /// </summary>
    public static async Task<double> RunAsync(IReadOnlyList<Operation> workers, long total, RatePacer pacer, LatencyRecorder recorder,
        CancellationToken cancellationToken)
    {
        long next = -1;
        pacer.Start();
        var started = Stopwatch.GetTimestamp();
        var tasks = new Task[workers.Count];
        for (var w = 0; w < workers.Count; w++)
        {
            var operation = workers[w];
            tasks[w] = Task.Run(async () =>
            {
                while (true)
                {
                    var sequence = Interlocked.Increment(ref next);
                    if (sequence >= total)
                        return;
                    await pacer.WaitAsync(sequence, cancellationToken).ConfigureAwait(false);
                    var start = Stopwatch.GetTimestamp();
                    try
                    {
                        await operation(sequence, cancellationToken).ConfigureAwait(false);
                        recorder.RecordSuccess(start);
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                    {
                        recorder.RecordError(e);
                    }
                }
            }, cancellationToken);
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }
}
