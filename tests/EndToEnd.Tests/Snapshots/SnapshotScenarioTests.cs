using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Snapshots;

/// <summary>
/// <c>etcdctl snapshot save</c>, <c>status</c> and <c>restore</c> against etcd and against ours (tests/scenarios/snapshot.sh):
/// etcdctl's own code must take our member's snapshot exactly as etcd's. Masked on top of the usual normalisation:
/// zap's epoch timestamps and seconds, the temp dir, sizes and the status hash (the two files hold the same keys, but
/// the member's consistent index, its members and the page layout differ) and the digests of a sha256 mismatch.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class SnapshotScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("akka-etcd-snapshot-scenario-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Save_status_and_restore_read_our_snapshot_as_etcds()
    {
        var side = 0;
        var transcript = await servers.RunAsync(async s =>
        {
            var dir = Path.Combine(_root, $"side{side++}");
            Directory.CreateDirectory(dir);
            var ctl = s.Member.Etcdctl();
            async Task Step(params string[] args)
            {
                var result = await ctl.RunAsync(args);
                s.Transcript.Record(args.Select(a => a.Replace(dir, "TMP")),
                    result with { Stdout = Mask(result.Stdout, dir), Stderr = Mask(result.Stderr, dir) });
            }
            await Step("put", "snap/a", "1");
            await Step("put", "snap/b", "2");
            await Step("put", "snap/a", "3");
            await Step("del", "snap/b");
            var lease = (await ctl.RunAsync("lease", "grant", "600")).Stdout.Split(' ')[1];
            await Step("put", "snap/c", "4", "--lease=" + lease);
            await Step("compaction", "3");
            await Step("put", "snap/d", "5");
            var file = Path.Combine(dir, "s.db");
            await Step("snapshot", "save", file);
            foreach (var format in new[] { "simple", "json", "table", "fields", "protobuf" })
                await Step("snapshot", "status", file, "-w", format);
            await Step("snapshot", "restore", file, "--name", "r1", "--data-dir", Path.Combine(dir, "r1"),
                "--initial-cluster", "r1=http://127.0.0.1:23890", "--initial-advertise-peer-urls", "http://127.0.0.1:23890");
            await Step("snapshot", "status", Path.Combine(dir, "r1", "member", "snap", "db"), "-w", "json");
            await Step("snapshot", "restore", file, "--name", "r1", "--data-dir", Path.Combine(dir, "r1"),
                "--initial-cluster", "r1=http://127.0.0.1:23890", "--initial-advertise-peer-urls", "http://127.0.0.1:23890");
            var bytes = await File.ReadAllBytesAsync(file);
            await File.WriteAllBytesAsync(Path.Combine(dir, "bare.db"), bytes[..^32]);
            await Step("snapshot", "restore", Path.Combine(dir, "bare.db"), "--data-dir", Path.Combine(dir, "bare"));
            await Step("snapshot", "restore", Path.Combine(dir, "bare.db"), "--data-dir", Path.Combine(dir, "bare2"), "--skip-hash-check");
            bytes[100] ^= 1;
            await File.WriteAllBytesAsync(Path.Combine(dir, "bad.db"), bytes);
            await Step("snapshot", "restore", Path.Combine(dir, "bad.db"), "--data-dir", Path.Combine(dir, "bad"));
        }, etcd =>
        {
            Assert.Contains("Snapshot saved at TMP/s.db\n", etcd);
            Assert.Contains("{\"hash\":N,\"revision\":7,\"totalKey\":13,\"totalSize\":N}", etcd);
            Assert.Contains("\"msg\":\"restored last compact revision\",\"meta-bucket-name\":\"meta\",\"meta-bucket-name-key\":\"finishedCompactRev\",\"restored-compact-revision\":3", etcd);
            Assert.Contains("\"msg\":\"restored snapshot\"", etcd);
            Assert.Contains("Error: data-dir \"TMP/r1\" exists\nrc=1\n", etcd);
            Assert.Contains("Error: snapshot missing hash but --skip-hash-check=false\nrc=1\n", etcd);
            Assert.Contains("Error: expected sha256 [DIGEST], got [DIGEST]\nrc=1\n", etcd);
        });
        output.WriteLine(transcript);
    }

    private static string Mask(string text, string dir)
    {
        text = text.Replace(dir, "TMP");
        text = EpochTimestamp().Replace(text, "\"ts\":T");
        text = Took().Replace(text, "\"took\":T");
        text = StatusNumbers().Replace(text, m => $"\"{m.Groups[1].Value}\":N");
        text = FieldNumbers().Replace(text, m => $"\"{m.Groups[1].Value}\" : N");
        text = SimpleHash().Replace(text, "HASH, ");
        text = TableHash().Replace(text, "| HASH |");
        text = Digests().Replace(text, "expected sha256 [DIGEST], got [DIGEST]");
        return text;
    }

    [GeneratedRegex("\"ts\":[0-9.e+]+")]
    private static partial Regex EpochTimestamp();

    [GeneratedRegex("\"took\":[0-9.e+-]+")]
    private static partial Regex Took();

    [GeneratedRegex("\"(hash|totalSize)\":[0-9]+")]
    private static partial Regex StatusNumbers();

    [GeneratedRegex("\"(Hash|Size)\" : [0-9]+")]
    private static partial Regex FieldNumbers();

    [GeneratedRegex("(?m)^[0-9a-f]{1,8}, ")]
    private static partial Regex SimpleHash();

    [GeneratedRegex(@"(?m)^\| +[0-9a-f]{1,8} \|")]
    private static partial Regex TableHash();

    [GeneratedRegex(@"expected sha256 \[[0-9 ]+\], got \[[0-9 ]+\]")]
    private static partial Regex Digests();
}
