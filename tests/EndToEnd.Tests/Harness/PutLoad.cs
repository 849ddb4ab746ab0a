using System.Collections.Concurrent;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// A write load of concurrent real-etcdctl put loops: writer <c>w</c> puts <c>PREFIX/wW/NNNNN</c> = <c>vW-NNNNN</c>
/// through its own endpoint, one etcdctl process after the other, and records every put etcdctl acknowledged (exit
/// 0) with the revision it got. Failed puts (leader lost, member killed, timeouts) are counted, not retried: their
/// outcome is unknown. Thread-safe: the writers run on the thread pool; the accessors take snapshots.
/// </summary>
public sealed class PutLoad : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (string Value, long Revision)> _acknowledged = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _ackWaiters = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writers;

    private PutLoad(string prefix, IReadOnlyList<string> endpoints)
    {
        Prefix = prefix;
        _writers = Task.WhenAll(endpoints.Select((endpoint, w) => Task.Run(() => WriteAsync(w, endpoint))));
    }

    /// <summary>The key prefix every writer puts under (no trailing slash).</summary>
    public string Prefix { get; }

    /// <summary>Number of acknowledged puts so far.</summary>
    public int AcknowledgedCount => _acknowledged.Count;

    /// <summary>Number of failed puts so far (outcome unknown).</summary>
    public int FailureCount => _failures.Count;

    /// <summary>A snapshot of the acknowledged puts: key → (value, revision from the put's response header).</summary>
    public IReadOnlyDictionary<string, (string Value, long Revision)> Acknowledged =>
        new Dictionary<string, (string, long)>(_acknowledged);

    /// <summary>A snapshot of the failure messages (key, then etcdctl's stderr), oldest first.</summary>
    public IReadOnlyList<string> Failures => _failures.ToArray();

    /// <summary>
    /// Starts one writer per entry of <paramref name="endpoints"/> (a client URL, or several comma-separated for
    /// etcdctl's balancer). Every put uses <c>--dial-timeout=1s --command-timeout=3s</c>.
    /// </summary>
    public static PutLoad Start(string prefix, IReadOnlyList<string> endpoints) => new(prefix, endpoints);

    /// <summary>Waits until at least <paramref name="count"/> puts were acknowledged in total.</summary>
    /// <exception cref="TimeoutException">Not reached within <paramref name="deadline"/>; the message has the failures.</exception>
    public async Task WaitForAcknowledgedAsync(int count, TimeSpan deadline)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_ackWaiters)
        {
            if (_acknowledged.Count >= count) return;
            _ackWaiters.Add((count, reached));
        }
        try
        {
            await Task.WhenAny(reached.Task, _writers).WaitAsync(deadline);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"only {_acknowledged.Count} of {count} puts acknowledged within {deadline}; {FailureCount} failed, last: " +
                string.Join(" / ", Failures.TakeLast(3)));
        }
        if (!reached.Task.IsCompleted) await _writers; // A writer crashed: surface its exception.
    }

    /// <summary>Stops the writers; a put in flight is killed and counts as neither acknowledged nor failed.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _writers;
    }

    /// <summary>Stops the writers.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task WriteAsync(int writer, string endpoint)
    {
        var ctl = new Etcdctl(endpoint, "--dial-timeout=1s", "--command-timeout=3s");
        for (var n = 0; !_stop.IsCancellationRequested; n++)
        {
            var key = $"{Prefix}/w{writer}/{n:D5}";
            var value = $"v{writer}-{n:D5}";
            EtcdctlResult result;
            try
            {
                result = await ctl.RunAsync(["put", key, value, "-w", "json"], stdin: null,
                    timeout: TimeSpan.FromSeconds(10), _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            if (!result.Succeeded)
            {
                _failures.Enqueue($"{key}: {result.Stderr.Trim()}");
                continue;
            }
            _acknowledged[key] = (value, ScenarioSession.HeaderRevision(result.Stdout));
            lock (_ackWaiters)
            {
                foreach (var waiter in _ackWaiters.Where(w => _acknowledged.Count >= w.Count).ToList())
                {
                    waiter.Reached.TrySetResult();
                    _ackWaiters.Remove(waiter);
                }
            }
        }
    }
}
