using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Etcd.EndToEnd.Tests.Harness;

namespace Akka.Etcd.EndToEnd.Tests.Snapshots;

/// <summary>
/// Members started on loopback with their data dirs in one temp root, where snapshot files and restored data dirs also
/// go: fresh members, or members (etcd 3.4 or ours) started on a data dir a restore just built. Plus the offline
/// commands: <c>etcdctl snapshot ...</c> and <c>akka-etcd snapshot ...</c> as processes. Deletes everything on dispose.
/// Not thread-safe: drive it from the test.
/// </summary>
public sealed class SnapshotHarness : IAsyncDisposable
{
    /// <summary>How long a started member or cluster may take to be healthy and agree on a leader.</summary>
    public static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly List<ClusterMember> _members = new();

    /// <summary>The temp root; deleted on dispose.</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("akka-etcd-snapshot-e2e-").FullName;

    /// <summary>A path inside <see cref="Root"/>.</summary>
    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>
    /// Describes members <paramref name="names"/> of one cluster on fresh ports with <c>--initial-cluster-token</c>
    /// <paramref name="token"/>; their data dirs are <c>Root/NAME.data</c>. Nothing runs yet.
    /// </summary>
    public IReadOnlyList<ClusterMember> Describe(ServerKind kind, string token, params string[] names)
    {
        var ports = LoopbackPorts.Free(2 * names.Length);
        var initialCluster = string.Join(',', names.Select((n, i) => $"{n}=http://127.0.0.1:{ports[2 * i + 1]}"));
        var members = names.Select((n, i) => new ClusterMember(kind, n, ports[2 * i], ports[2 * i + 1], Root,
            ["--initial-cluster", initialCluster, "--initial-cluster-token", token, "--initial-cluster-state", "new"])).ToList();
        _members.AddRange(members);
        return members;
    }

    /// <summary>The restore flags that give <paramref name="member"/> its data dir (its name, cluster, token, peer URL).</summary>
    public static string[] RestoreFlags(ClusterMember member)
    {
        var flags = member.Flags;
        string Flag(string name) => flags[flags.ToList().IndexOf(name) + 1];
        return
        [
            "--name", member.Name, "--data-dir", member.DataDir, "--initial-cluster", Flag("--initial-cluster"),
            "--initial-cluster-token", Flag("--initial-cluster-token"), "--initial-advertise-peer-urls", member.PeerUrl,
        ];
    }

    /// <summary>Starts <paramref name="members"/> together and waits until all are healthy and agree on a leader.</summary>
    public static async Task StartAsync(params ClusterMember[] members)
    {
        foreach (var member in members) member.Start();
        await Task.WhenAll(members.Select(m => m.WaitHealthyAsync(StartDeadline)));
        var clock = Stopwatch.StartNew();
        var endpoints = string.Join(',', members.Select(m => m.ClientUrl));
        while (true)
        {
            var status = await new Etcdctl(endpoints, "--dial-timeout=1s", "--command-timeout=2s")
                .RunAsync(["endpoint", "status", "-w", "json"], stdin: null, timeout: TimeSpan.FromSeconds(10));
            if (status.Succeeded)
            {
                using var doc = JsonDocument.Parse(status.Stdout);
                var leaders = doc.RootElement.EnumerateArray().Select(e => e.GetProperty("Status").GetProperty("leader").GetUInt64()).ToHashSet();
                if (doc.RootElement.GetArrayLength() == members.Length && leaders.Count == 1 && !leaders.Contains(0UL)) return;
            }
            if (clock.Elapsed > StartDeadline)
                throw new TimeoutException($"no agreed leader within {StartDeadline}: {status.Stdout}{status.Stderr}\n" +
                                           string.Join('\n', members.Select(m => m.LogTail(20))));
            await Task.Delay(100);
        }
    }

    /// <summary>Runs <c>etcdctl args...</c> without an endpoint (the offline snapshot commands).</summary>
    public static Task<EtcdctlResult> EtcdctlAsync(params string[] args) => RunAsync(EtcdAvailable.Etcdctl(), [], args);

