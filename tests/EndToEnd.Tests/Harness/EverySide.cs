using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// Runs a timing-sensitive scenario on etcd and (when enabled) ours at the same time, each side asserting on its own
/// measurements, for scenarios whose output cannot be compared line by line (e.g. when a key expires).
/// </summary>
public static class EverySide
{
    /// <summary>
    /// Runs <paramref name="scenario"/> concurrently on <see cref="ScenarioServers.Etcd"/> and
    /// <see cref="ScenarioServers.Ours"/> (if any), giving it the member and a log callback (thread-safe; lines go to
    /// <paramref name="output"/> prefixed with the server kind). Waits for both, then fails naming every failing side
    /// with its error and server log tail; a failure on etcd means the scenario or harness is wrong.
    /// </summary>
    public static async Task RunAsync(ScenarioServers servers, ITestOutputHelper output, Func<MemberProcess, Action<string>, Task> scenario)
    {
        var members = new List<MemberProcess> { servers.Etcd };
        if (servers.Ours is not null) members.Add(servers.Ours);
        var notes = new List<string>();
        var runs = members.Select(async m =>
        {
            try
            {
                await scenario(m, line => { lock (notes) notes.Add($"{m.Kind}: {line}"); });
                return null;
            }
            catch (Exception e)
            {
                return $"{m.Kind}: {e.GetType().Name}: {e.Message}\n--- {m.Kind} server log (tail) ---\n{m.LogTail(20)}";
            }
        }).ToList();
        var failures = (await Task.WhenAll(runs)).Where(f => f is not null).ToList();
        lock (notes)
        {
            foreach (var line in notes) output.WriteLine(line);
        }
        if (failures.Count > 0) Assert.Fail(string.Join("\n\n", failures));
    }
}
