using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

/// <summary>
/// The one prometheus-net registry every metric of the process lives in (<see cref="EtcdMetrics"/>,
/// <see cref="AkkaMetrics"/>, <see cref="ProcessMetrics"/>), as etcd keeps all of its metrics in Prometheus' default
/// registry. A registry of its own rather than prometheus-net's default one: that one also exports every .NET meter and
/// event counter of the process (hundreds of series nobody asked for), while this one holds etcd's names, Akka's, and
/// prometheus-net's runtime and process figures (<c>dotnet_*</c>, <c>process_*</c>). Process-wide: several members in
/// one process (tests) share it, as several etcd servers in one Go process share Prometheus' registry.
/// </summary>
public static class MetricsRegistry
{
    /// <summary>The registry; exported as Prometheus text by the client listener's and the metrics listener's <c>/metrics</c>.</summary>
    public static CollectorRegistry Registry { get; } = Create();

    /// <summary>Creates instruments in <see cref="Registry"/>.</summary>
    internal static IMetricFactory Factory { get; } = Prometheus.Metrics.WithCustomRegistry(Registry);

    private static CollectorRegistry Create()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        return registry;
    }

    /// <summary>
    /// Creates every instrument (they are static fields created on first use) so that a scrape lists all of them from the
    /// start, zero or not, as etcd's registry does; registers the process figures refreshed at each scrape. Idempotent.
    /// </summary>
    public static void EnsureCreated()
    {
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(EtcdMetrics).TypeHandle);
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(AkkaMetrics).TypeHandle);
        ProcessMetrics.EnsureRegistered();
    }

    /// <summary>Buckets <c>start × factor^i</c> for i in [0, count), as Prometheus' Go <c>ExponentialBuckets</c>.</summary>
    internal static double[] Exponential(double start, double factor, int count) => Histogram.ExponentialBuckets(start, factor, count);
}
