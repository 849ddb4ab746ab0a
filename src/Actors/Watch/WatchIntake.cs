namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// Admission control for the requests of one Watch stream (etcd's <c>ctrlStreamBufLen</c>, 16): the gRPC reader takes a
/// permit before handing a request to the stream's WatcherActor, and the actor gives it back once the request's answer
/// is in the outbox (or the request needs none). While every permit is taken the reader stops reading, so HTTP/2 flow
/// control holds the client back instead of a queue growing in the member.
/// </summary>
public sealed class WatchIntake : IDisposable
{
    /// <summary>etcd's <c>ctrlStreamBufLen</c>: requests of one stream that may wait for their answer.</summary>
    public const int DefaultPermits = 16;

    private readonly SemaphoreSlim _permits;

    /// <summary>Creates the intake with <paramref name="permits"/> permits (at least 1).</summary>
    public WatchIntake(int permits = DefaultPermits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permits, 1);
        Capacity = permits;
        _permits = new SemaphoreSlim(permits, permits);
    }

    /// <summary>How many requests may wait for their answer.</summary>
    public int Capacity { get; }

    /// <summary>Permits free now.</summary>
    public int Available => _permits.CurrentCount;

    /// <summary>Waits for a permit (reader side). Throws <see cref="OperationCanceledException"/> on <paramref name="cancel"/>.</summary>
    public Task TakeAsync(CancellationToken cancel) => _permits.WaitAsync(cancel);

    /// <summary>Gives a permit back (actor side).</summary>
    internal void Release() => _permits.Release();

    /// <inheritdoc />
    public void Dispose() => _permits.Dispose();
}
