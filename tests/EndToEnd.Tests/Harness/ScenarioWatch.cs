namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// A long-running etcdctl (<c>watch</c>, <c>watch -i</c>) inside a <see cref="ScenarioSession"/>: its start, the
/// stdin lines written to it and, when it ends, its output and exit code go into the session's transcript, so
/// the two servers' runs compare like one-shot calls. Not thread-safe: one scenario flow drives it.
/// </summary>
public sealed class ScenarioWatch : IAsyncDisposable
{
    private readonly ScenarioSession _session;
    private readonly EtcdctlStream _stream;
    private bool _recorded;

    private ScenarioWatch(ScenarioSession session, EtcdctlStream stream)
    {
        _session = session;
        _stream = stream;
    }

    /// <summary>Everything the process wrote to stdout so far.</summary>
    public string Stdout => _stream.Stdout;

    /// <summary>
    /// Starts <c>etcdctl args...</c> against the session's member and notes <c># started: etcdctl ARGS</c>.
    /// </summary>
    public static ScenarioWatch Start(ScenarioSession session, params string[] args)
    {
        session.Transcript.Note("started: etcdctl " + string.Join(' ', args));
        return new ScenarioWatch(session, EtcdctlStream.Start(session.Member.ClientUrl, args));
    }

    /// <summary>Waits until stdout satisfies <paramref name="condition"/>; see <see cref="EtcdctlStream.WaitUntilAsync"/>.</summary>
    /// <exception cref="TimeoutException">Not within <see cref="EtcdctlStream.DefaultTimeout"/>; carries the output.</exception>
    public Task WaitUntilAsync(Func<string, bool> condition, string description) =>
        _stream.WaitUntilAsync(condition, description);

    /// <summary>Waits until stdout ends with <paramref name="lines"/>, each followed by a newline.</summary>
    /// <exception cref="TimeoutException">Not within <see cref="EtcdctlStream.DefaultTimeout"/>; carries the output.</exception>
    public Task WaitForTailAsync(params string[] lines)
    {
        var tail = string.Concat(lines.Select(l => l + "\n"));
        return _stream.WaitUntilAsync(o => o.EndsWith(tail, StringComparison.Ordinal),
            "stdout ends with [" + tail.Replace("\n", "\\n") + "]");
    }

    /// <summary>Waits until stdout holds at least <paramref name="count"/> complete lines equal to <paramref name="line"/>.</summary>
    /// <exception cref="TimeoutException">Not within <see cref="EtcdctlStream.DefaultTimeout"/>; carries the output.</exception>
    public Task WaitForLineCountAsync(string line, int count) =>
        _stream.WaitUntilAsync(o => CompleteLines(o).Count(l => l == line) >= count, $"{count} line(s) [{line}]");

    /// <summary>Waits until stdout holds at least <paramref name="count"/> complete (newline-terminated) lines.</summary>
    /// <exception cref="TimeoutException">Not within <see cref="EtcdctlStream.DefaultTimeout"/>; carries the output.</exception>
    public Task WaitForLinesAsync(int count) =>
        _stream.WaitUntilAsync(o => CompleteLines(o).Count >= count, $"{count} complete line(s)");

    /// <summary>Writes one interactive line to stdin and notes <c># stdin: LINE</c>.</summary>
    public Task WriteLineAsync(string line)
    {
        _session.Transcript.Note("stdin: " + line);
        return _stream.WriteLineAsync(line);
    }

    /// <summary>Kills the process (its output is complete by the caller's condition) and records it (rc=137).</summary>
    public async Task<EtcdctlResult> StopAsync()
    {
        var result = await _stream.StopAsync();
        _session.Transcript.Note("stopped by the harness (SIGKILL)");
        return Record(result);
    }

    /// <summary>Closes stdin, waits for the exit and records it (interactive mode exits with rc=3 on EOF).</summary>
    /// <exception cref="TimeoutException">It did not exit within <see cref="EtcdctlStream.DefaultTimeout"/>.</exception>
    public async Task<EtcdctlResult> CloseInputAsync()
    {
        _session.Transcript.Note("stdin closed");
        return Record(await _stream.CloseInputAsync());
    }

    /// <summary>Kills the process if still running; records it unless already recorded (an aborted scenario).</summary>
    public async ValueTask DisposeAsync()
    {
        var result = await _stream.StopAsync();
        if (!_recorded)
        {
            _session.Transcript.Note("aborted: killed by the harness");
            Record(result);
        }
        await _stream.DisposeAsync();
    }

    /// <summary>The newline-terminated lines of <paramref name="output"/> (a partial last line is left out).</summary>
    public static IReadOnlyList<string> CompleteLines(string output)
    {
        var end = output.LastIndexOf('\n');
        return end < 0 ? [] : output[..end].Split('\n');
    }

    private EtcdctlResult Record(EtcdctlResult result)
    {
        _recorded = true;
        _session.Transcript.Record(_stream.Args, result);
        return result;
    }
}
