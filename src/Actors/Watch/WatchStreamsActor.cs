using Akka.Actor;
using Akka.Etcd.Actors.Server;
using Akka.Event;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// The parent of every <see cref="WatcherActor"/> (one per client Watch stream): creates them on
/// <see cref="WatcherProtocol.OpenStream"/> and supervises them. A stream whose actor fails is stopped (its outbox
/// fails with the cause, so that client's stream ends with an error) and every other stream goes on; the member keeps
/// serving.
/// </summary>
public sealed class WatchStreamsActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, WatchOutbox> _outboxes = new();

    /// <summary>Props of the parent.</summary>
    /// <param name="store">The MvccStoreActor (streams register there for published revisions and read history).</param>
    /// <param name="status">The member's read model (response headers).</param>
    /// <param name="options">Options of every stream opened here.</param>
    public static Props Props(IActorRef store, ServerStatus status, WatchStreamOptions options) =>
        Akka.Actor.Props.Create(() => new WatchStreamsActor(store, status, options));

    /// <summary>Creates the parent; use <see cref="Props"/>.</summary>
    public WatchStreamsActor(IActorRef store, ServerStatus status, WatchStreamOptions options)
    {
        Receive<WatcherProtocol.OpenStream>(_ =>
        {
            var outbox = new WatchOutbox(options.OutboxCapacity);
            var intake = new WatchIntake(options.IntakePermits);
            var stream = Context.ActorOf(WatcherActor.Props(store, status, options, outbox, intake));
            Context.Watch(stream);
            _outboxes[stream] = outbox;
            Sender.Tell(new WatchStream(stream, outbox, intake));
        });
        Receive<Terminated>(terminated =>
        {
            // A block body: an expression lambda returning bool would pick Receive's "handled?" overload.
            _outboxes.Remove(terminated.ActorRef);
        });
    }

    /// <summary>A failing stream is stopped with its outbox failed; the others are untouched.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new StopFailedStream(this);

    /// <summary>Stops a failed stream and fails its outbox with the cause, so the gRPC writer ends that call with an error.</summary>
    private sealed class StopFailedStream(WatchStreamsActor parent) : OneForOneStrategy(_ => Directive.Stop)
    {
        protected override Directive Handle(IActorRef child, Exception exception)
        {
            parent._log.Error(exception, "a watch stream failed; closing it");
            if (parent._outboxes.Remove(child, out var outbox))
            {
                outbox.Fail(exception);
            }
            return Directive.Stop;
        }
    }
}
