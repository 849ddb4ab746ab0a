using System.Globalization;
using System.Text;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.EtcdDb;

namespace Akka.Etcd.Node.Snapshots;

/// <summary>
/// <c>akka-etcd snapshot restore|status</c>: etcdctl 3.4's offline snapshot commands (etcdctl/ctlv3/command/snapshot_command.go)
/// on our executable, for snapshots taken from our members or from etcd 3.4 (<c>etcdctl snapshot save</c> against
/// either). Same flags, output formats, messages and exit codes as etcdctl: <c>Error: ...</c> on stderr and exit 1 for a
/// failed command, 128 for a wrong argument count, 4 for an unsupported output format; usage errors print the usage.
/// <c>snapshot save</c> needs a client connection and stays etcdctl's. Thread-safe (no shared state).
/// </summary>
internal static class SnapshotCommand
{
    private const int ExitError = 1;
    private const int ExitBadFeature = 4;
    private const int ExitBadArgs = 128;

    private static readonly IReadOnlyDictionary<string, char?> StatusFlags = new Dictionary<string, char?> { ["write-out"] = 'w' };

    private static readonly IReadOnlyDictionary<string, char?> RestoreFlags = new Dictionary<string, char?>
    {
        ["data-dir"] = null,
        ["wal-dir"] = null,
        ["initial-cluster"] = null,
        ["initial-cluster-token"] = null,
        ["initial-advertise-peer-urls"] = null,
        ["name"] = null,
        ["write-out"] = 'w',
    };

    private static readonly IReadOnlySet<string> RestoreBools = new HashSet<string>(StringComparer.Ordinal) { "skip-hash-check" };

