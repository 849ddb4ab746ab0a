using Akka.Actor;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// The gRPC facade's handle on one client Watch stream: feed the client's requests with <see cref="RequestAsync"/>,
/// write what <see cref="Outbox"/> yields to the client, and call <see cref="Stop"/> when the stream ends.
/// </summary>
/// <param name="Actor">The stream's WatcherActor.</param>
/// <param name="Outbox">The responses, in order; completes when the actor stops.</param>
/// <param name="Intake">The requests' admission control.</param>
public sealed record WatchStream(IActorRef Actor, WatchOutbox Outbox, WatchIntake Intake)
{
    /// <summary>
    /// Hands a client request to the actor once a permit is free (at most <see cref="WatchIntake.Capacity"/> wait for
    /// their answer). A create refused by auth carries the reason (<paramref name="deniedReason"/>) and is answered
    /// created-and-canceled in its turn. Throws <see cref="OperationCanceledException"/> on <paramref name="cancel"/>.
    /// </summary>
    public async Task RequestAsync(WatchRequest request, CancellationToken cancel, string? deniedReason = null)
    {
        await Intake.TakeAsync(cancel).ConfigureAwait(false);
        Actor.Tell(new WatcherProtocol.ClientRequest(request, deniedReason));
    }

    /// <summary>Stops the actor; the outbox completes once what it holds is read. Idempotent.</summary>
    public void Stop() => Actor.Tell(PoisonPill.Instance);
}
