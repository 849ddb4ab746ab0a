using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// The leader's pending ReadIndex requests awaiting heartbeat acknowledgement from a quorum (etcd raft's
/// <c>readOnly</c> with ReadOnlySafe, raft/read_only.go). Requests are keyed by their request context.
/// </summary>
internal sealed class ReadOnlyQueue
{
    private readonly Dictionary<ByteString, ReadIndexStatus> _pending = [];
    private readonly List<ByteString> _queue = [];

    internal sealed class ReadIndexStatus(Message request, ulong index)
    {
        public Message Request { get; } = request;

        public ulong Index { get; } = index;

        public HashSet<ulong> Acks { get; } = [];
    }

    /// <summary>Queues <paramref name="request"/> (a MsgReadIndex) to be answered with <paramref name="index"/>.</summary>
    public void AddRequest(ulong index, Message request)
    {
        var ctx = request.Entries[0].Data;
        if (_pending.ContainsKey(ctx))
        {
            return;
        }

        _pending[ctx] = new ReadIndexStatus(request, index);
        _queue.Add(ctx);
    }

    /// <summary>Records that <paramref name="id"/> acknowledged the heartbeat for <paramref name="ctx"/>.</summary>
    /// <returns>The members that acknowledged so far, or null when <paramref name="ctx"/> is unknown.</returns>
    public HashSet<ulong>? RecvAck(ulong id, ByteString ctx)
    {
        if (!_pending.TryGetValue(ctx, out var status))
        {
            return null;
        }

        status.Acks.Add(id);
        return status.Acks;
    }

    /// <summary>
    /// Dequeues the request with <paramref name="ctx"/> and every request queued before it (a later confirmation
    /// confirms the earlier ones too).
    /// </summary>
    public List<ReadIndexStatus> Advance(ByteString ctx)
    {
        var position = _queue.IndexOf(ctx);
        if (position < 0)
        {
            return [];
        }

        var result = new List<ReadIndexStatus>(position + 1);
        for (var i = 0; i <= position; i++)
        {
            var key = _queue[i];
            result.Add(_pending[key]);
            _pending.Remove(key);
        }

        _queue.RemoveRange(0, position + 1);
        return result;
    }

    /// <summary>The context of the newest pending request, or null.</summary>
    public ByteString? LastPendingRequestContext() => _queue.Count == 0 ? null : _queue[^1];
}
