using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.TestKit;

namespace Akka.Etcd.Actors.Tests.TestKit;

/// <summary>
/// Akka.TestKit's <see cref="TestScheduler"/> whose monotonic clock is the virtual time too. The stock TestScheduler
/// advances <c>Now</c> and fires due work on <see cref="TestScheduler.Advance"/>, but its
/// <see cref="ITimeProvider.MonotonicClock"/> is the process clock; actors that read time from the scheduler's
/// monotonic clock (the LeaseActor's lease deadlines) would see real time pass instead of the test's. This class
/// re-implements <see cref="ITimeProvider"/> so both clocks move only when the test advances them.
/// Use with <see cref="ActorTestConfig.VirtualTime"/>.
/// </summary>
public sealed class VirtualClockScheduler : TestScheduler, ITimeProvider
{
    private readonly DateTimeOffset _start;

    /// <summary>Created by the ActorSystem from <c>akka.scheduler.implementation</c>.</summary>
    public VirtualClockScheduler(Config schedulerConfig, ILoggingAdapter log)
        : base(schedulerConfig, log)
    {
        _start = Now;
    }

    /// <summary>Virtual time elapsed since the scheduler was created.</summary>
    TimeSpan ITimeProvider.MonotonicClock => Now - _start;

    /// <summary>Virtual time elapsed since the scheduler was created.</summary>
    TimeSpan ITimeProvider.HighResMonotonicClock => Now - _start;

    /// <summary>
    /// Advances virtual time by <paramref name="total"/> in steps of at most <paramref name="step"/>, so a periodic
    /// timer with that period fires once per step as it would in real time (one <see cref="TestScheduler.Advance"/>
    /// fires each due item at most once and reschedules it from the new time).
    /// </summary>
    public void AdvanceInSteps(TimeSpan total, TimeSpan step)
    {
        if (step <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "the step must be positive");
        }
        for (var left = total; left > TimeSpan.Zero; left -= step)
        {
            Advance(left < step ? left : step);
        }
    }
}
