using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;

namespace Akka.Etcd.SnapshotPause;

/// <summary>
/// Measures what a Maintenance.Snapshot does to writes: paced writers put 256-byte values while one snapshot is read
/// (and discarded, so the client's disk stays out of the measurement); put latencies are reported per phase: before,
/// while the server prepares the image (until the first chunk arrives), while it streams, after. Works against etcd
/// 3.4 and ours alike.
/// usage: akka-etcd-snapshot-pause URL [--writers=4] [--interval-ms=5] [--before-s=5] [--after-s=5]
/// </summary>
public static class Program
{
    /// <summary>Runs one measurement; returns 0, or 2 for bad arguments.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || !Uri.TryCreate(args[0], UriKind.Absolute, out var endpoint))
        {
            Console.Error.WriteLine("usage: akka-etcd-snapshot-pause URL [--writers=4] [--interval-ms=5] [--before-s=5] [--after-s=5]");
            return 2;
        }
        int Flag(string name, int fallback) =>
            args.Skip(1).Where(a => a.StartsWith($"--{name}=", StringComparison.Ordinal))
                .Select(a => int.Parse(a[(name.Length + 3)..], CultureInfo.InvariantCulture)).DefaultIfEmpty(fallback).Last();
        var writers = Flag("writers", 4);
        var interval = Flag("interval-ms", 5);
        using var channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        var clock = Stopwatch.StartNew();
        var samples = new ConcurrentBag<(double At, double Ms)>();
        using var stop = new CancellationTokenSource();
        var value = ByteString.CopyFrom(new byte[256]);

        async Task WriteAsync(int writer)
        {
            var client = new KV.KVClient(channel);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var start = clock.Elapsed.TotalMilliseconds;
                var put = new PutRequest { Key = ByteString.CopyFromUtf8($"snapshot-pause/{writer}/{n % 1000}"), Value = value };
                await client.PutAsync(put);
                var end = clock.Elapsed.TotalMilliseconds;
                samples.Add((start, end - start));
                if (interval - (end - start) > 0) await Task.Delay(TimeSpan.FromMilliseconds(interval - (end - start)));
            }
        }

        var running = Enumerable.Range(0, writers).Select(WriteAsync).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(Flag("before-s", 5)));
        var started = clock.Elapsed.TotalMilliseconds;
        var firstChunk = 0.0;
        long bytes = 0;
        {
            using var call = new Maintenance.MaintenanceClient(channel).Snapshot(new SnapshotRequest());
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                if (firstChunk == 0) firstChunk = clock.Elapsed.TotalMilliseconds;
                bytes += call.ResponseStream.Current.Blob.Length;
            }
        }
        var ended = clock.Elapsed.TotalMilliseconds;
        await Task.Delay(TimeSpan.FromSeconds(Flag("after-s", 5)));
        await stop.CancelAsync();
        await Task.WhenAll(running);

        Console.WriteLine($"snapshot of {bytes} bytes (digest included): first chunk after {firstChunk - started:F0} ms, done after {ended - started:F0} ms");
        Report("before", 0, started);
        Report("preparing (until 1st chunk)", started, firstChunk);
        Report("streaming", firstChunk, ended);
        Report("after", ended, double.MaxValue);
        return 0;

        void Report(string phase, double from, double to)
        {
            var sorted = samples.Where(s => s.At >= from && s.At < to).Select(s => s.Ms).Order().ToArray();
            if (sorted.Length == 0)
            {
                Console.WriteLine($"{phase,-28} no puts");
                return;
            }
            Console.WriteLine($"{phase,-28} {sorted.Length,6} puts  p50 {sorted[sorted.Length / 2],7:F1} ms  p99 {sorted[(int)(sorted.Length * 0.99)],7:F1} ms  max {sorted[^1],7:F1} ms");
        }
    }
}
