using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;

namespace Akka.Etcd.SnapshotPause;

/// <summary>
/// Measures what a Maintenance.Snapshot (or, with <c>--defrag</c>, a Maintenance.Defragment) does to writes and reads:
/// paced writers put 256-byte values while one snapshot is read (and discarded, so the client's disk stays out of the
/// measurement) or one defragmentation runs; put latencies are reported per phase: before, while the server prepares
/// the image (until the first chunk arrives) or defragments, while it streams, after; readers count failed ranges.
/// <c>--fill-mb=N</c> first writes N MB of live keys and as much garbage (overwritten, then compacted away), so a
/// defragmentation has a file of some size to rewrite. Works against etcd 3.4 and ours alike.
/// usage: akka-etcd-snapshot-pause URL [--defrag] [--fill-mb=0] [--writers=4] [--readers=2] [--interval-ms=5] [--before-s=5] [--after-s=5]
/// </summary>
public static class Program
{
    /// <summary>Runs one measurement; returns 0, or 2 for bad arguments.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || !Uri.TryCreate(args[0], UriKind.Absolute, out var endpoint))
        {
            Console.Error.WriteLine("usage: akka-etcd-snapshot-pause URL [--defrag] [--fill-mb=0] [--writers=4] [--readers=2] [--interval-ms=5] [--before-s=5] [--after-s=5]");
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
        var defrag = args.Contains("--defrag");
        await FillAsync(channel, Flag("fill-mb", 0));
        long reads = 0, failedReads = 0;

        async Task ReadAsync()
        {
            var client = new KV.KVClient(channel);
            var range = new RangeRequest { Key = ByteString.CopyFromUtf8("snapshot-pause/0/0") };
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await client.RangeAsync(range);
                    Interlocked.Increment(ref reads);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Increment(ref failedReads);
                }
            }
        }

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

        var running = Enumerable.Range(0, writers).Select(WriteAsync)
            .Concat(Enumerable.Range(0, Flag("readers", 2)).Select(_ => Task.Run(ReadAsync))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(Flag("before-s", 5)));
        var started = clock.Elapsed.TotalMilliseconds;
        var firstChunk = 0.0;
        long bytes = 0;
        long sizeBefore = 0, sizeAfter = 0;
        if (defrag)
        {
            var client = new Maintenance.MaintenanceClient(channel);
            sizeBefore = (await client.StatusAsync(new StatusRequest())).DbSize;
            await client.DefragmentAsync(new DefragmentRequest());
            firstChunk = clock.Elapsed.TotalMilliseconds;
            sizeAfter = (await client.StatusAsync(new StatusRequest())).DbSize;
        }
        else
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

        Console.WriteLine(defrag
            ? $"defragmentation done after {ended - started:F0} ms; db size {sizeBefore} -> {sizeAfter} bytes; {reads} reads, {failedReads} failed"
            : $"snapshot of {bytes} bytes (digest included): first chunk after {firstChunk - started:F0} ms, done after {ended - started:F0} ms");
        Report("before", 0, started);
        Report(defrag ? "defragmenting" : "preparing (until 1st chunk)", started, firstChunk);
        Report("streaming", firstChunk, ended);
        Report("after", ended, double.MaxValue);
        return 0;

        static async Task FillAsync(GrpcChannel channel, int megabytes)
        {
            if (megabytes <= 0) return;
            var big = ByteString.CopyFrom(new byte[4096]);
            var keys = megabytes * 256;
            for (var round = 0; round < 2; round++)
            {
                // Round 0 becomes garbage once round 1 overwrites it and the compaction below drops it.
                await Task.WhenAll(Enumerable.Range(0, 16).Select(async w =>
                {
                    var client = new KV.KVClient(channel);
                    for (var i = w; i < keys; i += 16)
                    {
                        await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"fill/{i:D8}"), Value = big });
                    }
                }));
            }
            var kv = new KV.KVClient(channel);
            var revision = (await kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("fill/") })).Header.Revision;
            await kv.CompactAsync(new CompactionRequest { Revision = revision, Physical = true });
            var status = await new Maintenance.MaintenanceClient(channel).StatusAsync(new StatusRequest());
            Console.WriteLine($"filled: {megabytes} MB live, db size {status.DbSize} bytes, in use {status.DbSizeInUse} bytes");
        }

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
