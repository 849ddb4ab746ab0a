using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Storage.Wal;
using Akka.Persistence;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.MicroBenchmarks.Journal;

/// <summary>
/// The Raft log's journal alone, as the RaftActor drives it: one writer, one write in flight, a write of HardState +
/// N entries of 256 bytes, the next one sent when the previous one is durable (a Stopwatch, not BenchmarkDotNet: the
/// unit of work is an actor round trip with an fsync). Four ways to write, each on a fresh directory in the temp dir:
/// <list type="bullet">
/// <item><c>wal-direct</c>: <see cref="WriteAheadLog.Append"/> + <see cref="WriteAheadLog.Sync"/> on the calling thread (the floor);</item>
/// <item><c>wal-actor (before)</c>: the WalJournalActor the member used before the journal plugin (append, self-sent
/// flush, fsync, answer), rebuilt here as it was;</item>
/// <item><c>etcd-wal journal, WriteMessages</c>: the <see cref="WalJournal"/> plugin through Akka.Persistence's journal
/// protocol; <c>etcd-wal journal, AppendLog</c>: the same plugin as the member writes to it (<see cref="WalJournal.AppendLog"/>,
/// one answer per write);</item>
/// <item><c>sql journal</c>: Akka.Persistence.Sql over SQLite (Microsoft.Data.Sqlite).</item>
/// </list>
/// Run: <c>dotnet run -c Release --project bench/MicroBenchmarks -- --journal [seconds per case]</c>.
/// </summary>
public static class JournalThroughputMeasurement
{
    private const ulong MemberId = 0x8e9e05c52164694d;
    private const ulong ClusterId = 0xcdf818194e3a8c32;

