using Akka.Configuration;
using Akka.Dispatch;

namespace Akka.Etcd.Actors.Tests.TestKit;

/// <summary>
/// A dispatcher whose actors can be held: while <see cref="Hold"/> is in force, a mailbox that gets messages is not
/// run, so every message sent to the held actors waits in their mailboxes in arrival order; when the hold ends, they
/// run on the thread pool as usual. Tests use it to put a burst of messages in an actor's mailbox before the actor
/// handles the first of them (and so before anything it sends itself in reply, e.g. the WatcherActor's FlushBatches
/// marker), deterministically. Configure it with <see cref="ActorTestConfig.GatedDispatcherConfig"/>.
/// </summary>
public sealed class GatedDispatcher : Dispatcher
{
    internal GatedDispatcher(MessageDispatcherConfigurator configurator, string id, int throughput, TimeSpan shutdownTimeout, GatedExecutor executor)
        : base(configurator, id, throughput, null, new ExecutorFactory(executor), shutdownTimeout)
    {
        Executor = executor;
    }

    internal GatedExecutor Executor { get; }

    /// <summary>Waits until no actor of this dispatcher is running, then holds them all until the returned handle is disposed.</summary>
    public IDisposable Hold() => Executor.Hold();

    /// <summary>Mailbox runs waiting for the hold to end (0 while not held).</summary>
    public int HeldRuns => Executor.HeldRuns;

    private sealed class ExecutorFactory(GatedExecutor executor) : ExecutorServiceFactory
    {
        public override ExecutorService Produce(string id) => executor;
    }
}

/// <summary>Creates the one <see cref="GatedDispatcher"/> of a dispatcher id (named in HOCON by its type).</summary>
public sealed class GatedDispatcherConfigurator : MessageDispatcherConfigurator
{
    private readonly GatedDispatcher _dispatcher;

    /// <summary>Called by Akka with the dispatcher's config block.</summary>
    public GatedDispatcherConfigurator(Config config, IDispatcherPrerequisites prerequisites)
        : base(config, prerequisites)
    {
        var id = config.GetString("id");
        _dispatcher = new GatedDispatcher(this, id, config.GetInt("throughput", 100),
            config.GetTimeSpan("shutdown-timeout", TimeSpan.FromSeconds(1)), new GatedExecutor(id));
    }

    /// <inheritdoc />
    public override MessageDispatcher Dispatcher() => _dispatcher;
}

/// <summary>
/// Runs mailboxes on the thread pool, or keeps them (in order) while held. A hold starts only once no mailbox run is
/// queued or running (a run in progress would otherwise go on handling messages that arrive after the hold began).
/// </summary>
internal sealed class GatedExecutor(string id) : ExecutorService(id)
{
    private static readonly TimeSpan QuiescenceDeadline = TimeSpan.FromSeconds(10);
    private readonly object _gate = new();
    private readonly Queue<IRunnable> _held = new();
    private int _holds;
    private int _running;

    public int HeldRuns
    {
        get
        {
            lock (_gate)
            {
                return _held.Count;
            }
        }
    }

    public override void Execute(IRunnable run)
    {
        lock (_gate)
        {
            if (_holds > 0)
            {
                _held.Enqueue(run);
                return;
            }
            _running++;
        }
        Dispatch(run);
    }

    /// <summary>Holds every later run, after waiting for the runs already dispatched to finish.</summary>
    public IDisposable Hold()
    {
        lock (_gate)
        {
            _holds++;
            var deadline = DateTime.UtcNow + QuiescenceDeadline;
            while (_running > 0)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left))
                {
                    _holds--;
                    throw new TimeoutException("the gated actors did not become idle before the deadline");
                }
            }
        }
        return new Release(this);
    }

    public override void Shutdown()
    {
        List<IRunnable> runs;
        lock (_gate)
        {
            _holds = 0;
            runs = TakeHeld();
        }
        runs.ForEach(Dispatch);
    }

    private void ReleaseOne()
    {
        List<IRunnable> runs;
        lock (_gate)
        {
            if (_holds == 0 || --_holds > 0)
            {
                return;
            }
            runs = TakeHeld();
        }
        runs.ForEach(Dispatch);
    }

    /// <summary>Takes the held runs, counting them as running (call under the gate).</summary>
    private List<IRunnable> TakeHeld()
    {
        var runs = _held.ToList();
        _held.Clear();
        _running += runs.Count;
        return runs;
    }

    private void Dispatch(IRunnable run) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Executor.RunTracked(state.Run), (Executor: this, Run: run), preferLocal: false);

    private void RunTracked(IRunnable run)
    {
        try
        {
            run.Run();
        }
        finally
        {
            lock (_gate)
            {
                if (--_running == 0)
                {
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    private sealed class Release(GatedExecutor executor) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                executor.ReleaseOne();
            }
        }
    }
}
