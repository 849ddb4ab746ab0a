using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Node.Configuration;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.EtcdDb;
using Akka.Etcd.Storage.Mvcc;
using Akka.Etcd.Storage.Snap;
using Akka.Etcd.Storage.Wal;
using Etcdserverpb;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Node.Snapshots;

/// <summary>A restore that cannot be done; the message is etcdctl's (printed after <c>Error: </c>).</summary>
internal sealed class SnapshotRestoreException(string message) : Exception(message);

/// <summary>The flags of <c>snapshot restore</c>, with etcdctl 3.4's defaults.</summary>
/// <param name="SnapshotPath">The snapshot file (from <c>etcdctl snapshot save</c>, ours or etcd's, or a raw db copy).</param>
/// <param name="Name">--name (default <c>default</c>).</param>
/// <param name="DataDir">--data-dir (default <c>&lt;name&gt;.etcd</c>).</param>
/// <param name="WalDir">--wal-dir, or empty for <c>&lt;data-dir&gt;/member/wal</c>.</param>
/// <param name="InitialCluster">--initial-cluster text (default <c>default=http://localhost:2380</c>).</param>
/// <param name="InitialClusterToken">--initial-cluster-token (default <c>etcd-cluster</c>).</param>
/// <param name="InitialAdvertisePeerUrls">--initial-advertise-peer-urls text (default <c>http://localhost:2380</c>).</param>
/// <param name="SkipHashCheck">--skip-hash-check: accept a file without (or with a wrong) SHA-256 trailer.</param>
internal sealed record RestoreRequest(string SnapshotPath, string Name, string DataDir, string WalDir, string InitialCluster,
    string InitialClusterToken, string InitialAdvertisePeerUrls, bool SkipHashCheck);

/// <summary>
/// <c>akka-etcd snapshot restore</c>: etcdctl 3.4's <c>snapshot restore</c> (clientv3/snapshot/v3_snapshot.go) building a
/// data dir in OUR layout that a member started with the same <c>--name</c>, <c>--initial-cluster</c>,
/// <c>--initial-cluster-token</c> and <c>--initial-advertise-peer-urls</c> restarts from:
/// <list type="bullet">
/// <item><c>member/snap/db</c>: our SQLite backend holding the snapshot's key versions (revisions, versions, leases),
/// compaction revision, leases, cluster version and auth buckets; the new membership; consistent index = the number of
/// members (a scheduled compaction is finished here, as etcd's restore does).</item>
/// <item><c>member/wal</c> (or --wal-dir): a WAL with the member and cluster IDs (computed as etcd does, by
/// <see cref="MemberBootstrap"/>), one committed ConfChangeAddNode entry per member at term 1 (indexes 1..n, as a new
/// member's log starts), HardState {term 1, vote = lowest member ID, commit n} and a snapshot marker at n.</item>
/// <item><c>member/snap/0000000000000001-&lt;n&gt;.snap</c>: a Raft snapshot at index n, term 1 with every member as voter.</item>
/// </list>
/// The same checks and messages as etcdctl: URL and cluster flag checks, <c>data-dir "X" exists</c>, the SHA-256 trailer
/// (<c>snapshot missing hash but --skip-hash-check=false</c>, <c>expected sha256 [..], got [..]</c>). Unlike etcdctl, a
/// failed restore leaves no partial data dir behind. Progress goes to stderr as etcdctl's JSON log lines.
/// </summary>
internal static class SnapshotRestore
{
    private const string RestoreCaller = "snapshot/v3_snapshot.go:296";
    private const string RestoredCaller = "snapshot/v3_snapshot.go:309";
    private const string CompactCaller = "mvcc/kvstore.go:388";
    private const string ResumeCompactCaller = "mvcc/kvstore.go:468";
    private const string MemberCaller = "membership/cluster.go:392";

