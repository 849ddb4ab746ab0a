using System.Text.Json;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// One run of a scenario against one member: every etcdctl call goes into <see cref="Transcript"/>.
/// Scenarios must be deterministic given the server state so that etcd's and ours' transcripts compare.
/// Not thread-safe: run calls one after another.
/// </summary>
public sealed class ScenarioSession
{
    private readonly Etcdctl _etcdctl;

    /// <summary>Creates a session recording calls against <paramref name="member"/>.</summary>
    public ScenarioSession(MemberProcess member)
    {
        Member = member;
        _etcdctl = member.Etcdctl();
    }

    /// <summary>The member the scenario runs against.</summary>
    public MemberProcess Member { get; }

    /// <summary>The calls so far.</summary>
    public Transcript Transcript { get; } = new();

    /// <summary>Runs <c>etcdctl args...</c>, records it and returns the result.</summary>
    public async Task<EtcdctlResult> RunAsync(params string[] args)
    {
        var result = await _etcdctl.RunAsync(args);
        Transcript.Record(args, result);
        return result;
    }

    /// <summary>Runs <c>etcdctl args...</c> with <paramref name="stdin"/> as input, records it (input included).</summary>
    public async Task<EtcdctlResult> RunWithInputAsync(string stdin, params string[] args)
    {
        var result = await _etcdctl.RunWithInputAsync(stdin, args);
        Transcript.Note("stdin: " + (stdin.Length > 200 ? $"<{stdin.Length} chars>" : stdin.Replace("\n", "\\n")));
        Transcript.Record(args, result);
        return result;
    }

    /// <summary>
    /// Runs <c>etcdctl put KEY VALUE -w json</c> (recorded) and returns the header revision of the put.
    /// </summary>
    /// <exception cref="InvalidOperationException">The put failed.</exception>
    public async Task<long> PutAsync(string key, string value)
    {
        var result = await RunAsync("put", key, value, "-w", "json");
        if (!result.Succeeded) throw new InvalidOperationException($"put {key} failed: {result.Stderr}");
        return HeaderRevision(result.Stdout);
    }

    /// <summary>Reads <c>header.revision</c> from etcdctl's <c>-w json</c> output.</summary>
    public static long HeaderRevision(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("header").GetProperty("revision").GetInt64();
    }
}
