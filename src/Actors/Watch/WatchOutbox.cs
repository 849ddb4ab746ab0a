using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// The bounded buffer between one <see cref="WatcherActor"/> (single writer, never waits) and the gRPC
/// writer task of its stream (single reader, sends each response in order). When the reader drains it to
/// <see cref="LowWatermark"/> after the actor asked for room, the actor is told so and resumes its victims.
/// </summary>
public sealed class WatchOutbox
{
    private readonly Channel<WatchResponse> _channel;
    private readonly Action _onRoom;
    private int _roomWanted;

    internal WatchOutbox(int capacity, Action onRoom)
    {
        if (capacity < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "outbox capacity must be >= 2");
        }
        Capacity = capacity;
        LowWatermark = capacity / 2;
        _onRoom = onRoom;
        _channel = Channel.CreateBounded<WatchResponse>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>Most responses buffered.</summary>
    public int Capacity { get; }

    /// <summary>Buffered responses at or below which a waiting actor resumes (half the capacity).</summary>
    public int LowWatermark { get; }

    /// <summary>Responses buffered now.</summary>
    public int Count => _channel.Reader.Count;

    /// <summary>Completes when the stream's actor has stopped and every buffered response was read.</summary>
    public Task Completion => _channel.Reader.Completion;

    /// <summary>Takes the next response if one is buffered. Reader side only.</summary>
    public bool TryRead(out WatchResponse response)
    {
        if (!_channel.Reader.TryRead(out response!))
        {
            return false;
        }
        SignalRoomIfDrained();
        return true;
    }

    /// <summary>Waits until a response is buffered (true) or the actor stopped and all were read (false).</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _channel.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Reads every response in order until the actor stops: the gRPC writer's loop.</summary>
    public async IAsyncEnumerable<WatchResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await _channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out var response))
            {
                yield return response;
            }
        }
    }

    internal bool TryWrite(WatchResponse response) => _channel.Writer.TryWrite(response);

    internal bool HasRoomToResume => Count <= LowWatermark;

    /// <summary>Asks for one room signal once the buffer is at or below the low watermark (at once if it already is).</summary>
    internal void RequestRoomSignal()
    {
        Volatile.Write(ref _roomWanted, 1);
        SignalRoomIfDrained();
    }

    internal void Complete() => _channel.Writer.TryComplete();

    private void SignalRoomIfDrained()
    {
        if (Volatile.Read(ref _roomWanted) == 1 && Count <= LowWatermark && Interlocked.Exchange(ref _roomWanted, 0) == 1)
        {
            _onRoom();
        }
    }
}