    /// <summary>Runs <c>snapshot</c> with <paramref name="args"/> (after the word <c>snapshot</c>); returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var subcommand = args.Count > 0 ? args[0] : "";
        var rest = args.Skip(1).ToArray();
        switch (subcommand)
        {
            case "status":
                return Status(rest, stdout, stderr);
            case "restore":
                return Restore(rest, stdout, stderr);
            case "" or "-h" or "--help" or "help":
                stdout.Write(Usage());
                return 0;
            default:
                stderr.WriteLine($"Error: unknown command \"{subcommand}\" for \"akka-etcd snapshot\" (snapshot save is etcdctl's: etcdctl --endpoints=URL snapshot save FILE)");
                stdout.Write(Usage());
                return ExitError;
        }
    }

    private static int Status(string[] args, TextWriter stdout, TextWriter stderr)
    {
        SnapshotCommandLine line;
        try
        {
            line = SnapshotCommandLine.Parse(args, StatusFlags, new HashSet<string>());
        }
        catch (SnapshotUsageException e)
        {
            return UsageError(e.Message, StatusUsage(), stdout, stderr);
        }
        if (line.Help)
        {
            stdout.Write(StatusUsage());
            return 0;
        }
        if (line.Arguments.Count != 1) return Fail(stderr, ExitBadArgs, "snapshot status requires exactly one argument");
        var format = line.Value("write-out", "simple");
        if (format is not ("simple" or "json" or "table" or "fields" or "protobuf"))
            return Fail(stderr, ExitBadFeature, "unsupported output format");
        var path = line.Arguments[0];
        if (!File.Exists(path) && !Directory.Exists(path)) return Fail(stderr, ExitError, $"stat {path}: no such file or directory");
        EtcdDbStatus status;
        try
        {
            using var source = SnapshotSource.Open(path);
            status = EtcdDbStatus.Compute(source.Db);
        }
        catch (BboltFormatException e)
        {
            return Fail(stderr, ExitError, e.Message);
        }
        catch (UnauthorizedAccessException)
        {
            return Fail(stderr, ExitError, $"open {path}: permission denied");
        }
        catch (Exception e) when (e is IOException or FormatException or Microsoft.Data.Sqlite.SqliteException or Google.Protobuf.InvalidProtocolBufferException)
        {
            return Fail(stderr, ExitError, e.Message);
        }
        if (format == "protobuf") return Fail(stderr, ExitBadFeature, "protobuf not supported as output format");
        stdout.Write(FormatStatus(status, format));
        return 0;
    }

    private static int Restore(string[] args, TextWriter stdout, TextWriter stderr)
    {
        SnapshotCommandLine line;
        try
        {
            line = SnapshotCommandLine.Parse(args, RestoreFlags, RestoreBools);
        }
        catch (SnapshotUsageException e)
        {
            return UsageError(e.Message, RestoreUsage(), stdout, stderr);
        }
        if (line.Help)
        {
            stdout.Write(RestoreUsage());
            return 0;
        }
        if (line.Arguments.Count != 1) return Fail(stderr, ExitBadArgs, "snapshot restore requires exactly one argument");
        var name = line.Value("name", "default");
        var request = new RestoreRequest(
            SnapshotPath: line.Arguments[0],
            Name: name,
            DataDir: line.Value("data-dir", ""),
            WalDir: line.Value("wal-dir", ""),
            InitialCluster: line.Value("initial-cluster", "default=http://localhost:2380"),
            InitialClusterToken: line.Value("initial-cluster-token", "etcd-cluster"),
            InitialAdvertisePeerUrls: line.Value("initial-advertise-peer-urls", "http://localhost:2380"),
            SkipHashCheck: line.Bool("skip-hash-check"));
        try
        {
            SnapshotRestore.Run(request, new ZapProductionLog(stderr));
            return 0;
        }
        catch (SnapshotRestoreException e)
        {
            return Fail(stderr, ExitError, e.Message);
        }
        catch (Exception e)
        {
            // Anything else (an unreadable record, a full disk): etcdctl's one-line error; the restore removed its data dir.
            return Fail(stderr, ExitError, e.Message);
        }
    }

    /// <summary>etcdctl's DBStatus printers: simple (<c>hash, revision, keys, size</c>), json, table and fields.</summary>
    internal static string FormatStatus(EtcdDbStatus status, string format)
    {
        var hash = status.Hash.ToString("x", CultureInfo.InvariantCulture);
        var size = HumanBytes.Format((ulong)status.TotalSize);
        string[] row = [hash, status.Revision.ToString(CultureInfo.InvariantCulture), status.TotalKey.ToString(CultureInfo.InvariantCulture), size];
        return format switch
        {
            "json" => string.Create(CultureInfo.InvariantCulture,
                $"{{\"hash\":{status.Hash},\"revision\":{status.Revision},\"totalKey\":{status.TotalKey},\"totalSize\":{status.TotalSize}}}\n"),
            "table" => Table(["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"], row),
            "fields" => string.Create(CultureInfo.InvariantCulture,
                $"\"Hash\" : {status.Hash}\n\"Revision\" : {status.Revision}\n\"Keys\" : {status.TotalKey}\n\"Size\" : {status.TotalSize}\n"),
            _ => string.Join(", ", row) + "\n",
        };
    }

    /// <summary>One-row table as etcdctl's tablewriter draws it: centred header, right-aligned cells.</summary>
    private static string Table(string[] header, string[] row)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, row[i].Length)).ToArray();
        var border = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+\n";
        var text = new StringBuilder(border);
        text.Append('|');
        for (var i = 0; i < header.Length; i++)
        {
            var gap = widths[i] - header[i].Length;
            text.Append(' ').Append(new string(' ', gap / 2)).Append(header[i]).Append(new string(' ', gap - gap / 2)).Append(" |");
        }
        text.Append('\n').Append(border).Append('|');
        for (var i = 0; i < row.Length; i++) text.Append(' ').Append(row[i].PadLeft(widths[i])).Append(" |");
        return text.Append('\n').Append(border).ToString();
    }

    private static int Fail(TextWriter stderr, int code, string message)
    {
        stderr.WriteLine("Error: " + message);
        return code;
    }

    private static int UsageError(string message, string usage, TextWriter stdout, TextWriter stderr)
    {
        stderr.WriteLine("Error: " + message);
        stdout.WriteLine(usage);
        return Fail(stderr, ExitError, message);
    }

    private static string Usage() => """
        NAME:
        	snapshot - Manages etcd node snapshots (offline: status and restore)

        USAGE:
        	akka-etcd snapshot <subcommand> [flags]

        COMMANDS:
        	restore	Restores an etcd member snapshot to an akka-etcd data directory
        	status	Gets backend snapshot status of a given file

        Take snapshots with etcdctl: etcdctl --endpoints=URL snapshot save FILE (against akka-etcd or etcd 3.4).

        """;

    private static string StatusUsage() => """
        NAME:
        	snapshot status - Gets backend snapshot status of a given file

        USAGE:
        	akka-etcd snapshot status <filename> [flags]

        DESCRIPTION:
        	When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
        	The items in the lists are hash, revision, total keys, total size.

        OPTIONS:
          -h, --help[=false]		help for status
          -w, --write-out="simple"	set the output format (fields, json, protobuf, simple, table)

        """;

    private static string RestoreUsage() => """
        NAME:
        	snapshot restore - Restores an etcd member snapshot to an akka-etcd data directory

        USAGE:
        	akka-etcd snapshot restore <filename> [options] [flags]

        OPTIONS:
              --data-dir=""						Path to the data directory
          -h, --help[=false]						help for restore
              --initial-advertise-peer-urls="http://localhost:2380"	List of this member's peer URLs to advertise to the rest of the cluster
              --initial-cluster="default=http://localhost:2380"		Initial cluster configuration for restore bootstrap
              --initial-cluster-token="etcd-cluster"			Initial cluster token for the etcd cluster during restore bootstrap
              --name="default"						Human-readable name for this member
              --skip-hash-check[=false]					Ignore snapshot integrity hash value (required if copied from data directory)
              --wal-dir=""						Path to the WAL directory (use --data-dir if none given)

        """;
}
