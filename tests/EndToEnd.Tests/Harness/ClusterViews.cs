using System.Globalization;
using System.Text.Json;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>One row of <c>etcdctl endpoint status -w json</c> (etcd 3.4's <c>epStatus</c> with a StatusResponse).</summary>
/// <param name="Endpoint">The client URL etcdctl asked.</param>
/// <param name="ClusterId">header.cluster_id.</param>
/// <param name="MemberId">header.member_id: the member that answered.</param>
/// <param name="Leader">The leader's member ID as that member sees it; 0 when it knows none.</param>
/// <param name="RaftTerm">raftTerm.</param>
/// <param name="RaftIndex">raftIndex (last index in the member's log).</param>
/// <param name="RaftAppliedIndex">raftAppliedIndex.</param>
/// <param name="IsLearner">isLearner (absent in JSON = false).</param>
public sealed record EndpointStatusRow(string Endpoint, ulong ClusterId, ulong MemberId, ulong Leader, ulong RaftTerm,
    ulong RaftIndex, ulong RaftAppliedIndex, bool IsLearner)
{
    /// <summary>True when the answering member is the leader it reports.</summary>
    public bool IsLeader => Leader != 0 && Leader == MemberId;

    /// <summary>Parses the JSON array etcdctl prints for <c>endpoint status -w json</c> (one entry per endpoint that answered).</summary>
    /// <exception cref="JsonException">Not etcdctl's shape.</exception>
    public static IReadOnlyList<EndpointStatusRow> ParseAll(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var rows = new List<EndpointStatusRow>();
        foreach (var entry in doc.RootElement.EnumerateArray())
        {
            var status = entry.GetProperty("Status");
            var header = status.GetProperty("header");
            rows.Add(new EndpointStatusRow(
                entry.GetProperty("Endpoint").GetString()!,
                header.GetProperty("cluster_id").GetUInt64(),
                header.GetProperty("member_id").GetUInt64(),
                Number(status, "leader"),
                Number(status, "raftTerm"),
                Number(status, "raftIndex"),
                Number(status, "raftAppliedIndex"),
                status.TryGetProperty("isLearner", out var learner) && learner.GetBoolean()));
        }
        return rows;
    }

    private static ulong Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetUInt64() : 0;
}

/// <summary>One member of <c>etcdctl member list -w json</c> (etcdserverpb.Member).</summary>
/// <param name="Id">The member ID.</param>
/// <param name="Name">Its name; empty until the member published itself (unstarted).</param>
/// <param name="PeerUrls">peerURLs.</param>
/// <param name="ClientUrls">clientURLs; empty until published.</param>
/// <param name="IsLearner">isLearner.</param>
public sealed record MemberRow(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls,
    bool IsLearner)
{
    /// <summary>The ID as etcdctl prints it in tables (Go's <c>%x</c>: lowercase hex, no padding) and takes it as an argument.</summary>
    public string HexId => Id.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>
    /// An ID as etcdctl's <c>member add/remove/promote</c> messages print it: Go's <c>%16x</c>, lowercase hex
    /// right-aligned in 16 columns with spaces (not zeros).
    /// </summary>
    public static string Padded(ulong id) => id.ToString("x", CultureInfo.InvariantCulture).PadLeft(16);
}

/// <summary>What <c>etcdctl member list -w json</c> printed: the header's cluster ID and the members in order.</summary>
/// <param name="ClusterId">header.cluster_id.</param>
/// <param name="Members">Members in the order the server sent them.</param>
public sealed record MemberListing(ulong ClusterId, IReadOnlyList<MemberRow> Members)
{
    /// <summary>Parses etcdctl's JSON for <c>member list</c>, <c>member add</c>, <c>member promote</c>.</summary>
    /// <exception cref="JsonException">Not etcdctl's shape.</exception>
    public static MemberListing Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var members = new List<MemberRow>();
        if (root.TryGetProperty("members", out var array))
        {
            foreach (var m in array.EnumerateArray())
            {
                members.Add(new MemberRow(
                    m.GetProperty("ID").GetUInt64(),
                    m.TryGetProperty("name", out var name) ? name.GetString() ?? "" : "",
                    Strings(m, "peerURLs"),
                    Strings(m, "clientURLs"),
                    m.TryGetProperty("isLearner", out var learner) && learner.GetBoolean()));
            }
        }
        return new MemberListing(root.GetProperty("header").GetProperty("cluster_id").GetUInt64(), members);
    }

    private static IReadOnlyList<string> Strings(JsonElement element, string name) =>
        element.TryGetProperty(name, out var array) ? array.EnumerateArray().Select(e => e.GetString()!).ToArray() : [];
}

