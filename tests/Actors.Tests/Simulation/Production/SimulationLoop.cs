using System.Collections.Concurrent;
using Akka.Dispatch;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>
/// The one thread every actor of a simulated cluster runs on, and its virtual time. The dispatchers of each member's
/// ActorSystem hand their mailbox runs here (<see cref="SimulationExecutor"/>), the members' schedulers their timers
/// (<see cref="SimulationScheduler"/>), the simulated network its deliveries. <see cref="RunUntil"/> runs one ready
/// mailbox run at a time, picked with the seeded <see cref="Random"/>, and moves virtual time to the next timer only
/// when nothing is ready: a run is a function of the seed. Every item is tagged with the member it belongs to (0 = the
/// harness), so a crashed member's pending work and timers vanish at once (<see cref="Kill"/>).
/// Each mailbox run executes inside a task on <see cref="TaskScheduler"/>, so a continuation an actor schedules without
/// naming a scheduler (<c>ContinueWith</c>, <c>await</c> without <c>ConfigureAwait(false)</c>) comes back to this loop
/// instead of the thread pool. Work that still arrives from another thread while the loop runs (a thread-pool
/// continuation) is counted in <see cref="ForeignArrivals"/>: a run with none replays exactly.
/// </summary>
internal sealed class SimulationLoop : IDisposable
{
    /// <summary>The HOCON path of the loop id a member's ActorSystem finds its loop by.</summary>
    public const string LoopIdPath = "akka.etcd-simulation.loop";

    /// <summary>The HOCON path of the member tag of an ActorSystem.</summary>
    public const string MemberPath = "akka.etcd-simulation.member";

    private static readonly ConcurrentDictionary<string, SimulationLoop> Loops = new();
    private readonly object _gate = new();
    private readonly List<(int Member, Action Run)> _ready = new();
    private readonly PriorityQueue<(int Member, Action Fire), (long Due, long Sequence)> _timers = new();
    private readonly HashSet<int> _dead = new();
    private long _nowTicks;
    private long _sequence;
    private int _loopThread = -1;
    private int? _only;
    private int _current;
    private bool _running;

    public SimulationLoop(int seed)
    {
        Random = new Random(seed);
        Id = "sim-" + Guid.NewGuid().ToString("N");
        Loops[Id] = this;
        TaskScheduler = new LoopTaskScheduler(this);
    }

    /// <summary>The loop's id in the registry (put in each member's HOCON).</summary>
    public string Id { get; }

    /// <summary>The seeded source of every random choice of the run.</summary>
    public Random Random { get; }

    /// <summary>Virtual time since the start.</summary>
    public TimeSpan Now => TimeSpan.FromTicks(Volatile.Read(ref _nowTicks));

    /// <summary>Virtual milliseconds since the start.</summary>
    public long NowMs => Volatile.Read(ref _nowTicks) / TimeSpan.TicksPerMillisecond;

    /// <summary>Runs executed so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Work that arrived from another thread while the loop was running the whole cluster (see the type's remarks).</summary>
    public int ForeignArrivals { get; private set; }

    /// <summary>An exception that escaped a run (a harness bug or an actor system invariant), if any.</summary>
    public Exception? Escaped { get; private set; }

    /// <summary>Called on the loop's thread between two runs (the nemesis arms crashes that must hit mid-write with it).</summary>
    public Action? AfterStep { get; set; }

    /// <summary>The task scheduler mailbox runs execute under.</summary>
    public TaskScheduler TaskScheduler { get; }

    /// <summary>The loop registered under <paramref name="id"/>.</summary>
    public static SimulationLoop Find(string id) =>
        Loops.TryGetValue(id, out var loop) ? loop : throw new InvalidOperationException($"no simulation loop {id}");

