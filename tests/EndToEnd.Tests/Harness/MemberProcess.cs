using System.Diagnostics;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// One single-member cluster process (etcd 3.4 or akka-etcd, same flags) on free loopback ports with a temp
/// data dir. Captures stdout/stderr into <see cref="Log"/>. Start with <see cref="StartAsync(ServerKind, string, string?)"/>; it returns once
/// <c>GET /health</c> answers <c>"health":"true"</c>. Not thread-safe for concurrent Kill/Restart; reading
/// <see cref="Log"/> is safe from any thread.
/// </summary>
public sealed class MemberProcess : IAsyncDisposable
{
    /// <summary>How long <see cref="StartAsync(ServerKind, string, string?)"/> and <see cref="RestartAsync"/> wait for health.</summary>
    public static readonly TimeSpan HealthDeadline = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan HealthPollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly LogCapture _log = new();
    private readonly string[] _flags;
    private Process? _process;
    private int _starts;

    private MemberProcess(ServerKind kind, string name, int clientPort, int peerPort, string dataRoot, int? secureClientPort = null,
        IReadOnlyList<string>? extraFlags = null)
    {
        Kind = kind;
        Name = name;
        ClientUrl = $"http://127.0.0.1:{clientPort}";
        PeerUrl = $"http://127.0.0.1:{peerPort}";
        DataRoot = dataRoot;
        DataDir = Path.Combine(dataRoot, name + ".data");
        SecureClientUrl = secureClientPort is { } securePort ? $"https://127.0.0.1:{securePort}" : null;
        _flags =
        [
            "--name", name,
            "--data-dir", DataDir,
            "--listen-client-urls", SecureClientUrl is null ? ClientUrl : ClientUrl + "," + SecureClientUrl,
            "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", PeerUrl,
            "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", $"{name}={PeerUrl}",
            .. extraFlags ?? [],
        ];
    }

    /// <summary>The TLS client URL (<c>https://127.0.0.1:PORT</c>) of a member started with one, else null.</summary>
    public string? SecureClientUrl { get; }

    /// <summary>Which binary runs.</summary>
    public ServerKind Kind { get; }

    /// <summary>The member name (<c>--name</c>).</summary>
    public string Name { get; }

    /// <summary>Client URL, <c>http://127.0.0.1:PORT</c>; gRPC and HTTP/1.1 (/health, /version).</summary>
    public string ClientUrl { get; }

    /// <summary>Peer URL, <c>http://127.0.0.1:PORT</c>.</summary>
    public string PeerUrl { get; }

    /// <summary>The data dir (<c>--data-dir</c>), inside <see cref="DataRoot"/>; kept across restarts.</summary>
    public string DataDir { get; }

    /// <summary>Temp directory owned by this instance; deleted on dispose.</summary>
    public string DataRoot { get; }

    /// <summary>The server flags, identical for every start.</summary>
    public IReadOnlyList<string> Flags => _flags;

    /// <summary>True while the current process has not exited.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>An etcdctl runner for this member's client URL.</summary>
    public Etcdctl Etcdctl(params string[] globalFlags) => new(ClientUrl, globalFlags);

    /// <summary>Everything the server wrote to stdout and stderr so far, across restarts.</summary>
    public string Log => _log.Text;

    /// <summary>
    /// Starts a fresh member of <paramref name="kind"/> with a new temp data dir and waits until it is healthy.
    /// <paramref name="hocon"/> (ours only) is written to a file in the temp dir and passed as <c>--config</c>, e.g.
    /// to choose the Raft log's journal plugin.
    /// </summary>
    /// <exception cref="InvalidOperationException">The binary is missing, the process exited early, or it
    /// was not healthy within <see cref="HealthDeadline"/> (the message carries the server log).</exception>
    public static Task<MemberProcess> StartAsync(ServerKind kind, string name = "m1", string? hocon = null) =>
        StartAsync(kind, name, extraFlags: [], hocon: hocon);

