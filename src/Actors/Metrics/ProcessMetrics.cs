using Prometheus;

namespace Akka.Etcd.Actors.Metrics;

/// <summary>
/// The process figures etcd's Go client library exports that prometheus-net's own process collector names differently or
/// lacks (<c>process_resident_memory_bytes</c>, which <c>etcdctl check datascale</c> and etcd's dashboard read,
/// <c>process_open_fds</c>, <c>process_max_fds</c>, and etcd's <c>os_fd_used</c>/<c>os_fd_limit</c>), read from
/// <c>/proc/self</c> before each scrape. prometheus-net's collector adds <c>process_cpu_seconds_total</c>,
/// <c>process_start_time_seconds</c>, <c>process_virtual_memory_bytes</c> and the <c>dotnet_*</c> runtime figures.
/// Off Linux the /proc figures fall back to what .NET reports (working set for the resident size) or stay 0.
/// </summary>
public static class ProcessMetrics
{
    private static readonly IMetricFactory Factory = MetricsRegistry.Factory;

    /// <summary><c>process_resident_memory_bytes</c> (gauge): resident set size in bytes (VmRSS).</summary>
    public static readonly Gauge ResidentMemory = Factory.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");

    /// <summary><c>process_open_fds</c> (gauge): open file descriptors.</summary>
    public static readonly Gauge OpenFds = Factory.CreateGauge("process_open_fds", "Number of open file descriptors.");

    /// <summary><c>process_max_fds</c> (gauge): the soft limit on open file descriptors.</summary>
    public static readonly Gauge MaxFds = Factory.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");

    /// <summary><c>os_fd_used</c> (gauge, etcd's name): open file descriptors.</summary>
    public static readonly Gauge OsFdUsed = Factory.CreateGauge("os_fd_used", "The number of used file descriptors.");

    /// <summary><c>os_fd_limit</c> (gauge, etcd's name): the file descriptor limit.</summary>
    public static readonly Gauge OsFdLimit = Factory.CreateGauge("os_fd_limit", "The file descriptor limit.");

    private static int _registered;

    /// <summary>Registers the refresh before each scrape of <see cref="MetricsRegistry.Registry"/>; idempotent.</summary>
    public static void EnsureRegistered()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
            MetricsRegistry.Registry.AddBeforeCollectCallback(Refresh);
    }

    /// <summary>Reads /proc/self now and sets the gauges.</summary>
    public static void Refresh()
    {
        ResidentMemory.Set(ReadResidentBytes() ?? Environment.WorkingSet);
        var open = CountOpenFds();
        OpenFds.Set(open);
        OsFdUsed.Set(open);
        var limit = ReadFdLimit();
        MaxFds.Set(limit);
        OsFdLimit.Set(limit);
    }

    private static long? ReadResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not Linux, or /proc unreadable: fall back to the working set.
        }
        return null;
    }

    private static int CountOpenFds()
    {
        try
        {
            return Directory.Exists("/proc/self/fd") ? Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static double ReadFdLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                    continue;
                var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts[0] == "unlimited" ? double.PositiveInfinity : double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not Linux.
        }
        return 0;
    }
}
