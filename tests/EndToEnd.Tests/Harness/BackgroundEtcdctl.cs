using System.Diagnostics;
using System.Text;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// A long-running real <c>etcdctl</c> (ETCDCTL_API=3) started in the background: <c>lease keep-alive ID</c>,
/// <c>lock NAME</c>, <c>elect NAME PROPOSAL</c>, <c>elect -l NAME</c>. Collects stdout line by line (with the
/// monotonic time each line arrived) and stderr; tests wait for lines with a deadline, then stop the process with
/// SIGINT (etcdctl's graceful path: unlock, resign) or SIGKILL (a crashed client: its session lease must expire).
/// Thread-safe: output is collected on the process' reader threads and read under a lock.
/// </summary>
public sealed class BackgroundEtcdctl : IAsyncDisposable
{
    private readonly Process _process;
    private readonly object _gate = new();
    private readonly List<TimedLine> _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<TimedLine> Found)> _waiters = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BackgroundEtcdctl(Process process, IReadOnlyList<string> args)
    {
        _process = process;
        Args = args;
    }

    /// <summary>The etcdctl arguments after <c>--endpoints</c> (what a transcript records).</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>The OS process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>A snapshot of the stdout lines received so far, in order, without their line breaks.</summary>
    public IReadOnlyList<TimedLine> Lines
    {
        get
        {
            lock (_gate) return _stdout.ToList();
        }
    }

    /// <summary>Everything written to stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_gate) return _stderr.ToString();
        }
    }

    /// <summary>
    /// Starts <c>etcdctl --endpoints=ENDPOINT args...</c> with <c>ETCDCTL_API=3</c> and stdin closed.
    /// </summary>
    /// <param name="endpoint">Client URL, e.g. <see cref="MemberProcess.ClientUrl"/>.</param>
    /// <param name="args">The command and its flags, e.g. <c>lock</c>, <c>--ttl=3</c>, <c>NAME</c>.</param>
    /// <exception cref="InvalidOperationException">etcdctl is not installed or did not start.</exception>
    public static BackgroundEtcdctl Start(string endpoint, params string[] args)
    {
        var info = new ProcessStartInfo(EtcdAvailable.Etcdctl())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.Environment["ETCDCTL_API"] = "3";
        info.ArgumentList.Add("--endpoints=" + endpoint);
        foreach (var arg in args) info.ArgumentList.Add(arg);

        var process = new Process { StartInfo = info };
        var background = new BackgroundEtcdctl(process, args);
        process.OutputDataReceived += (_, e) => background.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => background.OnStderr(e.Data);
        if (!process.Start()) throw new InvalidOperationException("etcdctl did not start");
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return background;
    }

    /// <summary>
    /// Waits for the first stdout line (already received or still to come) that <paramref name="match"/> accepts.
    /// </summary>
    /// <returns>The line and the monotonic time it arrived.</returns>
    /// <exception cref="TimeoutException">No such line within <paramref name="timeout"/>, or the process closed its
    /// stdout without one; the message carries the output so far.</exception>
    public async Task<TimedLine> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<TimedLine>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var existing = _stdout.FirstOrDefault(l => match(l.Text));
            if (existing is not null) return existing;
            _waiters.Add((match, found));
        }
        try
        {
            try
            {
                await Task.WhenAny(found.Task, _stdoutClosed.Task).WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"etcdctl {string.Join(' ', Args)}: no expected line within {timeout}; {Describe()}");
            }
            if (found.Task.IsCompletedSuccessfully) return found.Task.Result;
            throw new TimeoutException($"etcdctl {string.Join(' ', Args)} closed stdout without the expected line; {Describe()}");
        }
        finally
        {
            lock (_gate) _waiters.RemoveAll(w => w.Found == found);
        }
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> stdout lines matched <paramref name="match"/>; returns the last
    /// of them. Each line is offered to <paramref name="match"/> once.
    /// </summary>
    /// <exception cref="TimeoutException">Fewer lines within <paramref name="timeout"/>, or stdout closed first.</exception>
    public Task<TimedLine> WaitForLinesAsync(Func<string, bool> match, int count, TimeSpan timeout)
    {
        var seen = 0;
        return WaitForLineAsync(line => match(line) && ++seen >= count, timeout);
    }

    /// <summary>Sends SIGINT: etcdctl cancels its context and exits through its graceful path (unlock, resign).</summary>
    /// <exception cref="InvalidOperationException">The signal could not be sent (other than: already exited).</exception>
    public void Interrupt()
    {
        PosixSignal.Send(_process, PosixSignal.Interrupt);
    }

    /// <summary>Sends SIGKILL (a crashed client: nothing is released, its session lease must expire). No-op once exited.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
    }

    /// <summary>
    /// Waits for the process to exit and for its output to be read to the end; returns exit code, stdout and stderr.
    /// </summary>
    /// <exception cref="TimeoutException">Still running after <paramref name="timeout"/>; the process is left running
    /// (dispose kills it).</exception>
    public async Task<EtcdctlResult> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(deadline.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"etcdctl {string.Join(' ', Args)} did not exit within {timeout}; {Describe()}");
        }
        lock (_gate)
        {
            var stdout = string.Concat(_stdout.Select(l => l.Text + "\n"));
            return new EtcdctlResult(_process.ExitCode, stdout, _stderr.ToString());
        }
    }

    /// <summary>SIGKILLs the process if it still runs and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // Leave it to the OS; nothing else to do from a dispose.
        }
        _process.Dispose();
    }

    /// <summary>The output so far, for failure messages.</summary>
    public string Describe()
    {
        lock (_gate)
        {
            var exited = _process.HasExited ? $"exited rc={_process.ExitCode}" : "running";
            return $"{exited}; stdout: [{string.Join(" | ", _stdout.Select(l => l.Text))}]; stderr: {_stderr}";
        }
    }

    private void OnStdout(string? data)
    {
        if (data is null)
        {
            _stdoutClosed.TrySetResult();
            return;
        }
        var line = new TimedLine(data, Stopwatch.GetTimestamp());
        List<TaskCompletionSource<TimedLine>> matched = new();
        lock (_gate)
        {
            _stdout.Add(line);
            foreach (var waiter in _waiters)
            {
                if (!waiter.Found.Task.IsCompleted && waiter.Match(data)) matched.Add(waiter.Found);
            }
        }
        foreach (var found in matched) found.TrySetResult(line);
    }

    private void OnStderr(string? data)
    {
        if (data is null)
        {
            _stderrClosed.TrySetResult();
            return;
        }
        lock (_gate) _stderr.Append(data).Append('\n');
    }
}

/// <summary>One stdout line of a <see cref="BackgroundEtcdctl"/> and when it arrived.</summary>
/// <param name="Text">The line without its line break.</param>
/// <param name="Timestamp">Arrival time as <see cref="Stopwatch.GetTimestamp"/> (monotonic ticks).</param>
public sealed record TimedLine(string Text, long Timestamp);
