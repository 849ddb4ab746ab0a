using System.Diagnostics;
using System.Text;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// A long-running etcdctl process (e.g. <c>etcdctl watch</c>, <c>etcdctl watch -i</c>): stdout and stderr are
/// collected as they arrive, stdin stays open for interactive lines. Tests wait on a condition over the output
/// with a deadline (<see cref="WaitUntilAsync"/>), never a fixed sleep, then end the process with
/// <see cref="StopAsync"/> (SIGKILL), <see cref="CloseInputAsync"/> (EOF on stdin) or
/// <see cref="WaitForExitAsync"/> (it exits by itself). Output properties are safe to read from any thread;
/// drive one instance from one test flow at a time.
/// </summary>
public sealed class EtcdctlStream : IAsyncDisposable
{
    /// <summary>Default deadline of <see cref="WaitUntilAsync"/> and of waiting for an exit.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private readonly object _gate = new();
    private TaskCompletionSource _changed = NewSignal();
    private bool _inputClosed;

    private EtcdctlStream(Process process, IReadOnlyList<string> args)
    {
        _process = process;
        Args = args;
        _stdoutPump = PumpAsync(process.StandardOutput, _stdout);
        _stderrPump = PumpAsync(process.StandardError, _stderr);
    }

    /// <summary>The arguments after <c>--endpoints=URL</c>.</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>Everything written to stdout so far.</summary>
    public string Stdout
    {
        get
        {
            lock (_gate) return _stdout.ToString();
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

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <c>etcdctl --endpoints=<paramref name="endpoint"/> args...</c> with <c>ETCDCTL_API=3</c>, stdin open.
    /// </summary>
    /// <exception cref="InvalidOperationException">etcdctl is not installed or did not start.</exception>
    public static EtcdctlStream Start(string endpoint, IReadOnlyList<string> args)
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
        var process = Process.Start(info) ?? throw new InvalidOperationException("etcdctl did not start");
        return new EtcdctlStream(process, args.ToArray());
    }

    /// <summary>
    /// Waits until <paramref name="stdoutCondition"/> holds for the stdout collected so far (checked on every
    /// chunk of output).
    /// </summary>
    /// <param name="stdoutCondition">Predicate over all of stdout so far.</param>
    /// <param name="description">What is awaited, for the failure message.</param>
    /// <param name="timeout">Deadline; <see cref="DefaultTimeout"/> when null.</param>
    /// <exception cref="TimeoutException">The deadline passed, or the process exited, before the condition held;
    /// the message carries stdout and stderr so far.</exception>
    public async Task WaitUntilAsync(Func<string, bool> stdoutCondition, string description, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var deadline = new CancellationTokenSource(limit);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (stdoutCondition(_stdout.ToString())) return;
                changed = _changed.Task;
            }
            if (OutputComplete)
                throw new TimeoutException(
                    $"etcdctl {string.Join(' ', Args)} closed its output before: {description}; {Describe()}");
            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    if (stdoutCondition(_stdout.ToString())) return;
                }
                throw new TimeoutException(
                    $"etcdctl {string.Join(' ', Args)}: not within {limit}: {description}; {Describe()}");
            }
        }
    }

    /// <summary>Writes <paramref name="line"/> and a newline to stdin and flushes (interactive mode).</summary>
    /// <exception cref="InvalidOperationException">stdin was already closed.</exception>
    public async Task WriteLineAsync(string line)
    {
        if (_inputClosed) throw new InvalidOperationException("stdin is closed");
        await _process.StandardInput.WriteAsync(line + "\n");
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Closes stdin (EOF) and waits for the process to exit by itself.</summary>
    /// <exception cref="TimeoutException">It did not exit within <paramref name="timeout"/>; it is killed.</exception>
    public Task<EtcdctlResult> CloseInputAsync(TimeSpan? timeout = null)
    {
        CloseInput();
        return WaitForExitAsync(timeout);
    }

    /// <summary>Waits for the process to exit by itself (e.g. a watch the server cancels).</summary>
    /// <exception cref="TimeoutException">It did not exit within <paramref name="timeout"/>
    /// (default <see cref="DefaultTimeout"/>); it is killed and the message carries its output.</exception>
    public async Task<EtcdctlResult> WaitForExitAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            await StopAsync();
            throw new TimeoutException($"etcdctl {string.Join(' ', Args)} did not exit within {limit}; {Describe()}");
        }
        return await ResultAsync();
    }

    /// <summary>
    /// SIGKILLs the process (and any command it runs), waits for it and returns what it printed; the exit code is
    /// then 137 (128 + SIGKILL). Returns the real result when it had already exited.
    /// </summary>
    public async Task<EtcdctlResult> StopAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        await _process.WaitForExitAsync();
        return await ResultAsync();
    }

    /// <summary>Kills the process if it still runs and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    // Both pipes at EOF: the process (and any command it ran) has closed them, so no more output can come.
    private bool OutputComplete => _stdoutPump.IsCompleted && _stderrPump.IsCompleted;

    private async Task<EtcdctlResult> ResultAsync()
    {
        CloseInput();
        await Task.WhenAll(_stdoutPump, _stderrPump);
        return new EtcdctlResult(_process.ExitCode, Stdout, Stderr);
    }

    private void CloseInput()
    {
        if (_inputClosed) return;
        _inputClosed = true;
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process is gone; nothing reads stdin any more.
        }
    }

    private async Task PumpAsync(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        while (true)
        {
            var read = await reader.ReadAsync(buffer.AsMemory());
            TaskCompletionSource changed;
            lock (_gate)
            {
                if (read > 0) into.Append(buffer, 0, read);
                changed = _changed;
                _changed = NewSignal();
            }
            changed.TrySetResult();
            if (read == 0) return;
        }
    }

    private string Describe() => $"stdout so far: [{Stdout}]; stderr so far: [{Stderr}]";

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
