namespace Akka.Etcd.Api.Metrics;

/// <summary>
/// Counts of this member's unary gRPC calls (JSON gateway calls included) and their latencies in fixed buckets, kept
/// next to the Prometheus histogram so that the dashboard can read bucket counts (prometheus-net does not expose them)
/// and compute rates and percentiles from the difference between two reads, as Prometheus' <c>histogram_quantile</c>
/// over a <c>rate</c> does. Fed by <see cref="GrpcMetricsInterceptor"/>; lock-free, process-wide.
/// </summary>
public static class RequestLatencyStats
{
    /// <summary>Upper bounds of the buckets in seconds (the last bucket, past 10 s, is unbounded).</summary>
    public static readonly IReadOnlyList<double> UpperBounds =
        [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 5, 10];

    private static readonly long[] Buckets = new long[16];
    private static long _total;
    private static long _failed;

    /// <summary>Records one completed unary call of <paramref name="seconds"/>; <paramref name="failed"/> when its status was not OK.</summary>
    public static void Record(double seconds, bool failed)
    {
        var bucket = 0;
        while (bucket < UpperBounds.Count && seconds > UpperBounds[bucket])
            bucket++;
        Interlocked.Increment(ref Buckets[bucket]);
        Interlocked.Increment(ref _total);
        if (failed)
            Interlocked.Increment(ref _failed);
    }

    /// <summary>The counts so far: calls, failed calls, and calls per bucket (not cumulative; one more than <see cref="UpperBounds"/>).</summary>
    public static (long Total, long Failed, long[] Buckets) Read()
    {
        var buckets = new long[Buckets.Length];
        for (var i = 0; i < buckets.Length; i++)
            buckets[i] = Interlocked.Read(ref Buckets[i]);
        return (Interlocked.Read(ref _total), Interlocked.Read(ref _failed), buckets);
    }
}
