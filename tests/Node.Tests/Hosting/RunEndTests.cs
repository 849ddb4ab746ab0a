namespace Akka.Etcd.Node.Tests.Hosting;

/// <summary>
/// How the node decides that a serving member's run is over (<see cref="Program.WaitForEndAsync"/>): a stop signal, the
/// member's own exit, or a quarantine by a peer that the member did not end by itself within the grace.
/// </summary>
public sealed class RunEndTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_stop_signal_is_a_graceful_stop()
    {
        var stopped = new TaskCompletionSource();
        var run = Program.WaitForEndAsync(stopped.Task, new TaskCompletionSource().Task, new TaskCompletionSource().Task, Long);
        Assert.False(run.IsCompleted);

        stopped.SetResult();

        Assert.Equal(Program.RunEnd.Stopped, await run.WaitAsync(Long));
    }

    [Fact]
    public async Task The_members_own_exit_ends_the_run()
    {
        var exited = new TaskCompletionSource();
        var run = Program.WaitForEndAsync(new TaskCompletionSource().Task, exited.Task, new TaskCompletionSource().Task, Long);

        exited.SetResult();

        Assert.Equal(Program.RunEnd.Exited, await run.WaitAsync(Long));
    }

    [Fact]
    public async Task A_quarantined_member_that_does_not_stop_within_the_grace_is_cut_off()
    {
        var quarantined = new TaskCompletionSource();
        var run = Program.WaitForEndAsync(new TaskCompletionSource().Task, new TaskCompletionSource().Task, quarantined.Task,
            TimeSpan.FromMilliseconds(50));

        quarantined.SetResult();

        // Nothing else can complete: only the grace running out ends the wait.
        Assert.Equal(Program.RunEnd.Quarantined, await run.WaitAsync(Long));
    }

    [Fact]
    public async Task A_removed_member_is_quarantined_too_and_gets_the_grace_to_stop_by_itself()
    {
        var exited = new TaskCompletionSource();
        var quarantined = new TaskCompletionSource();
        var run = Program.WaitForEndAsync(new TaskCompletionSource().Task, exited.Task, quarantined.Task, Long);

        quarantined.SetResult();
        // The wait now only ends with the member's exit, a stop signal, or the grace (5 min): not yet.
        await Task.Yield();
        Assert.False(run.IsCompleted);
        exited.SetResult();

        Assert.Equal(Program.RunEnd.Exited, await run.WaitAsync(Long));
    }

    [Fact]
    public async Task A_stop_signal_during_the_grace_is_a_graceful_stop()
    {
        var stopped = new TaskCompletionSource();
        var quarantined = new TaskCompletionSource();
        var run = Program.WaitForEndAsync(stopped.Task, new TaskCompletionSource().Task, quarantined.Task, Long);

        quarantined.SetResult();
        stopped.SetResult();

        Assert.Equal(Program.RunEnd.Stopped, await run.WaitAsync(Long));
    }
}
