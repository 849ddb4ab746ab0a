using Akka.Actor;
using Akka.Event;
using Akka.Remote;

namespace Akka.Etcd.Node.Hosting;

/// <summary>
/// Tells the node when a peer has quarantined this member's ActorSystem (Akka.Remote's
/// <see cref="ThisActorSystemQuarantinedEvent"/>: the peer refuses every association from this incarnation's UID until
/// it restarts, Raft traffic included). The settings in reference.conf keep a live member out of quarantine
/// (docs/architecture.md, "Between members"); should it happen anyway, the member cannot recover in place and must not
/// stay up cut off from that peer, so the node stops it and exits non-zero (a supervisor's restart is a new UID).
/// A member removed from the cluster is quarantined by the others too; it stops on its own, which the node lets happen
/// first.
/// </summary>
public sealed class QuarantineWatch
{
    private readonly TaskCompletionSource<ThisActorSystemQuarantinedEvent> _quarantined = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The actor's name under <c>/user</c>.</summary>
    public const string ActorName = "quarantine-watch";

    /// <summary>Starts watching <paramref name="system"/>'s EventStream (an actor at <c>/user/quarantine-watch</c>).</summary>
    /// <param name="system">The member's ActorSystem (remoting on).</param>
    public QuarantineWatch(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        system.ActorOf(Props.Create(() => new Watcher(_quarantined)), ActorName);
    }

    /// <summary>Completes with the first quarantine of this ActorSystem by a peer (its address in
    /// <see cref="ThisActorSystemQuarantinedEvent.RemoteAddress"/>); never completes while none happens.</summary>
    public Task<ThisActorSystemQuarantinedEvent> Quarantined => _quarantined.Task;

    /// <summary>Subscribes to the event and completes the task once; the node's host is the only reader.</summary>
    private sealed class Watcher : ReceiveActor
    {
        public Watcher(TaskCompletionSource<ThisActorSystemQuarantinedEvent> quarantined)
        {
            var log = Context.GetLogger();
            Receive<ThisActorSystemQuarantinedEvent>(quarantine =>
            {
                log.Error("peer {0} has quarantined this member ({1}): it refuses this incarnation until it restarts",
                    quarantine.RemoteAddress, quarantine.LocalAddress);
                quarantined.TrySetResult(quarantine);
            });
        }

        protected override void PreStart() => Context.System.EventStream.Subscribe<ThisActorSystemQuarantinedEvent>(Self);

        protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
    }
}
