using Akka.Etcd.Benchmark.Cli;
using Akka.Etcd.Benchmark.Connections;
using Akka.Etcd.Benchmark.Reporting;
using Akka.Etcd.Benchmark.Running;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Benchmark.Workloads;

/// <summary>
/// <c>lease-keepalive</c>: each worker grants one lease (TTL 100 s), opens one LeaseKeepAlive stream (as clientv3's
/// KeepAlive does) and times request/response round trips on it; leases are revoked afterwards. One sample =
/// one keepalive request answered with its TTL.
/// </summary>
internal sealed class LeaseKeepaliveWorkload : IWorkload
{
    private readonly long _total;
    private readonly double _rate;

    private LeaseKeepaliveWorkload(long total, double rate)
    {
        _total = total;
        _rate = rate;
    }

    /// <summary>Reads the lease-keepalive flags.</summary>
    public static LeaseKeepaliveWorkload From(CommandLine line) =>
        new(line.Long("total", 10000, min: 1), line.Double("rate", 0));

    /// <inheritdoc />
    public async Task<BenchmarkReport> RunAsync(GlobalSettings settings, ConnectionPool pool, CancellationToken cancellationToken)
    {
        var grants = new Task<LeaseGrantResponse>[pool.ClientCount];
        for (var w = 0; w < grants.Length; w++)
            grants[w] = pool.Client(w).Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = 100 }, cancellationToken: cancellationToken).ResponseAsync;
        await Task.WhenAll(grants).ConfigureAwait(false);

        var streams = new AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>[grants.Length];
        try
        {
            var workers = new Operation[grants.Length];
            for (var w = 0; w < workers.Length; w++)
            {
                var stream = streams[w] = pool.Client(w).Lease.LeaseKeepAlive(cancellationToken: cancellationToken);
                var request = new LeaseKeepAliveRequest { ID = grants[w].Result.ID };
                workers[w] = async (_, ct) =>
                {
                    await stream.RequestStream.WriteAsync(request, ct).ConfigureAwait(false);
                    if (!await stream.ResponseStream.MoveNext(ct).ConfigureAwait(false))
                        throw new RpcException(new Status(StatusCode.Unavailable, "keepalive stream closed by the server"));
                    if (stream.ResponseStream.Current.TTL <= 0)
                        throw new RpcException(new Status(StatusCode.NotFound, "etcdserver: requested lease not found"));
                };
            }

            return await Workload.MeasureAsync("lease-keepalive", settings, workers, _total, _rate, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var stream in streams)
                stream?.Dispose();
            var revokes = grants.Select((g, w) => pool.Client(w).Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = g.Result.ID }).ResponseAsync);
            try
            {
                await Task.WhenAll(revokes).ConfigureAwait(false);
            }
            catch (RpcException)
            {
                // Revoking is clean-up: a lease that is already gone does not change the measurement.
            }
        }
    }
}
