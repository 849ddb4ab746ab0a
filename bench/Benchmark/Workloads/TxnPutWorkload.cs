using Akka.Etcd.Benchmark.Cli;
using Akka.Etcd.Benchmark.Connections;
using Akka.Etcd.Benchmark.Reporting;
using Akka.Etcd.Benchmark.Running;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Benchmark.Workloads;

/// <summary>
/// <c>txn-put</c>: Txn requests with no compares and <c>--txn-ops</c> puts in the success branch; txn number i puts
/// keys (i * ops + j) % key-space-size, so the keys of one txn differ (etcd rejects duplicates). Each worker owns one
/// pre-built TxnRequest and rewrites its key bytes between calls.
/// </summary>
internal sealed class TxnPutWorkload : IWorkload
{
    private readonly int _ops;
    private readonly int _keySize;
    private readonly int _valSize;
    private readonly long _keySpaceSize;
    private readonly long _total;
    private readonly double _rate;

    private TxnPutWorkload(int ops, int keySize, int valSize, long keySpaceSize, long total, double rate)
    {
        _ops = ops;
        _keySize = keySize;
        _valSize = valSize;
        _keySpaceSize = keySpaceSize;
        _total = total;
        _rate = rate;
    }

    /// <summary>Reads the txn-put flags; the key space is raised to at least --txn-ops.</summary>
    public static TxnPutWorkload From(CommandLine line)
    {
        var ops = line.Int("txn-ops", 1, min: 1);
        var keySize = line.Int("key-size", 8, min: 1);
        var keySpace = Math.Max(ops, line.Long("key-space-size", 1, min: 1));
        KeyEncoding.CheckFits(keySize, keySpace);
        return new TxnPutWorkload(ops, keySize, line.Int("val-size", 8), keySpace, line.Long("total", 10000, min: 1),
            line.Double("rate", 0));
    }

    /// <inheritdoc />
    public Task<BenchmarkReport> RunAsync(GlobalSettings settings, ConnectionPool pool, CancellationToken cancellationToken)
    {
        var value = UnsafeByteOperations.UnsafeWrap(Workload.RandomBytes(_valSize));
        var workers = new Operation[pool.ClientCount];
        for (var w = 0; w < workers.Length; w++)
        {
            var client = pool.Client(w);
            var keys = new byte[_ops][];
            var request = new TxnRequest();
            for (var j = 0; j < _ops; j++)
            {
                keys[j] = new byte[_keySize];
                request.Success.Add(new RequestOp
                {
                    RequestPut = new PutRequest { Key = UnsafeByteOperations.UnsafeWrap(keys[j]), Value = value },
                });
            }

            workers[w] = (sequence, ct) =>
            {
                for (var j = 0; j < keys.Length; j++)
                    KeyEncoding.Write(keys[j], (sequence * _ops + j) % _keySpaceSize);
                return client.Kv.TxnAsync(request, cancellationToken: ct).ResponseAsync;
            };
        }

        return Workload.MeasureAsync("txn-put", settings, workers, _total, _rate, cancellationToken,
            new Dictionary<string, double> { ["txnOps"] = _ops });
    }
}