    /// <summary>
    /// As <see cref="StartAsync(ServerKind, string, string?)"/>, with <paramref name="extraFlags"/> after the usual ones and, when
    /// <paramref name="secureClientPort"/>, a second client URL <see cref="SecureClientUrl"/> (https; the flags must
    /// then give its certificate). The extra flags may name files under the data root (<c>{root}</c> in a flag is
    /// replaced by it): <paramref name="prepare"/> gets that directory first.
    /// </summary>
    public static async Task<MemberProcess> StartAsync(ServerKind kind, string name, IReadOnlyList<string> extraFlags,
        bool secureClientPort = false, Action<string>? prepare = null, string? hocon = null)
    {
        var ports = LoopbackPorts.Free(3);
        var root = Directory.CreateTempSubdirectory($"akka-etcd-e2e-{kind.ToString().ToLowerInvariant()}-").FullName;
        prepare?.Invoke(root);
        var flags = extraFlags.Select(flag => flag.Replace("{root}", root, StringComparison.Ordinal)).ToList();
        if (!string.IsNullOrEmpty(hocon) && kind == ServerKind.Ours)
        {
            var config = Path.Combine(root, "member.conf");
            await File.WriteAllTextAsync(config, hocon);
            flags.AddRange(["--config", config]);
        }
        var member = new MemberProcess(kind, name, ports[0], ports[1], root, secureClientPort ? ports[2] : null, flags);
        try
        {
            await member.LaunchAsync();
            return member;
        }
        catch
        {
            await member.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILLs the process (no graceful shutdown) and waits for it to be gone. No-op if not running.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null) return;
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        process.WaitForExit();
        Append($"--- {Kind} killed (SIGKILL) ---");
    }

    /// <summary>
    /// Kills the process if it still runs, then starts it again with the same flags on the same data dir and ports,
    /// and waits until healthy.
    /// </summary>
    /// <exception cref="InvalidOperationException">Same as <see cref="StartAsync(ServerKind, string, string?)"/>.</exception>
    public async Task RestartAsync()
    {
        Kill();
        await LaunchAsync();
    }

    /// <summary>Kills the process and deletes <see cref="DataRoot"/>.</summary>
    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        try
        {
            Directory.Delete(DataRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The last <paramref name="lines"/> lines of <see cref="Log"/>, for failure messages.</summary>
    public string LogTail(int lines = 40) => _log.Tail(lines);

    private ProcessStartInfo StartInfo()
    {
        ProcessStartInfo info;
        if (Kind == ServerKind.Etcd)
        {
            info = new ProcessStartInfo(EtcdAvailable.Etcd());
        }
        else
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "akka-etcd.dll");
            if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing; build src/Node");
            info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            info.ArgumentList.Add(dll);
        }
        foreach (var flag in _flags) info.ArgumentList.Add(flag);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        return info;
    }

    private async Task LaunchAsync()
    {
        var info = StartInfo();
        var start = ++_starts;
        Append($"--- {Kind} start #{start}: {info.FileName} {string.Join(' ', info.ArgumentList)} ---");
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        _process?.Dispose();
        _process = process;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = new CancellationTokenSource(HealthDeadline);
        using var timer = new PeriodicTimer(HealthPollInterval);
        while (true)
        {
            if (exited.Task.IsCompleted)
                throw new InvalidOperationException(
                    $"{Kind} exited with code {process.ExitCode} before it was healthy; log:\n{LogTail()}");
            if (await IsHealthyAsync(deadline.Token)) return;
            // Checked here, not by the wait below: waiting on a task that is already complete (the cancelled tick)
            // never throws, so past the deadline the loop would spin forever.
            if (deadline.IsCancellationRequested)
                throw new InvalidOperationException(
                    $"{Kind} was not healthy at {ClientUrl}/health within {HealthDeadline}; log:\n{LogTail()}");
            await Task.WhenAny(timer.WaitForNextTickAsync(deadline.Token).AsTask(), exited.Task);
        }
    }

    private async Task<bool> IsHealthyAsync(CancellationToken cancel)
    {
        try
        {
            using var response = await Http.GetAsync(ClientUrl + "/health", cancel);
            if (!response.IsSuccessStatusCode) return false;
            var body = await response.Content.ReadAsStringAsync(cancel);
            return body.Replace(" ", "").Contains("\"health\":\"true\"", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Append(string line)
    {
        _log.Append(line);
    }
}