    /// <summary>Runs every case for <paramref name="seconds"/> seconds per batch size and prints one table.</summary>
    public static void Run(double seconds)
    {
        var root = Directory.CreateTempSubdirectory("akka-etcd-journal-bench-").FullName;
        try
        {
            Console.WriteLine($"| writer | entries per write | writes/s | entries/s | mean us | p50 us | p99 us |");
            Console.WriteLine($"|---|---:|---:|---:|---:|---:|---:|");
            foreach (var batch in new[] { 1, 10, 100 })
            {
                Print("wal-direct", batch, Direct(Path.Combine(root, $"direct-{batch}"), batch, seconds));
                Print("wal-actor (before)", batch, ViaActor(root, batch, seconds, legacy: true, sql: false));
                Print("etcd-wal journal, WriteMessages", batch, ViaActor(root, batch, seconds, legacy: false, sql: false));
                Print("etcd-wal journal, AppendLog (the member's)", batch, ViaActor(root, batch, seconds, legacy: false, sql: false, appendLog: true));
                Print("sql journal (SQLite)", batch, ViaActor(root, batch, seconds, legacy: false, sql: true));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void Print(string name, int batch, List<double> latenciesUs)
    {
        latenciesUs.Sort();
        var total = latenciesUs.Sum() / 1e6;
        Console.WriteLine($"| {name} | {batch} | {latenciesUs.Count / total:F0} | {latenciesUs.Count * batch / total:F0} | {latenciesUs.Average():F0} | " +
            $"{latenciesUs[latenciesUs.Count / 2]:F0} | {latenciesUs[(int)(latenciesUs.Count * 0.99)]:F0} |");
    }

    private static Entry EntryAt(ulong index) => new() { Index = index, Term = 1, Type = EntryType.EntryNormal, Data = ByteString.CopyFrom(new byte[256]) };

    private static List<double> Direct(string dir, int batch, double seconds)
    {
        using var wal = WriteAheadLog.Create(dir, new WalOptions(), MemberId, ClusterId);
        var latencies = new List<double>();
        ulong index = 0;
        var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            var entries = Enumerable.Range(0, batch).Select(_ => EntryAt(++index)).ToList();
            var started = Stopwatch.GetTimestamp();
            wal.Append(new HardState { Term = 1, Commit = index }, entries);
            wal.Sync();
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        return latencies;
    }

    private static List<double> ViaActor(string root, int batch, double seconds, bool legacy, bool sql, bool appendLog = false)
    {
        var dir = Path.Combine(root, $"{(legacy ? "legacy" : sql ? "sql" : appendLog ? "wal-append" : "wal")}-{batch}");
        Directory.CreateDirectory(dir);
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.persistence.journal.sql.connection-string = "Data Source={Path.Combine(dir, "raft-log.db")}"
            """).WithFallback(RaftLogPlugins.DefaultConfig);
        using var system = ActorSystem.Create("journal-bench", config);
        try
        {
            var done = new TaskCompletionSource<List<double>>();
            var pid = RaftLogJournal.PersistenceIdOf(ClusterId, MemberId);
            if (legacy)
            {
                var wal = WriteAheadLog.Create(dir, new WalOptions(), MemberId, ClusterId);
                var journal = system.ActorOf(Props.Create(() => new LegacyWalJournalActor(wal)).WithDispatcher("akka.etcd.journal-dispatcher"));
                system.ActorOf(Props.Create(() => new Driver(journal, pid, batch, seconds, done, true)));
            }
            else
            {
                var (journal, _, _, _) = RaftLogPlugins.Resolve(system, sql ? RaftLogPlugins.SqlPluginId : RaftLogPlugins.WalPluginId, dir,
                    new WalOptions(), MemberId, ClusterId);
                var replay = RaftLogReplay.ReplayAsync(system, journal, pid, TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
                if (!replay.IsEmpty) throw new InvalidOperationException("not a fresh log");
                system.ActorOf(Props.Create(() => new Driver(journal, pid, batch, seconds, done, false, appendLog)));
            }
            return done.Task.GetAwaiter().GetResult();
        }
        finally
        {
            system.Terminate().Wait();
        }
    }

    /// <summary>One write in flight, as the RaftActor: the next one goes when the previous one is durable.</summary>
    private sealed class Driver : ReceiveActor
    {
        private readonly List<double> _latencies = new();
        private long _started;
        private long _sequenceNr;
        private ulong _index;

        public Driver(IActorRef journal, string pid, int batch, double seconds, TaskCompletionSource<List<double>> done, bool legacy,
            bool appendLog = false)
        {
            var end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
            void Next()
            {
                if (Stopwatch.GetTimestamp() >= end)
                {
                    done.TrySetResult(_latencies);
                    Context.Stop(Self);
                    return;
                }
                var hardState = new HardState { Term = 1, Commit = _index };
                var entries = Enumerable.Range(0, batch).Select(_ => EntryAt(++_index)).ToList();
                _started = Stopwatch.GetTimestamp();
                if (legacy)
                {
                    journal.Tell(new LegacyWalJournalActor.Save(hardState, entries));
                    return;
                }
                var events = ImmutableList.CreateBuilder<IPersistentRepresentation>();
                events.Add(new Persistent(hardState, ++_sequenceNr, pid, "", false, ActorRefs.NoSender, "bench"));
                foreach (var entry in entries)
                {
                    events.Add(new Persistent(entry, ++_sequenceNr, pid, "", false, ActorRefs.NoSender, "bench"));
                }
                if (appendLog)
                {
                    journal.Tell(new WalJournal.AppendLog(new AtomicWrite(events.ToImmutable()), Self));
                    return;
                }
                journal.Tell(new WriteMessages(new IPersistentEnvelope[] { new AtomicWrite(events.ToImmutable()) }, Self, 1));
            }
            void Durable()
            {
                _latencies.Add(Stopwatch.GetElapsedTime(_started).TotalMicroseconds);
                Next();
            }
            Receive<WriteMessagesSuccessful>(_ => Durable());
            Receive<LegacyWalJournalActor.Persisted>(_ => Durable());
            Receive<WriteMessagesFailed>(failed => done.TrySetException(failed.Cause));
            ReceiveAny(_ => { });
            Next();
        }
    }

    /// <summary>The member's journal actor before the journal plugin (WalJournalActor), for the before/after comparison.</summary>
    private sealed class LegacyWalJournalActor : ReceiveActor
    {
        public sealed record Save(HardState? HardState, IReadOnlyList<Entry> Entries);

        public sealed record Persisted;

        private sealed record Flush;

        private readonly List<IActorRef> _waiting = new();
        private bool _flushQueued;

        public LegacyWalJournalActor(WriteAheadLog wal)
        {
            Receive<Save>(save =>
            {
                wal.Append(save.HardState, save.Entries);
                _waiting.Add(Sender);
                if (!_flushQueued)
                {
                    _flushQueued = true;
                    Self.Tell(new Flush());
                }
            });
            Receive<Flush>(_ =>
            {
                _flushQueued = false;
                wal.Sync();
                foreach (var sender in _waiting)
                {
                    sender.Tell(new Persisted());
                }
                _waiting.Clear();
            });
        }
    }
}