    /// <summary>Queues a mailbox run (or any action) of <paramref name="member"/>; thread-safe.</summary>
    public void Enqueue(int member, Action run)
    {
        lock (_gate)
        {
            if (_dead.Contains(member))
            {
                return;
            }
            if (Environment.CurrentManagedThreadId != _loopThread && _only is null && _loopThread != -1)
            {
                ForeignArrivals++;
            }
            _ready.Add((member, run));
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Runs <paramref name="fire"/> for <paramref name="member"/> after <paramref name="delay"/> of virtual time.</summary>
    public void At(TimeSpan delay, int member, Action fire)
    {
        lock (_gate)
        {
            var due = _nowTicks + Math.Max(0, delay.Ticks);
            _timers.Enqueue((member, fire), (due, _sequence++));
        }
    }

    /// <summary>Drops everything pending for <paramref name="member"/> and everything it queues later, as when its process dies.</summary>
    public void Kill(int member)
    {
        lock (_gate)
        {
            _dead.Add(member);
            _ready.RemoveAll(r => r.Member == member);
        }
    }

    /// <summary>Lets <paramref name="member"/>'s tag run again (a restarted member uses a new tag, so this is rarely needed).</summary>
    public bool IsDead(int member)
    {
        lock (_gate)
        {
            return _dead.Contains(member);
        }
    }

    /// <summary>Runs ready work and fires timers in virtual-time order until virtual time reaches <paramref name="until"/>.</summary>
    public void RunUntil(TimeSpan until)
    {
        _loopThread = Environment.CurrentManagedThreadId;
        while (true)
        {
            if (RunOneReady(null))
            {
                continue;
            }
            (int Member, Action Fire) timer;
            lock (_gate)
            {
                if (!_timers.TryPeek(out timer, out var due) || due.Due > until.Ticks)
                {
                    _nowTicks = Math.Max(_nowTicks, until.Ticks);
                    return;
                }
                _timers.Dequeue();
                _nowTicks = Math.Max(_nowTicks, due.Due);
                if (_dead.Contains(timer.Member))
                {
                    continue;
                }
                _current = timer.Member;
            }
            Execute(timer.Fire);
        }
    }

    /// <summary>Runs ready work until nothing is ready, without moving virtual time.</summary>
    public void RunReady()
    {
        _loopThread = Environment.CurrentManagedThreadId;
        while (RunOneReady(null))
        {
        }
    }

    /// <summary>
    /// Starts <paramref name="start"/> (a member's asynchronous start-up) inside a <see cref="ForeignScope"/>: its
    /// continuations that run on other threads (the thread pool, after an <c>await ... ConfigureAwait(false)</c> of a
    /// task the member's actors complete) take turns with the loop instead of running beside it. Pass the scope to
    /// <see cref="PumpOnly"/>.
    /// </summary>
    public Task<T> StartForeign<T>(Func<Task<T>> start, out ForeignScope scope)
    {
        scope = new ForeignScope(this, Environment.CurrentManagedThreadId);
        return InScope(scope, start);
    }

    private static async Task<T> InScope<T>(ForeignScope scope, Func<Task<T>> start)
    {
        CurrentScope.Value = scope;
        return await start().ConfigureAwait(false);
    }

    /// <summary>
    /// Runs only <paramref name="member"/>'s work (virtual time stands still, the other members wait) until
    /// <paramref name="done"/> completes and nothing of the member's is ready any more. With a <paramref name="scope"/>
    /// the start-up's code on other threads and the member's runs take turns: a continuation enters only when the
    /// member has nothing ready and no run going (<see cref="ForeignScope"/>), and no run starts while one is inside.
    /// So every run and every step of the start-up happens in one order whatever the threads' timing: without the
    /// turns, a continuation creating an actor (its Supervise to the /user guardian) could land before or after the
    /// guardian's pending run (a child's DeathWatchNotification) and be handled in that run or in a run of its own,
    /// which changed the step count between two runs of a seed.
    /// </summary>
    /// <exception cref="TimeoutException"><paramref name="done"/> did not complete within <paramref name="realTimeout"/>.</exception>
    public void PumpOnly(int member, Task done, TimeSpan realTimeout, ForeignScope? scope = null)
    {
        _loopThread = Environment.CurrentManagedThreadId;
        var deadline = DateTime.UtcNow + realTimeout;
        _only = member;
        try
        {
            while (true)
            {
                if (RunOneReady(member, scope))
                {
                    continue;
                }
                lock (_gate)
                {
                    var foreignInside = scope is { Inside: > 0 };
                    var ready = _ready.Exists(r => r.Member == member);
                    if (done.IsCompleted && !foreignInside && !ready)
                    {
                        return;
                    }
                    if (ready && !foreignInside)
                    {
                        continue;
                    }
                    var left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero)
                    {
                        throw new TimeoutException($"member {member} did not finish its start-up within {realTimeout}");
                    }
                    Monitor.Wait(_gate, TimeSpan.FromMilliseconds(Math.Min(5, left.TotalMilliseconds)));
                }
            }
        }
        finally
        {
            _only = null;
            if (scope is not null)
            {
                lock (_gate)
                {
                    scope.Closed = true;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private static readonly AsyncLocal<ForeignScope?> CurrentScope = new(args =>
    {
        if (!args.ThreadContextChanged)
        {
            return;
        }
        var thread = Environment.CurrentManagedThreadId;
        if (args.PreviousValue is { } left && left.Owner != thread)
        {
            left.Leave();
        }
        if (args.CurrentValue is { } entered && entered.Owner != thread)
        {
            entered.Enter();
        }
    });

    /// <summary>
    /// The code of a member's start-up that runs on threads other than the loop's (see <see cref="StartForeign"/>):
    /// counted as inside while a thread runs with the scope's execution context (an <see cref="AsyncLocal{T}"/> sees
    /// every switch), and let in only between the member's runs.
    /// </summary>
    internal sealed class ForeignScope(SimulationLoop loop, int owner)
    {
        /// <summary>The thread that started the scope (the loop's): its switches are not foreign.</summary>
        public int Owner { get; } = owner;

        /// <summary>Threads inside now (read under the loop's gate).</summary>
        public int Inside { get; private set; }

        /// <summary>Set when the pump is over: later entries do not wait.</summary>
        public bool Closed { get; set; }

        public void Enter()
        {
            lock (loop._gate)
            {
                while (!Closed && (loop._running || loop._ready.Exists(r => r.Member == loop._only)))
                {
                    Monitor.Wait(loop._gate);
                }
                Inside++;
            }
        }

        public void Leave()
        {
            lock (loop._gate)
            {
                Inside--;
                Monitor.PulseAll(loop._gate);
            }
        }
    }

    private bool RunOneReady(int? member, ForeignScope? scope = null)
    {
        Action run;
        lock (_gate)
        {
            if (_ready.Count == 0 || scope is { Inside: > 0 })
            {
                return false;
            }
            int index;
            if (member is { } only)
            {
                index = _ready.FindIndex(r => r.Member == only);
                if (index < 0)
                {
                    return false;
                }
            }
            else
            {
                index = _ready.Count == 1 ? 0 : Random.Next(_ready.Count);
            }
            run = _ready[index].Run;
            _current = _ready[index].Member;
            _ready.RemoveAt(index);
            _running = scope is not null;
        }
        Execute(run);
        if (scope is not null)
        {
            lock (_gate)
            {
                _running = false;
                Monitor.PulseAll(_gate);
            }
        }
        return true;
    }

    private void Execute(Action run)
    {
        Steps++;
        var task = new Task(run);
        task.RunSynchronously(TaskScheduler);
        if (task.Exception is { } failed && Escaped is null)
        {
            Escaped = failed.InnerException ?? failed;
        }
        AfterStep?.Invoke();
    }

    public void Dispose() => Loops.TryRemove(Id, out _);

    /// <summary>Runs tasks inline when the loop starts them, and queues the others (continuations) as loop work.</summary>
    private sealed class LoopTaskScheduler(SimulationLoop loop) : TaskScheduler
    {
        protected override void QueueTask(Task task) => loop.Enqueue(loop._current, () => TryExecuteTask(task));

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
            Environment.CurrentManagedThreadId == loop._loopThread && TryExecuteTask(task);

        protected override IEnumerable<Task> GetScheduledTasks() => [];
    }
}

/// <summary>Hands a dispatcher's mailbox runs to the <see cref="SimulationLoop"/> of its ActorSystem.</summary>
internal sealed class SimulationExecutor(string id, SimulationLoop loop, int member) : ExecutorService(id)
{
    public override void Execute(IRunnable run) => loop.Enqueue(member, run.Run);

    public override void Shutdown()
    {
    }
}

/// <summary>
/// The executor of every dispatcher of a simulated member (named in HOCON by its type): finds the loop and the member
/// tag in the ActorSystem's config (<see cref="SimulationLoop.LoopIdPath"/>, <see cref="SimulationLoop.MemberPath"/>).
/// </summary>
public sealed class SimulationExecutorConfigurator : ExecutorServiceConfigurator
{
    private readonly SimulationLoop _loop;
    private readonly int _member;

    /// <summary>Called by Akka with the dispatcher's config block.</summary>
    public SimulationExecutorConfigurator(Akka.Configuration.Config config, IDispatcherPrerequisites prerequisites)
        : base(config, prerequisites)
    {
        _loop = SimulationLoop.Find(prerequisites.Settings.Config.GetString(SimulationLoop.LoopIdPath));
        _member = prerequisites.Settings.Config.GetInt(SimulationLoop.MemberPath);
    }

    /// <inheritdoc />
    public override ExecutorService Produce(string id) => new SimulationExecutor(id, _loop, _member);
}
