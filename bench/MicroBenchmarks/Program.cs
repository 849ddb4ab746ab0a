using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// Hot-path micro-benchmarks. Every public class with [Benchmark] methods in this assembly is picked up, so adding
// one (WAL append+fsync batching, MVCC put/range) is one new file. Run:
//   dotnet run -c Release --project bench/MicroBenchmarks -- --filter '*'
// Benchmarks run in-process: BenchmarkDotNet's generated out-of-process project would inherit this repository's
// Directory.Build.props (warnings as errors, doc comments required) and fail to build.
if (args.Length > 0 && args[0] == "--lessor-split")
{
    Akka.Etcd.MicroBenchmarks.Lease.LessorSplitMeasurement.Run(
        args.Length > 1 ? int.Parse(args[1]) : 100_000, args.Length > 2 ? int.Parse(args[2]) : 3);
    return;
}

if (args.Length > 0 && args[0] == "--journal")
{
    Akka.Etcd.MicroBenchmarks.Journal.JournalThroughputMeasurement.Run(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return;
}

var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(Akka.Etcd.MicroBenchmarks.Protobuf.ProtobufCodecBenchmarks).Assembly).Run(args, config);
