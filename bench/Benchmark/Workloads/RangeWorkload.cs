using Akka.Etcd.Benchmark.Cli;
using Akka.Etcd.Benchmark.Connections;
using Akka.Etcd.Benchmark.Reporting;
using Akka.Etcd.Benchmark.Running;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Benchmark.Workloads;

/// <summary>
/// <c>range KEY [END]</c>: the same Range request <c>--total</c> times, linearizable (<c>--consistency=l</c>, the
/// default: the server confirms leadership per read) or serializable (<c>s</c>: local read). One pre-built request is
/// shared by all workers (serializing a message only reads it).
/// </summary>
internal sealed class RangeWorkload : IWorkload
{
    private readonly RangeRequest _request;
    private readonly long _total;
    private readonly double _rate;

    private RangeWorkload(RangeRequest request, long total, double rate)
    {
        _request = request;
        _total = total;
        _rate = rate;
    }

    /// <summary>Reads KEY, optional END and the range flags.</summary>
    public static RangeWorkload From(CommandLine line)
    {
        if (line.Positional.Count is < 2 or > 3)
            throw new ArgumentException("range needs KEY and optionally END");
        var request = new RangeRequest { Key = ByteString.CopyFromUtf8(line.Positional[1]) };
        if (line.Positional.Count == 3)
            request.RangeEnd = ByteString.CopyFromUtf8(line.Positional[2]);
        request.Serializable = line.String("consistency", "l") switch
        {
            "l" => false,
            "s" => true,
            var other => throw new ArgumentException($"flag --consistency: \"{other}\" is not l or s"),
        };
        return new RangeWorkload(request, line.Long("total", 10000, min: 1), line.Double("rate", 0));
    }

    /// <inheritdoc />
    public Task<BenchmarkReport> RunAsync(GlobalSettings settings, ConnectionPool pool, CancellationToken cancellationToken)
    {
        var workers = new Operation[pool.ClientCount];
        for (var w = 0; w < workers.Length; w++)
        {
            var client = pool.Client(w);
            workers[w] = (_, ct) => client.Kv.RangeAsync(_request, cancellationToken: ct).ResponseAsync;
        }

        return Workload.MeasureAsync("range", settings, workers, _total, _rate, cancellationToken);
    }
}
