namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// Class fixture: one real etcd and (when <see cref="ServerKinds.OursEnabled"/>) one akka-etcd, shared by the
/// scenarios of one test class. Every scenario runs on both in the same order, so both servers see the same
/// history and revisions match. xunit runs the tests of one class sequentially; do not share across classes.
/// </summary>
public sealed class ScenarioServers : IAsyncLifetime
{
    /// <summary>The reference server; set by <see cref="InitializeAsync"/>.</summary>
    public MemberProcess Etcd { get; private set; } = null!;

    /// <summary>Our server, or null when the ours-side is switched off.</summary>
    public MemberProcess? Ours { get; private set; }

    /// <summary>Starts both servers in parallel and waits until they are healthy.</summary>
    public async Task InitializeAsync()
    {
        var etcd = MemberProcess.StartAsync(ServerKind.Etcd);
        var ours = ServerKinds.OursEnabled ? StartOursAsync() : Task.FromResult<MemberProcess?>(null);
        try
        {
            await Task.WhenAll((Task)etcd, ours);
        }
        catch
        {
            // Whichever started is not handed out: kill it here rather than rely on fixture disposal.
            if (etcd.IsCompletedSuccessfully) await etcd.Result.DisposeAsync();
            if (ours.IsCompletedSuccessfully && ours.Result is not null) await ours.Result.DisposeAsync();
            throw;
        }
        Etcd = etcd.Result;
        Ours = ours.Result;
    }

    private static async Task<MemberProcess?> StartOursAsync() => await MemberProcess.StartAsync(ServerKind.Ours);

    /// <summary>Kills both servers and deletes their data dirs.</summary>
    public async Task DisposeAsync()
    {
        if (Etcd is not null) await Etcd.DisposeAsync();
        if (Ours is not null) await Ours.DisposeAsync();
    }

    /// <summary>
    /// Runs <paramref name="scenario"/> on etcd, then on ours; then calls <paramref name="expectOnEtcd"/> with etcd's
    /// normalised transcript (so a broken harness cannot pass), then asserts ours' normalised transcript is equal.
    /// Both sides always run before any assertion, to keep the two servers' histories in step.
    /// </summary>
    /// <returns>etcd's normalised transcript.</returns>
    public async Task<string> RunAsync(Func<ScenarioSession, Task> scenario, Action<string> expectOnEtcd)
    {
        var etcd = new ScenarioSession(Etcd);
        await scenario(etcd);
        ScenarioSession? ours = null;
        if (Ours is not null)
        {
            ours = new ScenarioSession(Ours);
            try
            {
                await scenario(ours);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or FormatException
                                          or System.Text.Json.JsonException or KeyNotFoundException)
            {
                ours.Transcript.Note($"scenario aborted on ours: {e.GetType().Name}: {e.Message}");
            }
        }

        var expected = etcd.Transcript.Normalized;
        try
        {
            expectOnEtcd(expected);
        }
        catch (Xunit.Sdk.XunitException e)
        {
            throw new Xunit.Sdk.XunitException($"etcd's transcript lacks an expected output: {e.Message}\n--- etcd transcript ---\n{expected}", e);
        }
        if (ours is not null)
        {
            var actual = ours.Transcript.Normalized;
            var difference = Transcript.Difference(expected, actual);
            if (difference.Length > 0)
                Assert.Fail(difference + $"\n--- ours server log (tail) ---\n{Ours!.LogTail()}");
        }
        return expected;
    }
}
