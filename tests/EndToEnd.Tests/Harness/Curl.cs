using System.Diagnostics;
using System.Text;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>The real <c>curl</c>, as a user of etcd's JSON gateway runs it: <c>curl -s -X POST -d BODY URL</c>.</summary>
public static class Curl
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);

    /// <summary>POSTs <paramref name="body"/> to <paramref name="url"/>; returns the HTTP status and the body.</summary>
    /// <exception cref="TimeoutException">curl did not finish within 20 s.</exception>
    public static async Task<(int Status, string Body)> PostAsync(string url, string body)
    {
        var (output, _) = await RunAsync(["-s", "-X", "POST", "-d", body, "-w", "\n%{http_code}", url], CallTimeout);
        var split = output.LastIndexOf('\n');
        return (int.Parse(output[(split + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture), output[..split]);
    }

    /// <summary>
    /// Starts <c>curl -s -N -X POST -d BODY URL</c> (a streaming call: <c>/v3/watch</c>) and returns the process; its
    /// stdout lines arrive in <see cref="StreamingCurl.Lines"/>. Dispose to kill it.
    /// </summary>
    public static StreamingCurl Stream(string url, string body)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-s", "-N", "-X", "POST", "-d", body, url })
            start.ArgumentList.Add(arg);
        return new StreamingCurl(Process.Start(start) ?? throw new InvalidOperationException("curl did not start"));
    }

    private static async Task<(string Stdout, string Stderr)> RunAsync(string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("curl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"curl {string.Join(' ', args)} did not finish within {timeout}");
        }
        return (await stdout, await stderr);
    }
}

/// <summary>A running <c>curl -N</c>: its output lines as they come. Disposing kills it.</summary>
public sealed class StreamingCurl : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = new();
    private readonly Task _reader;

    internal StreamingCurl(Process process)
    {
        _process = process;
        _reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_lines) _lines.Add(line);
            }
        });
    }

    /// <summary>The lines read so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return _lines.ToArray();
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> lines arrived; throws <see cref="TimeoutException"/> with what came.</summary>
    public async Task<IReadOnlyList<string>> WaitForLinesAsync(int count, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < deadline)
        {
            var lines = Lines;
            if (lines.Count >= count)
                return lines;
            await Task.Delay(20);
        }
        var text = new StringBuilder().AppendJoin('\n', Lines).ToString();
        throw new TimeoutException($"curl printed {Lines.Count} of {count} lines within {deadline}: {text}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
