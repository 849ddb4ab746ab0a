using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// The bounded buffer between one <see cref="WatcherActor"/> (single writer, never waits) and the gRPC
/// writer task of its stream (single reader, sends each response in order): the edge of the actor system on the
/// way out, as <see cref="WatchIntake"/> is on the way in. When the reader drains it to
/// <see cref="LowWatermark"/> after the actor asked for room, the actor is told so and resumes its victims.
/// </summary>
public sealed class WatchOutbox
{
    private readonly Channel<WatchResponse> _channel;
    private Action _onRoom = static () => { };
    private int _roomWanted;

    /// <summary>Creates an outbox holding at most <paramref name="capacity"/> responses (at least 2).</summary>
    public WatchOutbox(int capacity)
    {
        if (capacity < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "outbox capacity must be >= 2");
        }
        Capacity = capacity;
        LowWatermark = capacity / 2;
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

    /// <summary>Ends the outbox with an error: the reader sees <paramref name="cause"/> once what is buffered is read.</summary>
    internal void Fail(Exception cause) => _channel.Writer.TryComplete(cause);

    /// <summary>Sets who is told when the reader drained the outbox after room was asked for (the stream's actor).</summary>
    internal void OnRoom(Action onRoom) => _onRoom = onRoom;

    private void SignalRoomIfDrained()
    {
        if (Volatile.Read(ref _roomWanted) == 1 && Count <= LowWatermark && Interlocked.Exchange(ref _roomWanted, 0) == 1)
        {
            _onRoom();
        }
    }
}
