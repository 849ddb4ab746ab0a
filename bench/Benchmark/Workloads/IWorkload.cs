using Akka.Etcd.Benchmark.Cli;
using Akka.Etcd.Benchmark.Connections;
using Akka.Etcd.Benchmark.Reporting;
using Akka.Etcd.Benchmark.Running;

namespace Akka.Etcd.Benchmark.Workloads;

/// <summary>A benchmark command with its flags already read; run once.</summary>
internal interface IWorkload
{
    /// <summary>Runs against the pool's (warmed-up) connections and returns the report.</summary>
    Task<BenchmarkReport> RunAsync(GlobalSettings settings, ConnectionPool pool, CancellationToken cancellationToken);
}

/// <summary>Picks the workload for a command and runs closed-loop request workloads with progress.</summary>
internal static class Workload
{
    /// <summary>The commands and their one-line help.</summary>
    public static readonly IReadOnlyList<(string Name, string Help)> Commands =
    [
        ("put", "put [--key-size=8] [--val-size=8] [--total=10000] [--sequential-keys] [--key-space-size=1] [--rate=0]"),
        ("range", "range KEY [END] [--consistency=l|s] [--total=10000] [--rate=0]"),
        ("txn-put", "txn-put [--txn-ops=1] [--key-size=8] [--val-size=8] [--key-space-size=1] [--total=10000] [--rate=0]"),
        ("watch", "watch [--watchers=100] [--streams=10] [--watched-key-total=1] [--put-total=100] [--val-size=32] [--rate=0]"),
        ("lease-keepalive", "lease-keepalive [--total=10000] [--rate=0]"),
    ];

    /// <summary>Reads the command's flags (positional[0] is the command) and returns the workload.</summary>
    /// <exception cref="ArgumentException">Unknown command or bad flags.</exception>
    public static IWorkload Create(CommandLine line) => line.Positional[0] switch
    {
        "put" => PutWorkload.From(line),
        "range" => RangeWorkload.From(line),
        "txn-put" => TxnPutWorkload.From(line),
        "watch" => WatchWorkload.From(line),
        "lease-keepalive" => LeaseKeepaliveWorkload.From(line),
        var other => throw new ArgumentException($"unknown command \"{other}\""),
    };

    /// <summary>Runs <paramref name="workers"/> for <paramref name="total"/> requests at <paramref name="rate"/> with a progress bar.</summary>
    public static async Task<BenchmarkReport> MeasureAsync(string command, GlobalSettings settings, IReadOnlyList<Operation> workers,
        long total, double rate, CancellationToken cancellationToken, IReadOnlyDictionary<string, double>? extra = null)
    {
        var recorder = new LatencyRecorder(total);
        var run = LoadRunner.RunAsync(workers, total, new RatePacer(rate), recorder, cancellationToken);
        await ProgressDisplay.RunAsync(command, total, () => recorder.Completed, run, settings.Progress).ConfigureAwait(false);
        var seconds = await run.ConfigureAwait(false);
        var (latencies, errors, _) = recorder.Snapshot();
        return BenchmarkReport.From(command, "Requests", seconds, latencies, errors, extra);
    }

    /// <summary>etcd's mustRandBytes: <paramref name="size"/> pseudo-random bytes (fixed seed, so runs are comparable).</summary>
    public static byte[] RandomBytes(int size, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
