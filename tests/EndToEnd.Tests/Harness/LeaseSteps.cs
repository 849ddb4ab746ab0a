using System.Globalization;
using System.Text.RegularExpressions;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// Lease-aware steps for a <see cref="ScenarioSession"/>: masks what legitimately differs between two servers in
/// lease output and <see cref="Transcript.Normalize"/> leaves alone (decimal lease IDs in <c>"lease":N</c>, remaining
/// TTLs in <c>"ttl":N</c>, which may differ by a second), and records background etcdctl runs. Same threading
/// rules as <see cref="ScenarioSession"/>: one call after another.
/// </summary>
public static partial class LeaseSteps
{
    /// <summary>
    /// Runs <c>etcdctl lease grant TTL</c> (recorded) and returns the lease ID as etcdctl prints it (16 hex digits).
    /// </summary>
    /// <exception cref="InvalidOperationException">The grant failed or printed something unexpected.</exception>
    public static async Task<string> GrantAsync(this ScenarioSession s, long ttlSeconds)
    {
        var result = await s.RunAsync("lease", "grant", ttlSeconds.ToString(CultureInfo.InvariantCulture));
        var match = GrantedLine().Match(result.Stdout);
        if (!result.Succeeded || !match.Success)
            throw new InvalidOperationException($"lease grant {ttlSeconds} failed: {result.Stdout}{result.Stderr}");
        return match.Groups[1].Value;
    }

    /// <summary>
    /// Runs <c>etcdctl args...</c>, records stdout and stderr after <paramref name="mask"/>, and returns the raw result.
    /// </summary>
    public static async Task<EtcdctlResult> RunMaskedAsync(this ScenarioSession s, Func<string, string> mask, params string[] args)
    {
        var result = await s.Member.Etcdctl().RunAsync(args);
        s.Transcript.Record(args, result with { Stdout = mask(result.Stdout), Stderr = mask(result.Stderr) });
        return result;
    }

    /// <summary>Replaces decimal lease IDs in etcdctl's JSON (<c>"lease":123</c>) by <c>"lease":LEASE</c>.</summary>
    public static string MaskLeaseIds(string output) => LeaseField().Replace(output, "\"lease\":LEASE");

    /// <summary>
    /// Replaces the lease-ID suffix of concurrency-recipe keys (<c>NAME/694d7a3c1e5f2a10</c>, the session lease in
    /// hex without padding, as <c>etcdctl lock</c> and <c>elect</c> print them) by <c>NAME/LEASE</c>;
    /// <see cref="Transcript.Normalize"/> leaves hex after a slash alone (it could be base64).
    /// </summary>
    public static string MaskSessionKeys(string output) => SessionKey().Replace(output, "$1/LEASE");

    /// <summary>
    /// Replaces each remaining TTL in <c>lease timetolive -w json</c> output (<c>"ttl":N</c>) by
    /// <c>"ttl":IN[min..max]</c> when <paramref name="min"/> &lt;= N &lt;= <paramref name="max"/>, otherwise by
    /// <c>"ttl":N NOT IN[min..max]</c>, so a transcript comparison shows an out-of-range value. -1 (no such lease) is kept.
    /// </summary>
    public static string MaskRemainingTtl(string output, long min, long max) =>
        RemainingTtlField().Replace(output, m =>
        {
            var ttl = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (ttl == -1) return m.Value;
            return ttl >= min && ttl <= max ? $"\"ttl\":IN[{min}..{max}]" : $"\"ttl\":{ttl} NOT IN[{min}..{max}]";
        });

    /// <summary>
    /// Sorts the key lists of <c>lease timetolive --keys</c> output (simple <c>attached keys([k1 k2])</c> and JSON
    /// <c>"keys":["..",".."]</c>): etcd 3.4 lists a lease's keys in Go map order, which varies from call to call.
    /// </summary>
    public static string SortAttachedKeys(string output)
    {
        output = AttachedKeys().Replace(output, m =>
            $"attached keys([{string.Join(' ', m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal))}])");
        return JsonKeys().Replace(output, m =>
            $"\"keys\":[{string.Join(',', m.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal))}]");
    }

    /// <summary>Reads <c>"ttl"</c> (remaining seconds, truncated) from <c>lease timetolive -w json</c> output.</summary>
    /// <exception cref="FormatException">No <c>"ttl"</c> field.</exception>
    public static long RemainingTtl(string json)
    {
        var match = RemainingTtlField().Match(json);
        if (!match.Success) throw new FormatException($"no \"ttl\" in: {json}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Records a finished <see cref="BackgroundEtcdctl"/> run under its arguments, prefixed <c>(background)</c>.
    /// Consecutive identical stdout lines are recorded once followed by <c>(repeated)</c>, since how many periodic lines
    /// (e.g. <c>keepalived</c>) a stream printed depends on timing.
    /// </summary>
    /// <param name="s">The session to record into.</param>
    /// <param name="background">The finished run (its arguments are recorded).</param>
    /// <param name="result">What <see cref="BackgroundEtcdctl.WaitForExitAsync"/> returned.</param>
    /// <param name="mask">Applied to stdout and stderr before recording, e.g. <see cref="MaskSessionKeys"/>.</param>
    public static void RecordBackground(this ScenarioSession s, BackgroundEtcdctl background, EtcdctlResult result,
        Func<string, string>? mask = null)
    {
        mask ??= static o => o;
        result = result with { Stdout = mask(result.Stdout), Stderr = DropCanceledRetryWarnings(mask(result.Stderr)) };
        var lines = result.Stdout.Split('\n', StringSplitOptions.None);
        var collapsed = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0 && lines[i] == lines[i - 1] && lines[i].Length > 0)
            {
                if (collapsed[^1] != "(repeated)") collapsed.Add("(repeated)");
                continue;
            }
            collapsed.Add(lines[i]);
        }
        s.Transcript.Record(["(background)", .. background.Args], result with { Stdout = string.Join('\n', collapsed) });
    }

    /// <summary>
    /// Drops clientv3's "retrying of unary invoker failed ... context canceled" warnings: an interrupted etcdctl prints
    /// one when SIGINT lands while a call is in flight, a race in the client (seen against etcd itself), not server output.
    /// </summary>
    private static string DropCanceledRetryWarnings(string stderr) =>
        string.Join('\n', stderr.Split('\n').Where(line =>
            !(line.Contains("retrying of unary invoker failed", StringComparison.Ordinal)
              && line.Contains("desc = context canceled", StringComparison.Ordinal))));

    [GeneratedRegex(@"^lease ([0-9a-f]{16}) granted with TTL\(", RegexOptions.Multiline)]
    private static partial Regex GrantedLine();

    [GeneratedRegex(@"attached keys\(\[([^\]]*)\]\)")]
    private static partial Regex AttachedKeys();

    [GeneratedRegex("\"keys\":\\[([^\\]]*)\\]")]
    private static partial Regex JsonKeys();

    [GeneratedRegex(@"\b([A-Za-z0-9_-]+)/[0-9a-f]{1,16}\b")]
    private static partial Regex SessionKey();

    [GeneratedRegex("\"lease\":-?[0-9]+")]
    private static partial Regex LeaseField();

    [GeneratedRegex("\"ttl\":(-?[0-9]+)")]
    private static partial Regex RemainingTtlField();
}