    /// <summary>Runs <c>dotnet akka-etcd.dll args...</c> (our executable, from the test output directory).</summary>
    public static Task<EtcdctlResult> AkkaEtcdAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "akka-etcd.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing; build src/Node");
        return RunAsync(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [dll], args);
    }

    /// <summary>Runs <c>etcdctl snapshot save FILE</c> against <paramref name="member"/> and asserts it succeeded.</summary>
    public async Task<string> SaveAsync(ClusterMember member, string fileName)
    {
        var path = PathOf(fileName);
        var saved = await member.Etcdctl().RunAsync(["snapshot", "save", path], stdin: null, timeout: TimeSpan.FromMinutes(2));
        Assert.True(saved.Succeeded, $"snapshot save from {member.Kind} failed: {saved.Stdout}{saved.Stderr}");
        Assert.Contains($"Snapshot saved at {path}", saved.Stdout);
        return path;
    }

    /// <summary>Asserts that etcdctl's and akka-etcd's <c>snapshot status -w json</c> print the same for <paramref name="path"/>; returns it.</summary>
    public static async Task<SnapshotStatus> AssertSameStatusAsync(string path)
    {
        var theirs = await EtcdctlAsync("snapshot", "status", path, "-w", "json");
        var ours = await AkkaEtcdAsync("snapshot", "status", path, "-w", "json");
        Assert.True(theirs.Succeeded, theirs.Stderr);
        Assert.True(ours.Succeeded, ours.Stderr);
        Assert.Equal(theirs.Stdout, ours.Stdout);
        foreach (var format in new[] { "simple", "table", "fields" })
            Assert.Equal((await EtcdctlAsync("snapshot", "status", path, "-w", format)).Stdout, (await AkkaEtcdAsync("snapshot", "status", path, "-w", format)).Stdout);
        return SnapshotStatus.Parse(theirs.Stdout);
    }

    /// <summary>Kills every member and deletes <see cref="Root"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members) await member.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }

    private static async Task<EtcdctlResult> RunAsync(string program, string[] prefix, string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.Environment["ETCDCTL_API"] = "3";
        foreach (var arg in prefix.Concat(args)) info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return new EtcdctlResult(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>What <c>snapshot status -w json</c> prints.</summary>
public sealed record SnapshotStatus(uint Hash, long Revision, int TotalKey, long TotalSize)
{
    /// <summary>Parses etcdctl's JSON line.</summary>
    public static SnapshotStatus Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        return new SnapshotStatus(root.GetProperty("hash").GetUInt32(), root.GetProperty("revision").GetInt64(),
            root.GetProperty("totalKey").GetInt32(), root.GetProperty("totalSize").GetInt64());
    }
}

/// <summary>
/// What a member's keyspace looks like through etcdctl: every key with its value, create/mod revision, version and
/// lease (<c>get "" --from-key -w json</c>), the revision, HashKV at that revision and the compact revision
/// (<c>endpoint hashkv</c>), and the leases with their granted TTL and attached keys. Two members with equal images
/// hold the same data. Immutable.
/// </summary>
public sealed partial record StoreImage(long Revision, long CompactRevision, uint HashKv, string Keys, string Leases)
{
    /// <summary>Reads the image of <paramref name="member"/> at its current revision (or <paramref name="atRevision"/>).</summary>
    public static async Task<StoreImage> ReadAsync(ClusterMember member, long atRevision = 0)
    {
        var ctl = member.Etcdctl();
        var get = await ctl.RunAsync(atRevision > 0 ? ["get", "", "--from-key", "-w", "json", "--rev", atRevision.ToString()] : ["get", "", "--from-key", "-w", "json"]);
        Assert.True(get.Succeeded, get.Stderr);
        using var kvs = JsonDocument.Parse(get.Stdout);
        var revision = atRevision > 0 ? atRevision : kvs.RootElement.GetProperty("header").GetProperty("revision").GetInt64();
        var keys = kvs.RootElement.TryGetProperty("kvs", out var list) ? list.GetRawText() : "[]";

        var hash = await ctl.RunAsync("endpoint", "hashkv", "--rev", revision.ToString(), "-w", "json");
        Assert.True(hash.Succeeded, hash.Stderr);
        using var hashDoc = JsonDocument.Parse(hash.Stdout);
        var hashKv = hashDoc.RootElement[0].GetProperty("HashKV");

        var leases = new StringBuilder();
        var listed = await ctl.RunAsync("lease", "list");
        Assert.True(listed.Succeeded, listed.Stderr);
        foreach (var id in LeaseId().Matches(listed.Stdout).Select(m => m.Value).Order(StringComparer.Ordinal))
        {
            var ttl = await ctl.RunAsync("lease", "timetolive", id, "--keys", "-w", "json");
            Assert.True(ttl.Succeeded, ttl.Stderr);
            using var ttlDoc = JsonDocument.Parse(ttl.Stdout);
            IEnumerable<string?> attached = ttlDoc.RootElement.TryGetProperty("keys", out var k)
                ? k.EnumerateArray().Select(e => Encoding.UTF8.GetString(e.GetBytesFromBase64())).Order(StringComparer.Ordinal)
                : [];
            leases.Append(id).Append(" granted ").Append(ttlDoc.RootElement.GetProperty("granted-ttl").GetInt64())
                .Append(" keys ").AppendJoin(',', attached).Append('\n');
        }
        return new StoreImage(revision, hashKv.GetProperty("compact_revision").GetInt64(), hashKv.GetProperty("hash").GetUInt32(), keys, leases.ToString());
    }

    [GeneratedRegex("^[0-9a-f]{1,16}$", RegexOptions.Multiline)]
    private static partial Regex LeaseId();
}