    /// <summary>Runs the restore; progress lines go to <paramref name="log"/>.</summary>
    /// <exception cref="SnapshotRestoreException">A check failed or the snapshot cannot be read (etcdctl's message).</exception>
    public static void Run(RestoreRequest request, ZapProductionLog log, CancellationToken cancel = default)
    {
        var boot = Resolve(request);
        var dataDir = request.DataDir.Length > 0 ? request.DataDir : request.Name + ".etcd";
        if (Directory.Exists(dataDir) || File.Exists(dataDir)) throw new SnapshotRestoreException($"data-dir \"{dataDir}\" exists");
        var walDir = request.WalDir;
        if (walDir.Length == 0) walDir = Path.Combine(dataDir, "member", "wal");
        else if (Directory.Exists(walDir) || File.Exists(walDir)) throw new SnapshotRestoreException($"wal-dir \"{walDir}\" exists");
        var snapDir = Path.Combine(dataDir, "member", "snap");
        log.Info(RestoreCaller, "restoring snapshot", ("path", request.SnapshotPath), ("wal-dir", walDir), ("data-dir", dataDir), ("snap-dir", snapDir));

        if (!File.Exists(request.SnapshotPath))
            throw new SnapshotRestoreException(Directory.Exists(request.SnapshotPath)
                ? $"read {request.SnapshotPath}: is a directory"
                : $"open {request.SnapshotPath}: no such file or directory");
        if (SnapshotChecksum.Verify(request.SnapshotPath, request.SkipHashCheck) is { } hashError)
            throw new SnapshotRestoreException(hashError);

        try
        {
            using (var source = OpenSource(request.SnapshotPath))
            {
                SaveDb(source.Db, boot, Path.Combine(snapDir, "db"), log, cancel);
            }
            LogMembers(boot, log);
            SaveWalAndSnap(boot, walDir, snapDir);
        }
        catch
        {
            DeleteQuietly(dataDir);
            if (request.WalDir.Length > 0) DeleteQuietly(walDir);
            throw;
        }
        log.Info(RestoredCaller, "restored snapshot", ("path", request.SnapshotPath), ("wal-dir", walDir), ("data-dir", dataDir), ("snap-dir", snapDir));
    }

    /// <summary>
    /// etcdctl's flag checks (types.NewURLs, types.NewURLsMap, ServerConfig.VerifyBootstrap), then the member and cluster
    /// IDs exactly as our member derives them when it starts with the same flags.
    /// </summary>
    /// <exception cref="SnapshotRestoreException">etcd's message for the first failed check.</exception>
    internal static MemberBootstrap Resolve(RestoreRequest request)
    {
        IReadOnlyList<string> advertised;
        var cluster = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        try
        {
            advertised = GoValueSyntax.ParseUrls(request.InitialAdvertisePeerUrls).Select(Program.UrlText).ToArray();
            foreach (var (name, urls) in ParseUrlsMap(request.InitialCluster))
                cluster[name] = GoValueSyntax.ParseUrls(string.Join(',', urls)).Select(Program.UrlText).ToArray();
        }
        catch (FormatException e)
        {
            throw new SnapshotRestoreException(e.Message);
        }

        if (!cluster.TryGetValue(request.Name, out var own))
            throw new SnapshotRestoreException($"couldn't find local name \"{request.Name}\" in the initial cluster configuration");
        var sortedOwn = own.OrderBy(u => u, StringComparer.Ordinal).ToArray();
        var sortedAdvertised = advertised.OrderBy(u => u, StringComparer.Ordinal).ToArray();
        if (!sortedOwn.SequenceEqual(sortedAdvertised, StringComparer.Ordinal))
        {
            var reason = sortedOwn.Length != sortedAdvertised.Length
                ? $"len({GoQuoted(sortedAdvertised)}) != len({GoQuoted(sortedOwn)})"
                : FirstDifference(sortedAdvertised, sortedOwn);
            var missing = sortedOwn.Where(u => !advertised.Contains(u)).Select(u => $"{request.Name}={u}").ToArray();
            if (missing.Length > 0)
                throw new SnapshotRestoreException(
                    $"--initial-cluster has {string.Join(',', missing)} but missing from --initial-advertise-peer-urls={string.Join(',', sortedAdvertised)} ({reason})");
            var extra = sortedAdvertised.Where(u => !own.Contains(u)).ToArray();
            throw new SnapshotRestoreException(
                $"--initial-advertise-peer-urls has {string.Join(',', extra)} but missing from --initial-cluster={string.Join(',', sortedAdvertised.Select(u => $"{request.Name}={u}"))}");
        }
        var all = cluster.SelectMany(member => member.Value).ToList();
        if (all.Count != all.Distinct(StringComparer.Ordinal).Count())
        {
            var text = string.Join(',', cluster.SelectMany(member => member.Value.Select(u => $"{member.Key}={u}")).OrderBy(p => p, StringComparer.Ordinal));
            throw new SnapshotRestoreException($"initial cluster {text} has duplicate url");
        }
        return MemberBootstrap.Resolve(new ServerOptions
        {
            Name = request.Name,
            InitialCluster = cluster,
            InitialClusterToken = request.InitialClusterToken,
            AdvertisePeerUrls = advertised,
            // Members publish their client URLs when they start, as after etcd's restore.
            AdvertiseClientUrls = [],
        });
    }

