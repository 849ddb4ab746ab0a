using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>
/// The scheduler of a simulated member's ActorSystem (<c>akka.scheduler.implementation</c>): every timer is a timer of
/// the shared <see cref="SimulationLoop"/>, tagged with the member, so all members see one virtual clock and a crashed
/// member's timers never fire. <see cref="MonotonicClock"/> is the virtual time too (the LeaseActor's deadlines).
/// A repeating timer is re-armed after each firing from the time it fired.
/// </summary>
public sealed class SimulationScheduler : IScheduler, IAdvancedScheduler
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly SimulationLoop _loop;
    private readonly int _member;

    /// <summary>Created by the ActorSystem from <c>akka.scheduler.implementation</c>, with the system's whole config.</summary>
    public SimulationScheduler(Config config, ILoggingAdapter log)
    {
        _loop = SimulationLoop.Find(config.GetString(SimulationLoop.LoopIdPath));
        _member = config.GetInt(SimulationLoop.MemberPath);
    }

    /// <inheritdoc />
    public DateTimeOffset Now => Epoch + _loop.Now;

    /// <inheritdoc />
    public TimeSpan MonotonicClock => _loop.Now;

    /// <inheritdoc />
    public TimeSpan HighResMonotonicClock => _loop.Now;

    /// <inheritdoc />
    public IAdvancedScheduler Advanced => this;

    /// <inheritdoc />
    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender) =>
        Once(delay, () => receiver.Tell(message, sender), null);

    /// <inheritdoc />
    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Once(delay, () => receiver.Tell(message, sender), cancelable);

    /// <inheritdoc />
    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender) =>
        Repeatedly(initialDelay, interval, () => receiver.Tell(message, sender), null);

    /// <inheritdoc />
    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Repeatedly(initialDelay, interval, () => receiver.Tell(message, sender), cancelable);

    /// <inheritdoc />
    public void ScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) => Once(delay, action, cancelable);

    /// <inheritdoc />
    public void ScheduleOnce(TimeSpan delay, Action action) => Once(delay, action, null);

    /// <inheritdoc />
    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Repeatedly(initialDelay, interval, action, cancelable);

    /// <inheritdoc />
    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action) => Repeatedly(initialDelay, interval, action, null);

    /// <inheritdoc />
    public void ScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) => Once(delay, action.Run, cancelable);

    /// <inheritdoc />
    public void ScheduleOnce(TimeSpan delay, IRunnable action) => Once(delay, action.Run, null);

    /// <inheritdoc />
    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Repeatedly(initialDelay, interval, action.Run, cancelable);

    /// <inheritdoc />
    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action) => Repeatedly(initialDelay, interval, action.Run, null);

    private void Once(TimeSpan delay, Action action, ICancelable? cancelable) =>
        _loop.At(delay, _member, () =>
        {
            if (cancelable is null || !cancelable.IsCancellationRequested)
            {
                action();
            }
        });

    private void Repeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable? cancelable)
    {
        var period = interval > TimeSpan.Zero ? interval : TimeSpan.FromMilliseconds(1);
        void Fire()
        {
            if (cancelable is not null && cancelable.IsCancellationRequested)
            {
                return;
            }
            action();
            _loop.At(period, _member, Fire);
        }
        _loop.At(initialDelay, _member, Fire);
    }
}
