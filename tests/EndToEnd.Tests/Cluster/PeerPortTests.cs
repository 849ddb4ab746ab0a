using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// A member's peer address belongs to one live process. A member started on the peer port of one still running (an
/// earlier incarnation still stopping, as after a quick restart of the whole cluster) must not share the port: the
/// peers would meet two incarnations (UIDs) of one Akka address and quarantine whichever associated first, for good.
/// The second process waits for the port, logs that it does, and starts once the first has exited. akka-etcd only (etcd
/// fails at once with "address already in use", and its stop is quick).
/// </summary>
[Collection(ClusterProcessCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class PeerPortTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_member_started_on_the_peer_port_of_a_running_one_waits_for_it_and_starts_once_it_exits()
    {
        if (!ServerKinds.OursEnabled) return;
        await using var cluster = await ClusterProcesses.StartAsync(ServerKind.Ours, size: 1);
        var first = cluster["m1"];
        var clientPort = LoopbackPorts.Free(1)[0];
        await using var second = new ClusterMember(ServerKind.Ours, "m1", clientPort, first.PeerPort,
            Path.Combine(cluster.DataRoot, "second"),
            ["--initial-cluster", $"m1={first.PeerUrl}", "--initial-cluster-state", "new", "--initial-cluster-token", "second"]);
        try
        {
            second.Start();
            // Either it binds the port next to the running member and serves (the fault), or it waits for the port.
            const string waiting = $"is in use (an earlier member process still stopping?)";
            var outcome = await FirstAsync(second, [waiting, "ready to serve client requests", "Remoting started"], StepDeadline);
            Assert.Equal(waiting, outcome);
            Assert.True(first.IsRunning, "the first member exited");
            Assert.True((await first.Etcdctl("--command-timeout=3s").RunAsync("put", "k", "v")).Succeeded,
                "the first member stopped serving while the second waited");

            await first.TerminateAsync(StepDeadline);
            await second.WaitHealthyAsync(StepDeadline);
            Assert.Contains("is free after", second.Log, StringComparison.Ordinal);
            Assert.True((await second.Etcdctl("--command-timeout=3s").RunAsync("put", "k", "v")).Succeeded,
                "the second member does not serve after the first exited");
        }
        catch
        {
            output.WriteLine("--- first ---\n" + first.LogTail(60));
            output.WriteLine("--- second ---\n" + second.LogTail(60));
            throw;
        }
    }

    /// <summary>Waits until the member's log holds one of <paramref name="markers"/> and returns the first found.</summary>
    private static async Task<string> FirstAsync(ClusterMember member, IReadOnlyList<string> markers, TimeSpan deadline)
    {
        using var cancel = new CancellationTokenSource(deadline);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (true)
            {
                var log = member.Log;
                var found = markers.Select(marker => (marker, at: log.IndexOf(marker, StringComparison.Ordinal)))
                    .Where(hit => hit.at >= 0).OrderBy(hit => hit.at).Select(hit => hit.marker).FirstOrDefault();
                if (found is not null) return found;
                if (!member.IsRunning) Assert.Fail($"{member.Name} exited (code {member.ExitCode}) before logging any of: {string.Join(" | ", markers)}");
                await poll.WaitForNextTickAsync(cancel.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{member.Name} logged none of \"{string.Join("\" | \"", markers)}\" within {deadline}");
            throw;
        }
    }
}