/// <summary>
/// A table etcdctl printed with <c>-w table</c> (tablewriter: <c>+---+</c> borders, <c>| a | b |</c> rows), parsed
/// into a header and rows of trimmed cells, so that two servers' tables compare cell by cell whatever the column
/// widths.
/// </summary>
/// <param name="Header">Column titles, e.g. <c>ID</c>, <c>STATUS</c>, <c>NAME</c>.</param>
/// <param name="Rows">Data rows, each with one cell per column.</param>
public sealed record EtcdctlTable(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>Parses tablewriter output: border lines start with <c>+</c>; the first <c>|</c> line is the header.</summary>
    /// <exception cref="FormatException">No header line, or a row whose cell count differs from the header's.</exception>
    public static EtcdctlTable Parse(string text)
    {
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith('|')).ToList();
        if (lines.Count == 0) throw new FormatException($"no table in etcdctl output:\n{text}");
        var header = Cells(lines[0]);
        var rows = lines.Skip(1).Select(Cells).ToList();
        foreach (var row in rows)
            if (row.Count != header.Count)
                throw new FormatException($"row with {row.Count} cells under {header.Count} columns:\n{text}");
        return new EtcdctlTable(header, rows);
    }

    /// <summary>The cells of <paramref name="column"/>, top to bottom.</summary>
    /// <exception cref="KeyNotFoundException">No such column.</exception>
    public IReadOnlyList<string> Column(string column)
    {
        var index = IndexOf(column);
        return Rows.Select(r => r[index]).ToArray();
    }

    /// <summary>
    /// Renders the table as <c>a | b | c</c> lines (header first) with the cells of <paramref name="masked"/> columns
    /// replaced by <c>&lt;COLUMN&gt;</c>: what differs legitimately between two clusters (leader, term, index, size).
    /// </summary>
    public string Normalized(params string[] masked)
    {
        var maskedIndexes = masked.Select(IndexOf).ToHashSet();
        var lines = new List<string> { string.Join(" | ", Header) };
        foreach (var row in Rows)
            lines.Add(string.Join(" | ", row.Select((cell, i) => maskedIndexes.Contains(i) ? $"<{Header[i]}>" : cell)));
        return string.Join('\n', lines);
    }

    private int IndexOf(string column)
    {
        for (var i = 0; i < Header.Count; i++)
            if (Header[i] == column) return i;
        throw new KeyNotFoundException($"no column {column} in {string.Join(", ", Header)}");
    }

    private static IReadOnlyList<string> Cells(string line) =>
        line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
}

/// <summary>What <c>etcdctl get ... -w json</c> printed: the key-values (keys and values decoded from base64 as UTF-8)
/// and the header revision.</summary>
/// <param name="Kvs">Key → (value, mod_revision).</param>
/// <param name="Revision">header.revision.</param>
public sealed record RangeListing(IReadOnlyDictionary<string, (string Value, long ModRevision)> Kvs, long Revision)
{
    /// <summary>Parses etcdctl's JSON for <c>get</c>.</summary>
    /// <exception cref="JsonException">Not etcdctl's shape.</exception>
    public static RangeListing Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var kvs = new Dictionary<string, (string, long)>();
        if (root.TryGetProperty("kvs", out var array))
        {
            foreach (var kv in array.EnumerateArray())
            {
                var key = System.Text.Encoding.UTF8.GetString(kv.GetProperty("key").GetBytesFromBase64());
                var value = kv.TryGetProperty("value", out var v)
                    ? System.Text.Encoding.UTF8.GetString(v.GetBytesFromBase64())
                    : "";
                kvs[key] = (value, kv.GetProperty("mod_revision").GetInt64());
            }
        }
        return new RangeListing(kvs, root.GetProperty("header").GetProperty("revision").GetInt64());
    }
}