    /// <summary>etcd's types.parse: <c>name=url,name=url</c>, a name may repeat; an entry without <c>=</c> has an empty URL.</summary>
    private static Dictionary<string, List<string>> ParseUrlsMap(string text)
    {
        var map = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var entry in text.Split(','))
        {
            if (entry.Length == 0) continue;
            var eq = entry.IndexOf('=');
            var (name, url) = eq >= 0 ? (entry[..eq], entry[(eq + 1)..]) : (entry, "");
            if (!map.TryGetValue(name, out var urls)) map[name] = urls = [];
            urls.Add(url);
        }
        return map;
    }

    private static string GoQuoted(IEnumerable<string> values) => "[" + string.Join(' ', values.Select(v => $"\"{v}\"")) + "]";

    private static string FirstDifference(string[] a, string[] b)
    {
        for (var i = 0; i < a.Length; i++)
            if (a[i] != b[i])
                return $"resolved urls: \"{a[i]}\" != \"{b[i]}\"";
        return "";
    }

    private static SnapshotSource OpenSource(string path)
    {
        try
        {
            return SnapshotSource.Open(path);
        }
        catch (BboltFormatException e)
        {
            throw new SnapshotRestoreException(e.Message);
        }
    }

    /// <summary>etcd's saveDB: the snapshot's state into a fresh backend of ours, ready for a new cluster.</summary>
    private static void SaveDb(BboltFile db, MemberBootstrap boot, string dbPath, ZapProductionLog log, CancellationToken cancel)
    {
        var consistentIndex = (ulong)boot.Members.Count;
        EtcdDbImportResult imported;
        try
        {
            using var backend = SqliteBackend.Open(dbPath);
            imported = EtcdDbImport.Import(db, backend, boot.Members, consistentIndex, cancel);
        }
        catch (Exception e) when (e is BboltFormatException or FormatException or InvalidProtocolBufferException)
        {
            throw new SnapshotRestoreException(e.Message);
        }
        if (imported.FinishedCompactRevision is { } finished)
        {
            log.Info(CompactCaller, "restored last compact revision", ("meta-bucket-name", "meta"),
                ("meta-bucket-name-key", "finishedCompactRev"), ("restored-compact-revision", finished));
        }
        if (imported.ScheduledCompactRevision is { } scheduled && scheduled > (imported.FinishedCompactRevision ?? 0))
        {
            log.Info(ResumeCompactCaller, "resume scheduled compaction", ("meta-bucket-name", "meta"),
                ("meta-bucket-name-key", "scheduledCompactRev"), ("scheduled-compact-revision", scheduled));
        }
        // Opening the store rebuilds the key index from the rows (so a data dir that would not start fails here, not
        // later) and finishes a compaction that was scheduled but not finished when the snapshot was taken.
        using var store = MvccStore.Open(dbPath, new MvccStoreOptions());
        store.ForceCommit(durable: true);
    }

    /// <summary>etcd's saveWALAndSnap: the new member's log, as our member bootstraps a new cluster, covered by a snapshot.</summary>
    private static void SaveWalAndSnap(MemberBootstrap boot, string walDir, string snapDir)
    {
        var entries = new List<Entry>();
        foreach (var member in boot.Members)
        {
            var change = new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeID = member.ID, Context = member.ToByteString() };
            entries.Add(new Entry { Term = 1, Index = (ulong)entries.Count + 1, Type = EntryType.EntryConfChange, Data = change.ToByteString() });
        }
        var commit = (ulong)entries.Count;
        using var wal = WriteAheadLog.Create(walDir, new WalOptions(), boot.MemberId, boot.ClusterId);
        wal.Append(new HardState { Term = 1, Vote = boot.Members[0].ID, Commit = commit }, entries);
        wal.Sync();
        var confState = new ConfState();
        confState.Voters.AddRange(boot.Members.Select(m => m.ID));
        new SnapshotFiles(snapDir).Save(new Raftpb.Snapshot
        {
            Metadata = new SnapshotMetadata { Index = commit, Term = 1, ConfState = confState },
        });
        wal.SaveSnapshotMarker(commit, 1);
    }

    /// <summary>Logs etcd's "added member" line for every member of the new cluster, in ID order.</summary>
    private static void LogMembers(MemberBootstrap boot, ZapProductionLog log)
    {
        foreach (var member in boot.Members)
        {
            log.Info(MemberCaller, "added member", ("cluster-id", EtcdDbLayout.MemberKey(boot.ClusterId)), ("local-member-id", "0"),
                ("added-peer-id", EtcdDbLayout.MemberKey(member.ID)), ("added-peer-peer-urls", member.PeerURLs.ToArray()));
        }
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the error that made the restore fail is what the operator needs.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
