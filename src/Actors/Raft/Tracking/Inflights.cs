namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// The sliding window of in-flight MsgApp messages to one follower, each remembered by its last entry index
/// (etcd raft's tracker.Inflights). The leader stops sending when the window is full.
/// </summary>
internal sealed class Inflights
{
    private readonly Queue<ulong> _lastIndexes = new();

    public Inflights(int size) => Size = size;

    /// <summary>The window's capacity in messages.</summary>
    public int Size { get; }

    /// <summary>Messages currently in flight.</summary>
    public int Count => _lastIndexes.Count;

    /// <summary>Whether no more messages may be sent.</summary>
    public bool Full => _lastIndexes.Count >= Size;

    /// <summary>Records a message whose last entry has <paramref name="lastIndex"/>.</summary>
    public void Add(ulong lastIndex)
    {
        if (Full)
        {
            throw new InvalidOperationException("cannot add into a full inflights window");
        }

        _lastIndexes.Enqueue(lastIndex);
    }

    /// <summary>Frees every message whose last index is at or below <paramref name="index"/> (acknowledged).</summary>
    public void FreeLE(ulong index)
    {
        while (_lastIndexes.Count > 0 && _lastIndexes.Peek() <= index)
        {
            _lastIndexes.Dequeue();
        }
    }

    /// <summary>Frees the oldest message (a heartbeat response shows the follower is alive).</summary>
    public void FreeFirstOne()
    {
        if (_lastIndexes.Count > 0)
        {
            _lastIndexes.Dequeue();
        }
    }

    /// <summary>Empties the window.</summary>
    public void Reset() => _lastIndexes.Clear();
}
