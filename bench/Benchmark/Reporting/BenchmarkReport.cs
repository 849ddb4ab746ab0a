namespace Akka.Etcd.Benchmark.Reporting;

/// <summary>
/// The statistics of one run, computed as etcd's pkg/report does: latencies sorted ascending, population standard
/// deviation, percentiles taken at the first sample whose rank reaches p% (10, 25, 50, 75, 90, 95, 99, 99.9), an
/// 11-mark histogram from fastest to slowest. All times in seconds; throughput in <see cref="Unit"/> per second.
/// Immutable.
/// </summary>
internal sealed class BenchmarkReport
{
    /// <summary>The percentiles reported, as in etcd's report.</summary>
    public static readonly double[] Percentiles = [10, 25, 50, 75, 90, 95, 99, 99.9];

    private BenchmarkReport(string command, string unit, double totalSeconds, double[] sorted, IReadOnlyDictionary<string, int> errors,
        IReadOnlyDictionary<string, double> extra)
    {
        Command = command;
        Unit = unit;
        TotalSeconds = totalSeconds;
        Latencies = sorted;
        Errors = errors;
        Extra = extra;
        if (sorted.Length > 0)
        {
            Fastest = sorted[0];
            Slowest = sorted[^1];
            Average = sorted.Average();
            var variance = 0.0;
            foreach (var l in sorted)
                variance += (l - Average) * (l - Average);
            Stddev = Math.Sqrt(variance / sorted.Length);
        }

        Throughput = totalSeconds > 0 ? sorted.Length / totalSeconds : 0;
        PercentileValues = ComputePercentiles(sorted);
    }

    /// <summary>The command measured (put, range, ...).</summary>
    public string Command { get; }

    /// <summary>What one sample is: "Requests" or "Events".</summary>
    public string Unit { get; }

    /// <summary>Wall-clock seconds of the measured phase.</summary>
    public double TotalSeconds { get; }

    /// <summary>Successful samples, sorted ascending, in seconds.</summary>
    public double[] Latencies { get; }

    /// <summary>Error text to count.</summary>
    public IReadOnlyDictionary<string, int> Errors { get; }

    /// <summary>Command-specific figures (e.g. watchers, puts) for the JSON and text outputs.</summary>
    public IReadOnlyDictionary<string, double> Extra { get; }

    /// <summary>Fastest sample, seconds.</summary>
    public double Fastest { get; }

    /// <summary>Slowest sample, seconds.</summary>
    public double Slowest { get; }

    /// <summary>Mean sample, seconds.</summary>
    public double Average { get; }

    /// <summary>Population standard deviation, seconds.</summary>
    public double Stddev { get; }

    /// <summary>Successful samples per second of <see cref="TotalSeconds"/>.</summary>
    public double Throughput { get; }

    /// <summary>Latency at each of <see cref="Percentiles"/>, seconds (0 when there are no samples).</summary>
    public double[] PercentileValues { get; }

    /// <summary>Builds the report from a recorder snapshot; sorts the latencies in place.</summary>
    public static BenchmarkReport From(string command, string unit, double totalSeconds, double[] latencies,
        IReadOnlyDictionary<string, int> errors, IReadOnlyDictionary<string, double>? extra = null)
    {
        Array.Sort(latencies);
        return new BenchmarkReport(command, unit, totalSeconds, latencies, errors, extra ?? new Dictionary<string, double>());
    }

    /// <summary>The histogram: 11 marks from fastest to slowest (seconds) with the count of samples at or below each mark.</summary>
    public (double Mark, int Count)[] Histogram()
    {
        const int buckets = 10;
        var marks = new double[buckets + 1];
        var counts = new int[buckets + 1];
        var width = (Slowest - Fastest) / buckets;
        for (var i = 0; i < buckets; i++)
            marks[i] = Fastest + width * i;
        marks[buckets] = Slowest;
        var b = 0;
        foreach (var l in Latencies)
        {
            while (l > marks[b] && b < buckets)
                b++;
            counts[b]++;
        }

        return marks.Zip(counts).ToArray();
    }

    private static double[] ComputePercentiles(double[] sorted)
    {
        var values = new double[Percentiles.Length];
        var j = 0;
        for (var i = 0; i < sorted.Length && j < Percentiles.Length; i++)
        {
            var rank = i * 100.0 / sorted.Length;
            // One sample can satisfy several percentiles when there are few samples.
            while (j < Percentiles.Length && rank >= Percentiles[j])
                values[j++] = sorted[i];
        }

        for (; j < Percentiles.Length && sorted.Length > 0; j++)
            values[j] = sorted[^1];
        return values;
    }
}
