using Akka.Actor;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// The gRPC facade's entry to the member's watch streams: opens one <see cref="WatcherActor"/> per client Watch stream
/// (an ask of the <see cref="WatchStreamsActor"/>). Thread-safe.
/// </summary>
public sealed class WatchHub
{
    private readonly IActorRef _streams;
    private readonly TimeSpan _timeout;

    /// <summary>Creates the hub over the member's <see cref="WatchStreamsActor"/>.</summary>
    /// <param name="streams">The WatchStreamsActor.</param>
    /// <param name="timeout">How long opening a stream may take before it fails with <see cref="AskTimeoutException"/>.</param>
    public WatchHub(IActorRef streams, TimeSpan timeout)
    {
        _streams = streams;
        _timeout = timeout;
    }

    /// <summary>
    /// Opens the actor of one client Watch stream. Feed it the client's requests with
    /// <see cref="WatchStream.RequestAsync"/>, send what <see cref="WatchStream.Outbox"/> yields, and
    /// <see cref="WatchStream.Stop"/> it when the stream ends.
    /// </summary>
    public Task<WatchStream> OpenStreamAsync(CancellationToken cancel = default) =>
        _streams.Ask<WatchStream>(WatcherProtocol.OpenStream.Instance, _timeout, cancel);
}
