using Akka.Etcd.Benchmark.Cli;
using Akka.Etcd.Benchmark.Connections;
using Akka.Etcd.Benchmark.Reporting;
using Akka.Etcd.Benchmark.Workloads;
using Grpc.Core;

// akka-etcd-benchmark: a load generator for etcd's v3 gRPC API, modelled on etcd's tools/benchmark.
// Exit codes: 0 report printed, 1 the run could not start (no server, bad flags), 2 usage.
return await BenchmarkMain.RunAsync(args);

/// <summary>The entry point: parses the command line, connects, runs one workload and prints its report.</summary>
internal static class BenchmarkMain
{
    public static async Task<int> RunAsync(string[] args)
    {
        CommandLine line;
        GlobalSettings settings;
        IWorkload workload;
        try
        {
            line = CommandLine.Parse(args, GlobalSettings.BooleanFlags);
            if (line.Positional.Count == 0 || line.Has("help"))
            {
                PrintUsage();
                return 2;
            }

            settings = GlobalSettings.From(line);
            workload = Workload.Create(line);
            line.RejectUnread();
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            PrintUsage();
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        using var pool = new ConnectionPool(settings);
        try
        {
            await pool.WarmUpAsync(cancel.Token).WaitAsync(settings.DialTimeout + TimeSpan.FromSeconds(5), cancel.Token);
        }
        catch (Exception e) when (e is RpcException or TimeoutException)
        {
            Console.Error.WriteLine($"error: cannot reach {string.Join(",", settings.Endpoints)}: {e.Message}");
            return 1;
        }

        BenchmarkReport report;
        try
        {
            report = await workload.RunAsync(settings, pool, cancel.Token);
        }
        catch (Exception e) when (e is RpcException or TimeoutException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: the {line.Positional[0]} run failed to set up: {e.Message}");
            return 1;
        }

        Console.Out.Write(settings.Json ? ReportWriter.Json(report) + "\n" : ReportWriter.Text(report));
        return 0;
    }

    private static void PrintUsage()
    {
        Console.Error.WriteLine("usage: akka-etcd-benchmark [--endpoints=127.0.0.1:2379] [--clients=1] [--conns=1] [--json] [--no-progress]");
        Console.Error.WriteLine("                           [--dial-timeout=5] <command> [flags]");
        Console.Error.WriteLine("commands:");
        foreach (var (_, help) in Workload.Commands)
            Console.Error.WriteLine("  " + help);
    }
}
