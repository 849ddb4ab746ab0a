using System.Diagnostics;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// One member process of a multi-member cluster (etcd 3.4 or akka-etcd, same flags) on loopback, with its data dir
/// inside the cluster's temp root. Unlike <see cref="MemberProcess"/>, starting does not wait for health: a member of
/// a new cluster is healthy only once a quorum runs, so <see cref="ClusterProcesses"/> starts all, then waits.
/// Captures stdout/stderr into <see cref="Log"/>. Start/Kill/Restart are not thread-safe (call them from the test);
/// <see cref="Log"/>, <see cref="IsRunning"/> and <see cref="ExitCode"/> can be read from any thread.
/// </summary>
public sealed class ClusterMember : IAsyncDisposable
{
    /// <summary>How long <see cref="WaitHealthyAsync"/> waits by default.</summary>
    public static readonly TimeSpan HealthDeadline = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan HealthPollInterval = TimeSpan.FromMilliseconds(50);
    // The health probe trusts any server certificate: it only asks a loopback member whether it is healthy.
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    }) { Timeout = TimeSpan.FromSeconds(2) };

    private readonly LogCapture _log = new();
    private readonly string[] _flags;
    private Process? _process;
    private TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _starts;

    /// <summary>
    /// Describes a member; nothing runs until <see cref="Start"/>.
    /// </summary>
    /// <param name="kind">Which binary runs.</param>
    /// <param name="name">The member name (<c>--name</c>), e.g. <c>m1</c>.</param>
    /// <param name="clientPort">Loopback port for <c>--listen-client-urls</c>/<c>--advertise-client-urls</c>.</param>
    /// <param name="peerPort">Loopback port for <c>--initial-advertise-peer-urls</c>, and for <c>--listen-peer-urls</c>
    /// unless <paramref name="listenPeerPort"/> is given.</param>
    /// <param name="dataRoot">Directory that holds this member's data dir <c>NAME.data</c>.</param>
    /// <param name="clusterFlags">Flags after the per-member ones: <c>--initial-cluster</c>, token, state, extras.</param>
    /// <param name="clientScheme"><c>http</c> or <c>https</c> (client TLS: give the cert flags in <paramref name="clusterFlags"/>).</param>
    /// <param name="peerScheme"><c>http</c> or <c>https</c> (peer TLS: give the peer cert flags in <paramref name="clusterFlags"/>).</param>
    /// <param name="etcdctlFlags">Global etcdctl flags <see cref="Etcdctl"/> adds (e.g. <c>--cacert</c> for https client URLs).</param>
    /// <param name="listenPeerPort">Loopback port for <c>--listen-peer-urls</c> when the member listens elsewhere than it
    /// advertises (behind a <see cref="PeerTrafficRelay"/> on <paramref name="peerPort"/>, as behind docker's port
    /// mapping); <paramref name="peerPort"/> when null.</param>
    public ClusterMember(ServerKind kind, string name, int clientPort, int peerPort, string dataRoot,
        IEnumerable<string> clusterFlags, string clientScheme = "http", string peerScheme = "http",
        IReadOnlyList<string>? etcdctlFlags = null, int? listenPeerPort = null)
    {
        Kind = kind;
        Name = name;
        ClientPort = clientPort;
        PeerPort = peerPort;
        ClientUrl = $"{clientScheme}://127.0.0.1:{clientPort}";
        PeerUrl = $"{peerScheme}://127.0.0.1:{peerPort}";
        ListenPeerPort = listenPeerPort ?? peerPort;
        ListenPeerUrl = $"{peerScheme}://127.0.0.1:{ListenPeerPort}";
        EtcdctlFlags = etcdctlFlags ?? [];
        DataDir = Path.Combine(dataRoot, name + ".data");
        _flags =
        [
            "--name", name,
            "--data-dir", DataDir,
            "--listen-client-urls", ClientUrl,
            "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", ListenPeerUrl,
            "--initial-advertise-peer-urls", PeerUrl,
            .. clusterFlags,
        ];
    }

    /// <summary>Which binary runs.</summary>
    public ServerKind Kind { get; }

    /// <summary>The member name (<c>--name</c>).</summary>
    public string Name { get; }

    /// <summary>The client port on 127.0.0.1.</summary>
    public int ClientPort { get; }

    /// <summary>The advertised peer port on 127.0.0.1 (<c>--initial-advertise-peer-urls</c>, the port of its Akka address).</summary>
    public int PeerPort { get; }

    /// <summary>The peer port the member binds on 127.0.0.1 (<c>--listen-peer-urls</c>); <see cref="PeerPort"/> unless it
    /// listens behind a relay.</summary>
    public int ListenPeerPort { get; }

    /// <summary>Global etcdctl flags every etcdctl runner for this member gets (e.g. <c>--cacert</c>); empty for http.</summary>
    public IReadOnlyList<string> EtcdctlFlags { get; }

    /// <summary>Client URL, <c>http://127.0.0.1:PORT</c> (or https).</summary>
    public string ClientUrl { get; }

    /// <summary>Advertised peer URL, <c>http://127.0.0.1:PORT</c> (or https), as in <c>--initial-cluster</c>.</summary>
    public string PeerUrl { get; }

    /// <summary>Listen peer URL, <c>http://127.0.0.1:PORT</c> (or https); <see cref="PeerUrl"/> unless it listens behind a relay.</summary>
    public string ListenPeerUrl { get; }

    /// <summary>The data dir (<c>--data-dir</c>); kept across restarts.</summary>
    public string DataDir { get; }

    /// <summary>The server flags, identical for every start.</summary>
    public IReadOnlyList<string> Flags => _flags;

    /// <summary>Flags added after <see cref="Flags"/> at the next starts (e.g. a check only a restart runs); empty at first.</summary>
    public List<string> ExtraStartFlags { get; } = new();

    /// <summary>Environment variables set for the next starts (e.g. <c>NOTIFY_SOCKET</c>); empty at first.</summary>
    public Dictionary<string, string> Environment { get; } = new();

    /// <summary>True while the current process has not exited.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Exit code of the last process once it exited by itself or was killed; null while running or never started.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>An etcdctl runner for this member's client URL only.</summary>
    public Etcdctl Etcdctl(params string[] globalFlags) => new(ClientUrl, [.. EtcdctlFlags, .. globalFlags]);

    /// <summary>Everything the server wrote to stdout and stderr so far, across restarts.</summary>
    public string Log => _log.Text;

    /// <summary>The last <paramref name="lines"/> lines of <see cref="Log"/>, for failure messages.</summary>
    public string LogTail(int lines = 40) => _log.Tail(lines);

    /// <summary>Launches the process (after killing a previous one) without waiting for health.</summary>
    /// <exception cref="InvalidOperationException">The binary is missing.</exception>
    public void Start()
    {
        Kill();
        var info = StartInfo();
        var start = ++_starts;
        Append($"--- {Kind} {Name} start #{start}: {info.FileName} {string.Join(' ', info.ArgumentList)} ---");
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        _process?.Dispose();
        _process = process;
        _exited = exited;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>
    /// Polls <c>GET /health</c> until it answers <c>"health":"true"</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The process exited, or it was not healthy within
    /// <paramref name="deadline"/> (default <see cref="HealthDeadline"/>); the message carries the log tail.</exception>
    public async Task WaitHealthyAsync(TimeSpan? deadline = null)
    {
        var limit = deadline ?? HealthDeadline;
        var process = _process ?? throw new InvalidOperationException($"{Name} was never started");
        var exited = _exited.Task;
        using var cancel = new CancellationTokenSource(limit);
        using var timer = new PeriodicTimer(HealthPollInterval);
        while (true)
        {
            if (exited.IsCompleted)
                throw new InvalidOperationException(
                    $"{Kind} {Name} exited with code {process.ExitCode} before it was healthy; log:\n{LogTail()}");
            if (await IsHealthyAsync(cancel.Token)) return;
            // Checked here, not by the wait below: waiting on a task that is already complete (the cancelled tick)
            // never throws, so past the deadline the loop would spin forever.
            if (cancel.IsCancellationRequested)
                throw new InvalidOperationException(
                    $"{Kind} {Name} was not healthy at {ClientUrl}/health within {limit}; log:\n{LogTail()}");
            await Task.WhenAny(timer.WaitForNextTickAsync(cancel.Token).AsTask(), exited);
        }
    }

    /// <summary>Waits until the process exits by itself and returns its exit code.</summary>
    /// <exception cref="TimeoutException">Still running after <paramref name="deadline"/>.</exception>
    public async Task<int> WaitForExitAsync(TimeSpan deadline)
    {
        var process = _process ?? throw new InvalidOperationException($"{Name} was never started");
        try
        {
            await _exited.Task.WaitAsync(deadline);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Kind} {Name} still runs after {deadline}; log:\n{LogTail()}");
        }
        process.WaitForExit(); // Drains the redirected output.
        return process.ExitCode;
    }

    /// <summary>SIGKILLs the process (no graceful shutdown) and waits for it to be gone. No-op if not running.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null || process.HasExited) return;
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        process.WaitForExit();
        Append($"--- {Kind} {Name} killed (SIGKILL) ---");
    }

    /// <summary>
    /// Sends SIGTERM (a graceful stop, as <c>systemctl stop</c> or <c>kill</c> do) and waits until the process exits.
    /// Returns how long the exit took after the signal. No-op (zero) if not running.
    /// </summary>
    /// <exception cref="TimeoutException">Still running after <paramref name="deadline"/> (it is left running).</exception>
    public async Task<TimeSpan> TerminateAsync(TimeSpan deadline)
    {
        var process = _process;
        if (process is null || process.HasExited) return TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        PosixSignal.Send(process, PosixSignal.Terminate);
        await WaitForExitAsync(deadline);
        var took = clock.Elapsed;
        Append($"--- {Kind} {Name} terminated (SIGTERM), exited after {took.TotalMilliseconds:F0} ms ---");
        return took;
    }

    /// <summary>SIGSTOPs the process: it stays alive but runs nothing (sockets stay open) until <see cref="Resume"/>.</summary>
    public void Pause()
    {
        if (_process is { HasExited: false } process)
        {
            PosixSignal.Send(process, PosixSignal.Stop);
            Append($"--- {Kind} {Name} paused (SIGSTOP) ---");
        }
    }

    /// <summary>SIGCONTs a paused process.</summary>
    public void Resume()
    {
        if (_process is { HasExited: false } process)
        {
            PosixSignal.Send(process, PosixSignal.Continue);
            Append($"--- {Kind} {Name} resumed (SIGCONT) ---");
        }
    }

    /// <summary>Kills the process if it runs, starts it again on the same data dir and ports, waits for health.</summary>
    /// <exception cref="InvalidOperationException">Same as <see cref="WaitHealthyAsync"/>.</exception>
    public async Task RestartAsync()
    {
        Start();
        await WaitHealthyAsync();
    }

    /// <summary>Kills the process; the data dir is deleted with the cluster's temp root.</summary>
    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        return ValueTask.CompletedTask;
    }

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
            info = new ProcessStartInfo(System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
            info.ArgumentList.Add(dll);
        }
        foreach (var flag in _flags) info.ArgumentList.Add(flag);
        foreach (var flag in ExtraStartFlags) info.ArgumentList.Add(flag);
        foreach (var (name, value) in Environment) info.Environment[name] = value;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        return info;
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
