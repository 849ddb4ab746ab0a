using System.Diagnostics;
using System.Text;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>What one etcdctl invocation produced.</summary>
/// <param name="ExitCode">Process exit code (0 on success, 1 for server errors in etcdctl v3).</param>
/// <param name="Stdout">Everything written to stdout.</param>
/// <param name="Stderr">Everything written to stderr (retry warnings as JSON log lines, then <c>Error: ...</c>).</param>
public sealed record EtcdctlResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>True when the exit code is 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Runs the real <c>/usr/bin/etcdctl</c> with <c>ETCDCTL_API=3</c> against one endpoint. Thread-safe: every call
/// starts its own process.
/// </summary>
public sealed class Etcdctl
{
    /// <summary>Default wall-clock limit of one invocation; etcdctl's own command timeout is 5 s.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Creates a runner for <paramref name="endpoint"/> (e.g. <c>http://127.0.0.1:23790</c>).</summary>
    /// <param name="endpoint">Client URL passed as <c>--endpoints</c>.</param>
    /// <param name="globalFlags">Extra flags put before the command on every call, e.g. <c>--dial-timeout=1s</c>.</param>
    public Etcdctl(string endpoint, params string[] globalFlags)
    {
        Endpoint = endpoint;
        GlobalFlags = globalFlags;
    }

    /// <summary>The client URL passed as <c>--endpoints</c>.</summary>
    public string Endpoint { get; }

    /// <summary>Flags put before the command on every call.</summary>
    public IReadOnlyList<string> GlobalFlags { get; }

    /// <summary>Runs <c>etcdctl --endpoints=URL [global flags] args...</c> with no stdin.</summary>
    public Task<EtcdctlResult> RunAsync(params string[] args) => RunAsync(args, stdin: null, timeout: null);

    /// <summary>Runs etcdctl with <paramref name="stdin"/> written to its standard input, then closed.</summary>
    public Task<EtcdctlResult> RunWithInputAsync(string stdin, params string[] args) => RunAsync(args, stdin, timeout: null);

    /// <summary>
    /// Runs etcdctl with <paramref name="args"/>; writes <paramref name="stdin"/> (if any) and closes it.
    /// </summary>
    /// <exception cref="TimeoutException">The process did not exit within <paramref name="timeout"/>
    /// (default <see cref="DefaultTimeout"/>); it is killed and its partial output is in the message.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired; the etcdctl process is killed
    /// (its outcome is unknown to the caller).</exception>
    /// <exception cref="InvalidOperationException">etcdctl is not installed.</exception>
    public async Task<EtcdctlResult> RunAsync(IReadOnlyList<string> args, string? stdin, TimeSpan? timeout,
        CancellationToken cancel = default)
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
        info.ArgumentList.Add("--endpoints=" + Endpoint);
        foreach (var flag in GlobalFlags) info.ArgumentList.Add(flag);
        foreach (var arg in args) info.ArgumentList.Add(arg);

        using var process = Process.Start(info) ?? throw new InvalidOperationException("etcdctl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // etcdctl exited before reading all of stdin (e.g. a usage error); its output tells why.
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            cancel.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"etcdctl {string.Join(' ', args)} did not exit within {timeout ?? DefaultTimeout}; " +
                $"stdout: {await stdout}; stderr: {await stderr}");
        }
        return new EtcdctlResult(process.ExitCode, await stdout, await stderr);
    }
}
