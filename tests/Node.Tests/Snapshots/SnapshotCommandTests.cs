using Akka.Etcd.Actors.Store.Apply;
using System.Security.Cryptography;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Node.Snapshots;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.EtcdDb;
using Akka.Etcd.Storage.Mvcc;
using Akka.Etcd.Storage.Snap;
using Akka.Etcd.Storage.Wal;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Node.Tests.Snapshots;

public sealed class SnapshotCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("akka-etcd-snapshot-cmd-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private static Run Snapshot(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = SnapshotCommand.Run(args, stdout, stderr);
        return new Run(code, stdout.ToString(), stderr.ToString());
    }

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    /// <summary>A snapshot file as Maintenance.Snapshot sends it (image + SHA-256) of a store with a compaction and a lease.</summary>
    private string SnapshotFile(string name = "s.db")
    {
        var dbPath = Path.Combine(_root, name + ".store", "db");
        var index = 0UL;
        using (var store = MvccStore.Open(dbPath, new MvccStoreOptions { LeaseExists = id => id == 7 }))
        {
            store.Backend.PutBucketValue("lease", [0, 0, 0, 0, 0, 0, 0, 7], [0, 0, 0, 0, 0, 0, 2, 88]);
            KvApplier.Put(store, new PutRequest { Key = B("a"), Value = B("1") }, ++index);
            KvApplier.Put(store, new PutRequest { Key = B("b"), Value = B("2"), Lease = 7 }, ++index);
            KvApplier.Put(store, new PutRequest { Key = B("a"), Value = B("3") }, ++index);
            KvApplier.DeleteRange(store, new DeleteRangeRequest { Key = B("b") }, ++index);
            KvApplier.Compaction(store, new CompactionRequest { Revision = 3 }, ++index);
            KvApplier.Put(store, new PutRequest { Key = B("c"), Value = B("4"), Lease = 7 }, ++index);
            store.Commit();
        }
        var path = Path.Combine(_root, name);
        using (var view = SqliteReadView.Open(dbPath))
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            EtcdDbExport.Write(view, file);
            file.Position = 0;
            var digest = SHA256.HashData(file);
            file.Write(digest);
        }
        return path;
    }

    [Fact]
    public void Status_prints_every_etcdctl_format()
    {
        var status = new EtcdDbStatus(2252599401, 7, 13, 20480); // etcdctl's status of etcd34-small.db
        Assert.Equal("8643f069, 7, 13, 20 kB\n", SnapshotCommand.FormatStatus(status, "simple"));
        Assert.Equal("{\"hash\":2252599401,\"revision\":7,\"totalKey\":13,\"totalSize\":20480}\n", SnapshotCommand.FormatStatus(status, "json"));
        Assert.Equal("""
            +----------+----------+------------+------------+
            |   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |
            +----------+----------+------------+------------+
            | 8643f069 |        7 |         13 |      20 kB |
            +----------+----------+------------+------------+

            """, SnapshotCommand.FormatStatus(status, "table"));
        Assert.Equal("\"Hash\" : 2252599401\n\"Revision\" : 7\n\"Keys\" : 13\n\"Size\" : 20480\n", SnapshotCommand.FormatStatus(status, "fields"));
    }

    [Theory]
    [InlineData(0UL, "0 B")]
    [InlineData(9UL, "9 B")]
    [InlineData(10UL, "10 B")]
    [InlineData(1500UL, "1.5 kB")]
    [InlineData(20480UL, "20 kB")]
    [InlineData(20500UL, "20 kB")] // Go rounds the exact half to even
    [InlineData(204800UL, "205 kB")]
    [InlineData(82854982UL, "83 MB")]
    public void Sizes_are_go_humanize_bytes(ulong bytes, string text) => Assert.Equal(text, HumanBytes.Format(bytes));

    [Fact]
    public void Status_of_a_file_reads_it_and_reports_etcdctls_errors()
    {
        var file = SnapshotFile();
        var run = Snapshot("status", file, "-w", "json", "--endpoints=http://127.0.0.1:2379");
        Assert.Equal(0, run.ExitCode);
        Assert.Matches("""^\{"hash":\d+,"revision":6,"totalKey":10,"totalSize":\d+\}\n$""", run.Stdout);
        Assert.Equal(run.Stdout, Snapshot("status", "--write-out=json", file).Stdout);

        Assert.Equal(new Run(128, "", "Error: snapshot status requires exactly one argument\n"), Snapshot("status"));
        var missing = Path.Combine(_root, "missing.db");
        Assert.Equal(new Run(1, "", $"Error: stat {missing}: no such file or directory\n"), Snapshot("status", missing));
        Assert.Equal(new Run(4, "", "Error: unsupported output format\n"), Snapshot("status", file, "-w", "yaml"));
        Assert.Equal(new Run(4, "", "Error: protobuf not supported as output format\n"), Snapshot("status", file, "-w", "protobuf"));
        var notDb = Path.Combine(_root, "text.db");
        File.WriteAllText(notDb, "not a database");
        Assert.Equal(new Run(1, "", "Error: invalid database\n"), Snapshot("status", notDb));
        var unknown = Snapshot("status", file, "--foo");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("Error: unknown flag: --foo\nError: unknown flag: --foo\n", unknown.Stderr);
        Assert.Contains("akka-etcd snapshot status <filename>", unknown.Stdout);
    }

    [Fact]
    public void Restore_builds_a_data_dir_a_member_restarts_from()
    {
        var file = SnapshotFile();
        var dataDir = Path.Combine(_root, "r1.etcd");
        var run = Snapshot("restore", file, "--name", "r1", "--data-dir", dataDir, "--initial-cluster", "r1=http://127.0.0.1:25380",
            "--initial-advertise-peer-urls", "http://127.0.0.1:25380");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Stdout);
        var lines = run.Stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Matches("""^\{"level":"info","ts":\d+\.\d+,"caller":"snapshot/v3_snapshot.go:296","msg":"restoring snapshot","path":".*","wal-dir":".*/r1.etcd/member/wal","data-dir":".*/r1.etcd","snap-dir":".*/r1.etcd/member/snap"\}$""", lines[0]);
        Assert.Contains("\"caller\":\"mvcc/kvstore.go:388\",\"msg\":\"restored last compact revision\",\"meta-bucket-name\":\"meta\",\"meta-bucket-name-key\":\"finishedCompactRev\",\"restored-compact-revision\":3}", lines[1]);
        // etcdctl 3.4.23 printed these IDs for the same flags.
        Assert.Contains("\"caller\":\"membership/cluster.go:392\",\"msg\":\"added member\",\"cluster-id\":\"20f657524b5b6bb1\",\"local-member-id\":\"0\",\"added-peer-id\":\"82039f3eee02bfb3\",\"added-peer-peer-urls\":[\"http://127.0.0.1:25380\"]}", lines[2]);
        Assert.Contains("\"msg\":\"restored snapshot\"", lines[3]);

        // The WAL: etcd's IDs, one ConfChange entry per member, covered by a snapshot at index 1 term 1.
        using (var wal = WriteAheadLog.Open(Path.Combine(dataDir, "member", "wal"), new WalOptions(), out var state))
        {
            Assert.Equal(0x82039f3eee02bfb3UL, state.MemberId);
            Assert.Equal(0x20f657524b5b6bb1UL, state.ClusterId);
            Assert.Equal(1UL, state.SnapshotIndex);
            Assert.Equal(1UL, state.HardState.Commit);
            Assert.Equal(1UL, state.HardState.Term);
        }
        var snapshot = new SnapshotFiles(Path.Combine(dataDir, "member", "snap")).LoadNewest()!;
        Assert.Equal(1UL, snapshot.Metadata.Index);
        Assert.Equal([0x82039f3eee02bfb3UL], snapshot.Metadata.ConfState.Voters);
        using (var store = MvccStore.Open(Path.Combine(dataDir, "member", "snap", "db"), new MvccStoreOptions()))
        {
            Assert.Equal(1UL, store.ConsistentIndex);
            Assert.Equal(6, store.CurrentRevision);
            Assert.Equal(3, store.CompactRevision);
            var member = Member.Parser.ParseFrom(store.Backend.ReadBucket("members").Single().Value);
            Assert.Equal("r1", member.Name);
            Assert.Equal(["http://127.0.0.1:25380"], member.PeerURLs);
        }
    }

    [Fact]
    public async Task A_member_started_on_the_restored_data_dir_serves_the_snapshots_keys_and_goes_on()
    {
        var file = SnapshotFile();
        var dataDir = Path.Combine(_root, "m1.etcd");
        Assert.Equal(0, Snapshot("restore", file, "--name", "m1", "--data-dir", dataDir, "--initial-cluster", "m1=http://127.0.0.1:2380",
            "--initial-advertise-peer-urls", "http://127.0.0.1:2380", "--initial-cluster-token", "tok").ExitCode);
        var options = new ServerOptions
        {
            Name = "m1",
            DataDir = dataDir,
            InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m1"] = ["http://127.0.0.1:2380"] },
            InitialClusterToken = "tok",
            AdvertisePeerUrls = ["http://127.0.0.1:2380"],
            HeartbeatIntervalMs = 10,
            ElectionTimeoutMs = 100,
        };
        await using var server = await LocalMember.StartAsync(options, NullLoggerFactory.Instance).WaitAsync(TimeSpan.FromSeconds(20));
        var all = await server.Gateway.RangeAsync(new RangeRequest { Key = B("\0"), RangeEnd = B("\0") }, CancellationToken.None);
        Assert.Equal(6, all.Header.Revision);
        Assert.Equal(["a=3@2/4v2", "c=4@6/6v1"], all.Kvs.Select(kv => $"{kv.Key.ToStringUtf8()}={kv.Value.ToStringUtf8()}@{kv.CreateRevision}/{kv.ModRevision}v{kv.Version}"));
        Assert.Equal(7, all.Kvs[1].Lease);
        var hash = await server.Gateway.HashKVAsync(new HashKVRequest(), CancellationToken.None);
        Assert.Equal(3, hash.CompactRevision);
        var put = await server.Gateway.PutAsync(new PutRequest { Key = B("d"), Value = B("5"), Lease = 7 }, CancellationToken.None);
        Assert.Equal(7, put.Header.Revision);
        Assert.Single(server.Gateway.MemberList().Members);
    }

    [Fact]
    public void Restore_reports_etcdctls_errors_and_leaves_nothing_behind()
    {
        var file = SnapshotFile();
        Run Restore(params string[] args) => Snapshot(["restore", .. args]);
        string Error(Run run) => run.Stderr.Split('\n').First(l => l.StartsWith("Error: ", StringComparison.Ordinal));

        Assert.Equal(new Run(128, "", "Error: snapshot restore requires exactly one argument\n"), Restore());
        Assert.Equal("Error: couldn't find local name \"foo\" in the initial cluster configuration", Error(Restore(file, "--name", "foo", "--data-dir", Path.Combine(_root, "x"))));
        Assert.Equal("Error: --initial-cluster has default=http://localhost:2380 but missing from --initial-advertise-peer-urls=http://10.0.0.1:2380 (resolved urls: \"http://10.0.0.1:2380\" != \"http://localhost:2380\")",
            Error(Restore(file, "--initial-advertise-peer-urls", "http://10.0.0.1:2380", "--data-dir", Path.Combine(_root, "x"))));
        Assert.Equal("Error: URL scheme must be http, https, unix, or unixs: ", Error(Restore(file, "--initial-cluster", "bad", "--data-dir", Path.Combine(_root, "x"))));
        Assert.Equal("Error: URL scheme must be http, https, unix, or unixs: notaurl", Error(Restore(file, "--initial-advertise-peer-urls", "notaurl")));
        Assert.Equal("Error: --initial-cluster has default=http://localhost:2381 but missing from --initial-advertise-peer-urls=http://localhost:2380 (len([\"http://localhost:2380\"]) != len([\"http://localhost:2380\" \"http://localhost:2381\"]))",
            Error(Restore(file, "--initial-cluster", "default=http://localhost:2380,default=http://localhost:2381", "--data-dir", Path.Combine(_root, "x"))));
        Assert.Equal("Error: flag needs an argument: --name", Error(Restore(file, "--name")));
        Assert.Equal("Error: invalid argument \"maybe\" for \"--skip-hash-check\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax",
            Error(Restore(file, "--skip-hash-check=maybe")));
        Assert.False(Directory.Exists(Path.Combine(_root, "x")));

        var existing = Directory.CreateDirectory(Path.Combine(_root, "existing")).FullName;
        Assert.Equal($"Error: data-dir \"{existing}\" exists", Error(Restore(file, "--data-dir", existing)));

        var missing = Path.Combine(_root, "missing.db");
        var noFile = Restore(missing, "--data-dir", Path.Combine(_root, "y"));
        Assert.Contains("\"msg\":\"restoring snapshot\"", noFile.Stderr);
        Assert.Equal($"Error: open {missing}: no such file or directory", Error(noFile));

        var bare = Path.Combine(_root, "bare.db");
        File.WriteAllBytes(bare, File.ReadAllBytes(file)[..^32]);
        Assert.Equal("Error: snapshot missing hash but --skip-hash-check=false", Error(Restore(bare, "--data-dir", Path.Combine(_root, "y"))));
        var bad = Path.Combine(_root, "bad.db");
        var bytes = File.ReadAllBytes(file);
        bytes[100] ^= 1;
        File.WriteAllBytes(bad, bytes);
        Assert.StartsWith("Error: expected sha256 [", Error(Restore(bad, "--data-dir", Path.Combine(_root, "y"))));
        Assert.False(Directory.Exists(Path.Combine(_root, "y")));

        var garbage = Path.Combine(_root, "garbage.db");
        File.WriteAllBytes(garbage, new byte[8192]);
        Assert.Equal("Error: invalid database", Error(Restore(garbage, "--data-dir", Path.Combine(_root, "z"), "--skip-hash-check")));
        Assert.False(Directory.Exists(Path.Combine(_root, "z")));

        Assert.Equal(0, Restore(bare, "--data-dir", Path.Combine(_root, "y"), "--skip-hash-check").ExitCode);
    }

    [Fact]
    public void Unknown_subcommands_point_at_etcdctl_for_save()
    {
        var save = Snapshot("save", "x.db");
        Assert.Equal(1, save.ExitCode);
        Assert.Contains("etcdctl --endpoints=URL snapshot save FILE", save.Stderr);
        Assert.Equal(0, Snapshot().ExitCode);
        Assert.Contains("restore", Snapshot("--help").Stdout);
        Assert.Contains("--skip-hash-check", Snapshot("restore", "-h").Stdout);
    }

    [Fact]
    public void Our_backend_file_copied_out_of_a_data_dir_restores_with_skip_hash_check_as_etcds_db_does()
    {
        SnapshotFile("source.db");
        var backend = Path.Combine(_root, "copied-db");
        File.Copy(Path.Combine(_root, "source.db.store", "db"), backend);

        Assert.Equal("Error: snapshot missing hash but --skip-hash-check=false\n",
            Snapshot("restore", backend, "--data-dir", Path.Combine(_root, "no")).Stderr.Split('\n', 2)[1]);
        var status = Snapshot("status", backend, "-w", "json");
        Assert.Equal(0, status.ExitCode);
        Assert.Matches("""^\{"hash":\d+,"revision":6,"totalKey":10,"totalSize":\d+\}\n$""", status.Stdout);
        var dataDir = Path.Combine(_root, "from-backend");
        var restored = Snapshot("restore", backend, "--data-dir", dataDir, "--skip-hash-check");
        Assert.Equal(0, restored.ExitCode);
        using var store = MvccStore.Open(Path.Combine(dataDir, "member", "snap", "db"), new MvccStoreOptions());
        Assert.Equal(6, store.CurrentRevision);
        Assert.Equal(3, store.CompactRevision);
        Assert.Empty(Directory.GetFiles(_root, "*.etcd-db")); // the temp image is gone
    }

    [Fact]
    public void A_separate_wal_dir_gets_the_wal_and_must_not_exist()
    {
        var file = SnapshotFile();
        var dataDir = Path.Combine(_root, "d1");
        var walDir = Path.Combine(_root, "w1");
        Assert.Equal(0, Snapshot("restore", file, "--data-dir", dataDir, "--wal-dir", walDir).ExitCode);
        Assert.True(WriteAheadLog.Exists(walDir));
        Assert.False(Directory.Exists(Path.Combine(dataDir, "member", "wal")));
        Assert.True(File.Exists(Path.Combine(dataDir, "member", "snap", "db")));
        var again = Snapshot("restore", file, "--data-dir", Path.Combine(_root, "d2"), "--wal-dir", walDir);
        Assert.Equal($"Error: wal-dir \"{walDir}\" exists\n", again.Stderr);
        Assert.False(Directory.Exists(Path.Combine(_root, "d2")));
    }
}
