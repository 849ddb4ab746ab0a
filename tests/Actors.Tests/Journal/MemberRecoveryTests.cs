using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.TestDoubles;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Actors.Tests.Journal;

/// <summary>
/// A whole member restarting from what its journal kept: a data dir written by the build before the journal plugin
/// (no migration), a backend that lost its last commits (the log replays them, to the same revision), for both
/// journals, and a WAL on the simulated disk that lost its unsynced writes in a crash while the member ran.
/// </summary>
public sealed class MemberRecoveryTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-recovery-" + Guid.NewGuid().ToString("N"));

    public static TheoryData<string> Journals => new() { RaftLogPlugins.WalPluginId, RaftLogPlugins.SqlPluginId };

    private ServerOptions Options(string name = "m1", string? journal = null) => new()
    {
        Name = name,
        DataDir = _dir,
        InitialCluster = new Dictionary<string, IReadOnlyList<string>> { [name] = new[] { name == "legacy" ? "http://127.0.0.1:23380" : "http://127.0.0.1:2380" } },
        AdvertisePeerUrls = new[] { name == "legacy" ? "http://127.0.0.1:23380" : "http://127.0.0.1:2380" },
        AdvertiseClientUrls = new[] { "http://127.0.0.1:2379" },
        HeartbeatIntervalMs = 10,
        ElectionTimeoutMs = 100,
        SnapshotCount = 25,
        SnapshotCatchUpEntries = 5,
        JournalPluginId = journal,
    };

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private static Task<LocalMember> Start(ServerOptions options) => LocalMember.StartAsync(options, NullLoggerFactory.Instance).WaitAsync(Deadline);

    private static async Task<List<(string Key, string Value, long ModRevision)>> RangeAsync(LocalMember server, string prefix)
    {
        var range = await server.Gateway.RangeAsync(new RangeRequest { Key = B(prefix), RangeEnd = B(prefix[..^1] + (char)(prefix[^1] + 1)) }, CancellationToken.None).WaitAsync(Deadline);
        return range.Kvs.Select(kv => (kv.Key.ToStringUtf8(), kv.Value.ToStringUtf8(), kv.ModRevision)).ToList();
    }

    [Fact]
    public async Task A_data_dir_written_before_the_journal_plugin_opens_unchanged_at_the_same_revision()
    {
        Directory.CreateDirectory(_dir);
        await using (var gzip = new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Journal", "Fixtures", "legacy-member.tar.gz")), CompressionMode.Decompress))
        {
            await TarFile.ExtractToDirectoryAsync(gzip, _dir, overwriteFiles: false);
        }
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Journal", "Fixtures", "legacy-member.range.json")));
        var expected = json.RootElement.GetProperty("kvs").EnumerateArray().Select(kv => (
            System.Text.Encoding.UTF8.GetString(kv.GetProperty("key").GetBytesFromBase64()),
            System.Text.Encoding.UTF8.GetString(kv.GetProperty("value").GetBytesFromBase64()),
            kv.GetProperty("mod_revision").GetInt64())).ToList();
        var revision = json.RootElement.GetProperty("header").GetProperty("revision").GetInt64();

        long next;
        await using (var server = await Start(Options("legacy") with { SnapshotCount = 100_000 }))
        {
            Assert.Equal(expected, await RangeAsync(server, "key/"));
            var leased = await server.Gateway.RangeAsync(new RangeRequest { Key = B("leased") }, CancellationToken.None);
            Assert.NotEqual(0, Assert.Single(leased.Kvs).Lease);
            var put = await server.Gateway.PutAsync(new PutRequest { Key = B("after"), Value = B("1") }, CancellationToken.None).WaitAsync(Deadline);
            Assert.Equal(revision + 1, put.Header.Revision);
            next = put.Header.Revision;
        }
        await using (var server = await Start(Options("legacy") with { SnapshotCount = 100_000 }))
        {
            Assert.Equal(expected, await RangeAsync(server, "key/"));
            var after = await RangeAsync(server, "after");
            Assert.Equal(next, Assert.Single(after).ModRevision);
        }
    }

    [Theory]
    [MemberData(nameof(Journals))]
    public async Task A_backend_that_lost_its_last_commits_is_replayed_from_the_log_to_the_same_revision(string journal)
    {
        // No Raft snapshot in between: a snapshot makes the backend durable first, so it is never behind one.
        var options = Options(journal: journal) with { SnapshotCount = 100_000 };
        var snapDir = Path.Combine(_dir, "member", "snap");
        var saved = Path.Combine(_dir, "saved-backend");
        var acknowledged = new List<(string, string, long)>();
        await using (var server = await Start(options))
        {
            for (var i = 0; i < 40; i++)
            {
                var put = await server.Gateway.PutAsync(new PutRequest { Key = B($"k/{i:D2}"), Value = B($"v{i}") }, CancellationToken.None).WaitAsync(Deadline);
                acknowledged.Add(($"k/{i:D2}", $"v{i}", put.Header.Revision));
            }
        }
        CopyBackend(snapDir, saved); // the backend as of 40 puts
        await using (var server = await Start(options))
        {
            for (var i = 40; i < 70; i++)
            {
                var put = await server.Gateway.PutAsync(new PutRequest { Key = B($"k/{i:D2}"), Value = B($"v{i}") }, CancellationToken.None).WaitAsync(Deadline);
                acknowledged.Add(($"k/{i:D2}", $"v{i}", put.Header.Revision));
            }
        }
        CopyBackend(saved, snapDir); // as if its last 30 applies had never been committed

        await using (var server = await Start(options))
        {
            Assert.Equal(acknowledged, await RangeAsync(server, "k/"));
            var status = await server.Gateway.RangeAsync(new RangeRequest { Key = B("k/00") }, CancellationToken.None);
            Assert.Equal(acknowledged[^1].Item3, status.Header.Revision);
        }
    }

    [Fact]
    public async Task A_member_whose_WAL_disk_crashed_under_it_restarts_with_every_acknowledged_put()
    {
        var disk = new SimulatedDisk();
        var options = Options() with { FileSystem = disk };
        var acknowledged = new List<(string, string, long)>();
        var server = await Start(options);
        try
        {
            var puts = Enumerable.Range(0, 60).Select(async i =>
            {
                var put = await server.Gateway.PutAsync(new PutRequest { Key = B($"k/{i:D2}"), Value = B($"v{i}") }, CancellationToken.None);
                lock (acknowledged)
                {
                    acknowledged.Add(($"k/{i:D2}", $"v{i}", put.Header.Revision));
                }
            }).ToList();
            await Task.WhenAll(puts).WaitAsync(Deadline);
            disk.Crash(); // power lost: what was not fsynced is gone, the member's file handles are dead
        }
        finally
        {
            await server.DisposeAsync();
        }

        await using var restarted = await Start(options);
        Assert.Equal(acknowledged.OrderBy(a => a.Item1), await RangeAsync(restarted, "k/"));
        var next = await restarted.Gateway.PutAsync(new PutRequest { Key = B("after"), Value = B("x") }, CancellationToken.None).WaitAsync(Deadline);
        Assert.True(next.Header.Revision > acknowledged.Max(a => a.Item3));
    }

    private static void CopyBackend(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var name in new[] { "db", "db-wal", "db-shm" })
        {
            var source = Path.Combine(from, name);
            var target = Path.Combine(to, name);
            if (File.Exists(source))
            {
                File.Copy(source, target, overwrite: true);
            }
            else if (File.Exists(target))
            {
                File.Delete(target);
            }
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
