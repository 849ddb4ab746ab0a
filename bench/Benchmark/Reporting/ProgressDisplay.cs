using Spectre.Console;

namespace Akka.Etcd.Benchmark.Reporting;

/// <summary>
/// A progress bar on stderr (Spectre.Console) that polls a completed-operations counter every 100 ms until the work
/// finishes; stdout stays clean for the report. Disabled (the work is just awaited) when not wanted.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>Awaits <paramref name="work"/>, showing <paramref name="completed"/> of <paramref name="total"/> when <paramref name="enabled"/>.</summary>
    public static async Task RunAsync(string title, long total, Func<long> completed, Task work, bool enabled)
    {
        if (!enabled || total <= 0)
        {
            await work.ConfigureAwait(false);
            return;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(),
                new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask(title, maxValue: total);
                while (!work.IsCompleted)
                {
                    bar.Value = completed();
                    await Task.WhenAny(work, Task.Delay(100)).ConfigureAwait(false);
                }

                bar.Value = completed();
            }).ConfigureAwait(false);
        await work.ConfigureAwait(false);
    }
}
