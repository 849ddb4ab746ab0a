namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// Virtual time in milliseconds and the events scheduled on it; events at the same time run in scheduling order, so
/// a run is a pure function of its seed. Single-threaded.
/// </summary>
internal sealed class VirtualClock
{
    private readonly PriorityQueue<Action, (long Time, long Sequence)> _events = new();
    private long _sequence;
    private long _instantTime = -1;
    private long _instantSequence;

    public long NowMs { get; private set; }

    public void At(long timeMs, Action action) => _events.Enqueue(action, (Math.Max(timeMs, NowMs), _sequence++));

    public void After(long delayMs, Action action) => At(NowMs + delayMs, action);

    /// <summary>Runs events due up to <paramref name="untilMs"/>, then sets the clock there.</summary>
    public void RunUntil(long untilMs)
    {
        while (_events.TryPeek(out _, out var when) && when.Time <= untilMs)
        {
            var action = _events.Dequeue();
            NowMs = when.Time;
            action();
        }

        NowMs = untilMs;
    }

    /// <summary>
    /// A strictly increasing instant for client histories: the virtual time times 100 000 plus a counter within the
    /// millisecond, so history order is the exact order of events and <c>instant / 100 000</c> is the time in ms.
    /// </summary>
    public long Instant()
    {
        if (_instantTime != NowMs)
        {
            _instantTime = NowMs;
            _instantSequence = 0;
        }

        return (NowMs * 100_000) + _instantSequence++;
    }
}
