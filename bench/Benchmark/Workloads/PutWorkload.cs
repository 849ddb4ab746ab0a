using Akka.Etcd.Benchmark.Cli;
using Akka.Etcd.Benchmark.Connections;
using Akka.Etcd.Benchmark.Reporting;
using Akka.Etcd.Benchmark.Running;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Benchmark.Workloads;

/// <summary>
/// <c>put</c>: Put requests with <c>--key-size</c>-byte varint keys (sequential, or uniformly random over
/// <c>--key-space-size</c>) and one shared <c>--val-size</c>-byte random value, as etcd's benchmark put command.
/// Each worker owns one PutRequest whose key bytes it rewrites between its (sequential) calls: no allocation per
/// request beyond the gRPC call itself.
/// </summary>
internal sealed class PutWorkload : IWorkload
{
    private readonly int _keySize;
    private readonly int _valSize;
    private readonly long _total;
    private readonly bool _sequentialKeys;
    private readonly long _keySpaceSize;
    private readonly double _rate;

    private PutWorkload(int keySize, int valSize, long total, bool sequentialKeys, long keySpaceSize, double rate)
    {
        _keySize = keySize;
        _valSize = valSize;
        _total = total;
        _sequentialKeys = sequentialKeys;
        _keySpaceSize = keySpaceSize;
        _rate = rate;
    }

    /// <summary>Reads the put flags.</summary>
    public static PutWorkload From(CommandLine line)
    {
        var keySize = line.Int("key-size", 8, min: 1);
        var keySpace = line.Long("key-space-size", 1, min: 1);
        KeyEncoding.CheckFits(keySize, keySpace);
        return new PutWorkload(keySize, line.Int("val-size", 8), line.Long("total", 10000, min: 1), line.Bool("sequential-keys"),
            keySpace, line.Double("rate", 0));
    }

    /// <inheritdoc />
    public Task<BenchmarkReport> RunAsync(GlobalSettings settings, ConnectionPool pool, CancellationToken cancellationToken)
    {
        var value = UnsafeByteOperations.UnsafeWrap(Workload.RandomBytes(_valSize));
        var workers = new Operation[pool.ClientCount];
        for (var w = 0; w < workers.Length; w++)
        {
            var client = pool.Client(w);
            var key = new byte[_keySize];
            var random = new Random(w + 1);
            var request = new PutRequest { Key = UnsafeByteOperations.UnsafeWrap(key), Value = value };
            workers[w] = (sequence, ct) =>
            {
                KeyEncoding.Write(key, _sequentialKeys ? sequence % _keySpaceSize : random.NextInt64(_keySpaceSize));
                return client.Kv.PutAsync(request, cancellationToken: ct).ResponseAsync;
            };
        }

        return Workload.MeasureAsync("put", settings, workers, _total, _rate, cancellationToken);
    }
}
