using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Mailbox;

/// <summary>
/// An actor in the Akka sense, without Akka: it owns its state, receives messages through an unbounded
/// <see cref="Channel{T}"/> mailbox and handles them one at a time on its own loop, so its state needs no
/// locks. <see cref="Tell"/> enqueues and returns at once; an ask is a message carrying a
/// <see cref="TaskCompletionSource{TResult}"/> the actor completes (see <see cref="AskExtensions"/>).
/// </summary>
/// <remarks>
/// The loop drains every message that is already queued, then calls <see cref="OnMailboxDrainedAsync"/>
/// once: actors use it to batch work (the RaftActor turns a burst of proposals into one Ready and one
/// fsync). Keep the API Akka-shaped (Tell, Ask, PreStart, PostStop) so a move to Akka.NET stays mechanical.
/// A handler that throws stops the actor (fail fast: the member's supervisor logs it and exits); the
/// failure is observable through <see cref="Completion"/>.
/// </remarks>
/// <typeparam name="TMessage">Base type of the messages this actor accepts.</typeparam>
public abstract class Actor<TMessage> : IAsyncDisposable
{
    private readonly Channel<TMessage> _mailbox = Channel.CreateUnbounded<TMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });
    private Task? _loop;

    /// <summary>Creates the actor; call <see cref="Start"/> to run its loop.</summary>
    /// <param name="name">Name used in logs, e.g. <c>raft</c>.</param>
    /// <param name="logger">Logger for lifecycle and failures.</param>
    protected Actor(string name, ILogger logger)
    {
        Name = name;
        Logger = logger;
    }

    /// <summary>The actor's name, for logs.</summary>
    public string Name { get; }

    /// <summary>The actor's logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>Completes when the loop ends: normally after <see cref="Stop"/>, faulted if a handler threw.</summary>
    public Task Completion => _loop ?? Task.CompletedTask;

    /// <summary>Starts the message loop on the thread pool. Idempotent.</summary>
    public void Start() => _loop ??= Task.Run(RunAsync);

    /// <summary>Enqueues a message; never blocks. Returns false if the actor has stopped.</summary>
    public bool Tell(TMessage message) => _mailbox.Writer.TryWrite(message);

    /// <summary>Stops accepting messages; the loop handles what is queued, then <see cref="PostStopAsync"/> runs.</summary>
    public void Stop() => _mailbox.Writer.TryComplete();

    /// <summary>Runs before the first message.</summary>
    protected virtual ValueTask PreStartAsync() => ValueTask.CompletedTask;

    /// <summary>Handles one message. Runs on the actor's loop, never concurrently with itself.</summary>
    protected abstract ValueTask OnReceiveAsync(TMessage message);

    /// <summary>Runs when the mailbox has been drained after one or more messages: the place to batch.</summary>
    protected virtual ValueTask OnMailboxDrainedAsync() => ValueTask.CompletedTask;

    /// <summary>Runs after the loop ends (also after a failure): release resources here.</summary>
    protected virtual ValueTask PostStopAsync() => ValueTask.CompletedTask;

    /// <summary>Called with messages left in the mailbox when the actor fails, so asks can be answered with an error.</summary>
    protected virtual void OnDeadLetter(TMessage message, Exception reason)
    {
    }

    private async Task RunAsync()
    {
        var reader = _mailbox.Reader;
        try
        {
            await PreStartAsync().ConfigureAwait(false);
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    await OnReceiveAsync(message).ConfigureAwait(false);
                }
                await OnMailboxDrainedAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Logger.LogCritical(ex, "actor {actor} failed", Name);
            _mailbox.Writer.TryComplete(ex);
            while (reader.TryRead(out var left))
            {
                OnDeadLetter(left, ex);
            }
            throw;
        }
        finally
        {
            await PostStopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops the actor and waits for its loop to end (a failure is not rethrown here).</summary>
    public async ValueTask DisposeAsync()
    {
        Stop();
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The failure was logged by the loop; disposal only waits for the end.
        }
        GC.SuppressFinalize(this);
    }
}

/// <summary>Ask pattern helpers: a request message that carries its own reply promise.</summary>
public static class AskExtensions
{
    /// <summary>
    /// Creates a reply promise whose continuations run asynchronously, so completing it inside an actor's
    /// loop never runs the asker's code on that loop.
    /// </summary>
    public static TaskCompletionSource<T> NewReply<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
