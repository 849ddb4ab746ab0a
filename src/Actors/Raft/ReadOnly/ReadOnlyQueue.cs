using System.Buffers.Binary;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// The leader's pending ReadIndex requests awaiting heartbeat acknowledgement from a quorum (etcd raft's
/// <c>readOnly</c> with ReadOnlySafe, raft/read_only.go). Unlike etcd, which keys requests by the requester's
/// context and silently drops a second request with the same context, every request here gets its own
/// confirmation context (an 8-byte big-endian counter, unique for the life of this member's Raft core): the
/// heartbeats carry it and the acknowledgements echo it. Two members that happen to use the same request
/// context (each counts its own) therefore never collide, and a retried request is simply confirmed again.
/// Not thread-safe: owned by the Raft core.
/// </summary>
internal sealed class ReadOnlyQueue
{
    private readonly Dictionary<ByteString, ReadIndexStatus> _pending = [];
    private readonly Queue<ByteString> _queue = new();
    private ulong _lastConfirmation;
    private ByteString _newest = ByteString.Empty;

    internal sealed class ReadIndexStatus(Message request, ulong index)
    {
        public Message Request { get; } = request;

        public ulong Index { get; } = index;

        public HashSet<ulong> Acks { get; } = [];
    }

    /// <summary>
    /// Queues <paramref name="request"/> (a MsgReadIndex) to be answered with <paramref name="index"/> (the commit
    /// index when it arrived) and returns the confirmation context its heartbeat must carry.
    /// </summary>
    public ByteString AddRequest(ulong index, Message request)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, ++_lastConfirmation);
        var confirmation = ByteString.CopyFrom(buffer);
        _pending[confirmation] = new ReadIndexStatus(request, index);
        _queue.Enqueue(confirmation);
        _newest = confirmation;
        return confirmation;
    }

    /// <summary>Records that <paramref name="id"/> acknowledged the heartbeat carrying <paramref name="confirmation"/>.</summary>
    /// <returns>The members that acknowledged so far, or null when <paramref name="confirmation"/> is unknown.</returns>
    public HashSet<ulong>? RecvAck(ulong id, ByteString confirmation)
    {
        if (!_pending.TryGetValue(confirmation, out var status))
        {
            return null;
        }

        status.Acks.Add(id);
        return status.Acks;
    }

    /// <summary>
    /// Dequeues the request confirmed by <paramref name="confirmation"/> and every request queued before it (a later
    /// confirmation confirms the earlier ones too), oldest first.
    /// </summary>
    public List<ReadIndexStatus> Advance(ByteString confirmation)
    {
        if (!_pending.ContainsKey(confirmation))
        {
            return [];
        }

        var result = new List<ReadIndexStatus>();
        while (_queue.TryDequeue(out var key))
        {
            result.Add(_pending[key]);
            _pending.Remove(key);
            if (key == confirmation)
            {
                break;
            }
        }

        return result;
    }

    /// <summary>The confirmation context of the newest pending request, or null.</summary>
    public ByteString? LastPendingRequestContext() => _queue.Count == 0 ? null : _newest;

    /// <summary>Drops every pending request (leadership lost or a new term); confirmation contexts keep counting.</summary>
    public void Reset()
    {
        _pending.Clear();
        _queue.Clear();
    }
}
