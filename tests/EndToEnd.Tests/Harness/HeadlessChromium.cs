using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// Debian's headless Chromium driven over the DevTools protocol (a WebSocket, no driver package): navigate, evaluate
/// JavaScript in the page, take a screenshot. One browser with one page per instance, its own temporary profile;
/// dispose to kill it. Not thread-safe: one command at a time.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private int _nextId;

    private HeadlessChromium(Process process, string profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
    }

    /// <summary>The Chromium binary: <c>chromium</c> (Debian's package), <c>chromium-browser</c> or <c>google-chrome</c> on PATH.</summary>
    /// <exception cref="InvalidOperationException">None is installed (scripts/test.sh installs Debian's <c>chromium</c>).</exception>
    public static string Binary()
    {
        foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                    return path;
            }
        }
        throw new InvalidOperationException("Chromium is not installed: apt-get install -y chromium (scripts/test.sh does it)");
    }

    /// <summary>Starts the browser with a <paramref name="width"/>×<paramref name="height"/> window and connects to its page.</summary>
    public static async Task<HeadlessChromium> StartAsync(int width = 1400, int height = 900)
    {
        var profile = Directory.CreateTempSubdirectory("akka-etcd-chromium-").FullName;
        var start = new ProcessStartInfo(Binary()) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
                     "--remote-debugging-port=0", "--remote-allow-origins=*", $"--window-size={width},{height}", "about:blank",
                 })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var port = await ReadDevToolsPortAsync(profile, process);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            string? pageUrl = null;
            var clock = Stopwatch.StartNew();
            while (pageUrl is null && clock.Elapsed < StartDeadline)
            {
                var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
                pageUrl = targets.FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
                if (pageUrl is null)
                    await Task.Delay(100);
            }
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(pageUrl ?? throw new TimeoutException("chromium showed no page")), CancellationToken.None);
            var browser = new HeadlessChromium(process, profile, socket);
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Runtime.enable");
            return browser;
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    /// <summary>Opens <paramref name="url"/> in the page (returns when navigation is committed, not when scripts ran).</summary>
    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>Evaluates <paramref name="expression"/> in the page and returns its value as JSON (null for undefined).</summary>
    /// <exception cref="InvalidOperationException">The expression threw in the page.</exception>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        if (result["exceptionDetails"] is { } error)
            throw new InvalidOperationException("the page's script failed: " + error.ToJsonString());
        return result["result"]?["value"]?.DeepClone();
    }

    /// <summary>A PNG of the page as shown.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = ++_nextId;
        var request = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        using var timeout = new CancellationTokenSource(CommandTimeout);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token);
        while (true)
        {
            var message = await ReceiveAsync(timeout.Token);
            if (message["id"]?.GetValue<int>() != id)
                continue; // an event, or the answer of an earlier command
            if (message["error"] is { } error)
                throw new InvalidOperationException($"{method} failed: {error.ToJsonString()}");
            return message["result"] ?? new JsonObject();
        }
    }

    private async Task<JsonNode> ReceiveAsync(CancellationToken cancel)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var received = await _socket.ReceiveAsync(buffer, cancel);
            if (received.MessageType == WebSocketMessageType.Close)
                throw new InvalidOperationException("chromium closed the DevTools connection");
            message.Write(buffer, 0, received.Count);
            if (received.EndOfMessage)
                return JsonNode.Parse(message.ToArray())!;
        }
    }

    private static async Task<int> ReadDevToolsPortAsync(string profile, Process process)
    {
        var file = Path.Combine(profile, "DevToolsActivePort");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartDeadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"chromium exited with code {process.ExitCode}");
            if (File.Exists(file))
            {
                var first = (await File.ReadAllLinesAsync(file)).FirstOrDefault();
                if (int.TryParse(first, out var port) && port > 0)
                    return port;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("chromium did not open its DevTools port within " + StartDeadline);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        Kill(_process);
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be writing its profile while it dies; the temp dir is left behind.
        }
        return ValueTask.CompletedTask;
    }
}
