using System.Text;
using System.Text.RegularExpressions;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// The record of a scenario: for each etcdctl call a <c>$ etcdctl ARGS</c> line, its stdout, its stderr and
/// <c>rc=N</c>, in the layout of /work/shared/tools/etcd-diff. <see cref="Normalize"/> removes what legitimately
/// differs between two servers (IDs, terms, timings, ports, db sizes). Not thread-safe.
/// </summary>
public sealed partial class Transcript
{
    private readonly StringBuilder _raw = new();

    /// <summary>The transcript as recorded.</summary>
    public string Raw => _raw.ToString();

    /// <summary>The transcript after <see cref="Normalize"/>.</summary>
    public string Normalized => Normalize(Raw);

    /// <summary>Appends one invocation: the command line, stdout, stderr and exit code.</summary>
    public void Record(IEnumerable<string> args, EtcdctlResult result)
    {
        _raw.Append("$ etcdctl ").AppendLine(string.Join(' ', args.Select(Quote)));
        _raw.Append(result.Stdout);
        if (result.Stdout.Length > 0 && !result.Stdout.EndsWith('\n')) _raw.AppendLine();
        _raw.Append(result.Stderr);
        if (result.Stderr.Length > 0 && !result.Stderr.EndsWith('\n')) _raw.AppendLine();
        _raw.Append("rc=").Append(result.ExitCode).AppendLine();
    }

    /// <summary>Appends a free-form note line (e.g. a harness error on one side).</summary>
    public void Note(string line) => _raw.Append("# ").AppendLine(line);

    /// <summary>
    /// Normalises a transcript like etcd-diff's sed script: JSON ids/terms/leader become N, 12-16 digit hex ids
    /// become HEXID, Go durations (<c>1.5ms</c>, <c>1m2s</c>; not inside base64) become T, 127.0.0.1:PORT becomes ADDR, log timestamps and client ids are masked,
    /// lines are cut at 3000 characters. On top of etcd-diff it masks db sizes (<c>dbSize</c>, <c>DB SIZE</c>
    /// cells, <c>"DBSize"</c>), the <c>"Leader"</c> field, and re-pads ASCII tables (cells trimmed) so that cell
    /// widths do not depend on masked values.
    /// </summary>
    public static string Normalize(string raw)
    {
        var lines = raw.Replace("\r\n", "\n").Split('\n');
        var output = new StringBuilder(raw.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            line = JsonIds().Replace(line, m => $"\"{m.Groups[1].Value}\":N");
            line = FieldIds().Replace(line, m => $"\"{m.Groups[1].Value}\" : N");
            line = JsonDbSize().Replace(line, m => $"\"{m.Groups[1].Value}\":SIZE");
            line = FieldDbSize().Replace(line, "\"DBSize\" : SIZE");
            line = HumanSize().Replace(line, "SIZE");
            line = ClientId().Replace(line, "client-X");
            line = HexId().Replace(line, "HEXID");
            line = Duration().Replace(line, "T");
            line = Address().Replace(line, "ADDR");
            line = Timestamp().Replace(line, "\"ts\":\"T\"");
            line = TableLine(line);
            if (line.Length > 3000) line = line[..3000] + "...";
            output.Append(line);
            if (i < lines.Length - 1) output.Append('\n');
        }
        return output.ToString();
    }

    /// <summary>
    /// Describes the first differing line of two normalised transcripts, then both in full; empty when equal.
    /// </summary>
    public static string Difference(string expected, string actual, string expectedName = "etcd", string actualName = "ours")
    {
        if (expected == actual) return "";
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var n = 0;
        while (n < e.Length && n < a.Length && e[n] == a[n]) n++;
        var at = (string[] lines) => n < lines.Length ? lines[n] : "<end of transcript>";
        return $"transcripts differ at line {n + 1}:\n  {expectedName}: {at(e)}\n  {actualName}: {at(a)}\n" +
               $"--- {expectedName} ---\n{expected}\n--- {actualName} ---\n{actual}";
    }

    private static string Quote(string arg) =>
        arg.Length == 0 ? "''" :
        arg.Length > 80 ? $"<{arg.Length} chars>" :
        arg.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '$' or '>' or '<' or '|') ? $"'{arg}'" : arg;

    private static string TableLine(string line)
    {
        if (line.StartsWith('+') && line.EndsWith('+') && line.All(c => c is '+' or '-')) return "+--+";
        if (line.StartsWith('|') && line.EndsWith('|') && line.Length > 1)
            return "| " + string.Join(" | ", line[1..^1].Split('|').Select(c => c.Trim())) + " |";
        return line;
    }

    [GeneratedRegex("\"(cluster_id|member_id|raft_term|ID|leader|id)\":[0-9]+")]
    private static partial Regex JsonIds();

    [GeneratedRegex("\"(ClusterID|MemberID|RaftTerm|Leader)\" : [0-9]+")]
    private static partial Regex FieldIds();

    [GeneratedRegex("\"(dbSize|dbSizeInUse)\":[0-9]+")]
    private static partial Regex JsonDbSize();

    [GeneratedRegex("\"DBSize\" : [0-9]+")]
    private static partial Regex FieldDbSize();

    [GeneratedRegex(@"\b[0-9]+(\.[0-9]+)? [kMGT]?B\b")]
    private static partial Regex HumanSize();

    [GeneratedRegex(@"(?<![+/])\b[0-9a-f]{12,16}\b(?![+/=])")]
    private static partial Regex HexId();

    [GeneratedRegex(@"(?<![A-Za-z0-9+/.])([0-9]+h)?([0-9]+m)?[0-9]+(\.[0-9]+)?(ns|µs|us|ms|s)\b")]
    private static partial Regex Duration();

    [GeneratedRegex(@"127\.0\.0\.1:[0-9]+")]
    private static partial Regex Address();

    [GeneratedRegex("\"ts\":\"[^\"]*\"")]
    private static partial Regex Timestamp();

    [GeneratedRegex("client-[0-9a-f-]+")]
    private static partial Regex ClientId();
}
