using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;

namespace Akka.Etcd.MicroBenchmarks.Lease;

/// <summary>
/// Measures how the lessor should be split into actors, at 100,000 leases: one LeaseActor, several LeaseActor shards
/// under the LessorActor, or one actor per lease (a prototype here: a child per lease with its own expiry timer). For
/// each: the heap retained by the leases, the time to apply the grants, to answer one keep-alive per lease, and to
/// promote (the new leader's pass over every lease). Run:
/// <c>dotnet run -c Release --project bench/MicroBenchmarks -- --lessor-split [leases] [rounds]</c>.
/// </summary>
public static class LessorSplitMeasurement
{
    /// <summary>Runs every layout <paramref name="rounds"/> times and prints one line per run.</summary>
    public static void Run(int leases, int rounds)
    {
        Console.WriteLine($"lessor layouts at {leases:N0} leases ({Environment.ProcessorCount} cores); times in ms, heap in MiB retained by the leases");
        Console.WriteLine("layout      | grant ms | keep-alive ms | keep-alives/s | promote ms | heap MiB");
        for (var round = 0; round < rounds; round++)
        {
            foreach (var layout in new[] { "1 shard", "2 shards", "4 shards", "8 shards", "per lease" })
            {
                var result = Measure(layout, leases);
                Console.WriteLine($"{layout,-11} | {result.GrantMs,8:F0} | {result.KeepAliveMs,13:F0} | {leases / (result.KeepAliveMs / 1000.0),13:N0} | {result.PromoteMs,10:F0} | {result.HeapMiB,8:F1}");
            }
        }
    }

    private sealed record Result(double GrantMs, double KeepAliveMs, double PromoteMs, double HeapMiB);

    private static Result Measure(string layout, int leases)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var system = ActorSystem.Create("split", ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = OFF"));
        try
        {
            var baseHeap = GC.GetTotalMemory(forceFullCollection: true);
            var status = new ServerStatus { MemberId = 1, ClusterId = 2 };
            IActorRef lessor = layout == "per lease"
                ? system.ActorOf(Props.Create(() => new PerLeaseLessor()), "lessor")
                : system.ActorOf(LessorActor.Props(new LessorActorSetup(int.Parse(layout.Split(' ')[0]), 2, status,
                    ActorPath.Parse("akka://split/user/raft"), ActorPath.Parse("akka://split/user/store"), new RequestIdGenerator(1), 1000)), "lessor");
            var clock = Stopwatch.StartNew();
            for (var id = 1; id <= leases; id++)
            {
                lessor.Tell(new LeaseProtocol.ApplyGrant(id, 60));
            }
            lessor.Ask<LeaseProtocol.LeaseIds>(LeaseProtocol.List.Instance, TimeSpan.FromMinutes(5)).GetAwaiter().GetResult();
            var grantMs = clock.Elapsed.TotalMilliseconds;
            var heap = (GC.GetTotalMemory(forceFullCollection: true) - baseHeap) / 1024.0 / 1024.0;

            clock.Restart();
            lessor.Tell(new LeaseProtocol.Promote(1000));
            lessor.Ask<LeaseProtocol.LeaseIds>(LeaseProtocol.List.Instance, TimeSpan.FromMinutes(5)).GetAwaiter().GetResult();
            var promoteMs = clock.Elapsed.TotalMilliseconds;

            var done = new TaskCompletionSource();
            var driver = system.ActorOf(Props.Create(() => new KeepAliveDriver(lessor, leases, done)));
            clock.Restart();
            driver.Tell("go");
            done.Task.Wait(TimeSpan.FromMinutes(5));
            var keepAliveMs = clock.Elapsed.TotalMilliseconds;
            return new Result(grantMs, keepAliveMs, promoteMs, heap);
        }
        finally
        {
            system.Terminate().Wait();
        }
    }

    /// <summary>Sends one keep-alive per lease, at most 1,000 unanswered at a time (like 1,000 clients), and counts the answers.</summary>
    private sealed class KeepAliveDriver : ReceiveActor
    {
        public KeepAliveDriver(IActorRef lessor, int leases, TaskCompletionSource done)
        {
            long next = 1;
            var answered = 0;
            Receive<string>(_ =>
            {
                for (; next <= Math.Min(leases, 1000); next++)
                {
                    lessor.Tell(new LeaseProtocol.KeepAlive(next));
                }
            });
            Receive<LeaseProtocol.Renewed>(_ =>
            {
                if (++answered == leases)
                {
                    done.TrySetResult();
                }
                else if (next <= leases)
                {
                    lessor.Tell(new LeaseProtocol.KeepAlive(next++));
                }
            });
        }
    }

    /// <summary>The per-lease layout: a child actor per lease owning its TTL and its own expiry timer.</summary>
    private sealed class PerLeaseLessor : ReceiveActor
    {
        private readonly Dictionary<long, IActorRef> _leases = new();

        public PerLeaseLessor()
        {
            Receive<LeaseProtocol.ApplyGrant>(grant =>
                _leases[grant.Id] = Context.ActorOf(Props.Create(() => new OneLease(grant.TtlSeconds)), grant.Id.ToString()));
            Receive<LeaseProtocol.KeepAlive>(keepAlive =>
            {
                if (_leases.TryGetValue(keepAlive.Id, out var lease))
                {
                    lease.Forward(keepAlive);
                }
                else
                {
                    Sender.Tell(new LeaseProtocol.Renewed(0));
                }
            });
            Receive<LeaseProtocol.Promote>(promote =>
            {
                foreach (var lease in _leases.Values)
                {
                    lease.Tell(promote);
                }
            });
            Receive<LeaseProtocol.List>(_ => Sender.Tell(new LeaseProtocol.LeaseIds(_leases.Keys.Order().ToList())));
        }
    }

    private sealed class OneLease : ReceiveActor, IWithTimers
    {
        public OneLease(long ttlSeconds)
        {
            var ttl = TimeSpan.FromSeconds(ttlSeconds);
            Receive<LeaseProtocol.Promote>(promote => Timers.StartSingleTimer("expiry", "expired", ttl + TimeSpan.FromMilliseconds(promote.ExtendMs)));
            Receive<LeaseProtocol.KeepAlive>(_ =>
            {
                Timers.StartSingleTimer("expiry", "expired", ttl);
                Sender.Tell(new LeaseProtocol.Renewed(ttlSeconds));
            });
            Receive<string>(_ => { });
        }

        public ITimerScheduler Timers { get; set; } = null!;
    }
}
