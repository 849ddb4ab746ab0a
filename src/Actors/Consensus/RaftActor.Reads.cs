using Akka.Event;
using System.Buffers.Binary;
using Akka.Actor;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Consensus;

/// <summary>Linearizable reads: ReadIndex rounds shared by every read that arrived since the last one.</summary>
public sealed partial class RaftActor
{
    /// <summary>
    /// How long (ms) a batch of reads waits for its read state before its ReadIndex is asked again with the same
    /// context (etcd 3.5's readIndexRetryTime): a MsgReadIndex or its answer can be lost on the way (a follower
    /// that momentarily knows no leader drops it), and without a retry the reads would wait for the request timeout.
    /// </summary>
    public const int ReadIndexRetryMs = 500;

    private readonly List<PendingRead> _readsWaitingForRound = new();
    private readonly Dictionary<ulong, ReadBatch> _readsInFlight = new();
    private readonly RequestIdGenerator _readIds;
    private readonly long _readIndexRetryTicks;

    /// <summary>A read waiting for its read index, and who gets the query's answer.</summary>
    private readonly record struct PendingRead(StoreProtocol.Query Query, IActorRef ReplyTo);

    /// <summary>The reads sharing one Raft ReadIndex, its context, and the tick it was last asked at.</summary>
    private sealed class ReadBatch(ByteString ctx, List<PendingRead> reads, long askedAtTick)
    {
        public ByteString Ctx { get; } = ctx;

        public List<PendingRead> Reads { get; } = reads;

        public long AskedAtTick { get; set; } = askedAtTick;
    }

    private void StartReadIndexRound()
    {
        if (!_status.HasLeader)
        {
            foreach (var read in _readsWaitingForRound)
            {
                read.ReplyTo.Tell(new Status.Failure(EtcdErrors.NoLeader));
            }
            _readsWaitingForRound.Clear();
            return;
        }
        // Unique across members and restarts (member ID prefix, clock-seeded), as etcd's request IDs are.
        var id = _readIds.Next();
        var buffer = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, id);
        var ctx = ByteString.CopyFrom(buffer);
        _readsInFlight[id] = new ReadBatch(ctx, [.. _readsWaitingForRound], _ticks);
        _readsWaitingForRound.Clear();
        _node.ReadIndex(ctx);
    }

    /// <summary>Hands every read of the answered batch to the store, to run once the read index is applied.</summary>
    private void CompleteReads(ReadState readState)
    {
        if (readState.RequestCtx.Length != 8)
        {
            return;
        }
        var id = BinaryPrimitives.ReadUInt64BigEndian(readState.RequestCtx.Span);
        if (!_readsInFlight.Remove(id, out var batch))
        {
            return;
        }
        foreach (var read in batch.Reads)
        {
            _store.Tell(new StoreProtocol.RunQuery(readState.Index, read.Query), read.ReplyTo);
        }
    }

    /// <summary>Asks again, with the same context, for every read batch unanswered for <see cref="ReadIndexRetryMs"/>.</summary>
    private void RetryOverdueReads()
    {
        if (_readsInFlight.Count == 0 || !_status.HasLeader)
        {
            return;
        }
        foreach (var batch in _readsInFlight.Values)
        {
            if (_ticks - batch.AskedAtTick >= _readIndexRetryTicks)
            {
                batch.AskedAtTick = _ticks;
                _log.Debug("read index {0} unanswered for {1} ms: asking again", batch.Ctx.ToBase64(), ReadIndexRetryMs);
                Metrics.EtcdMetrics.SlowReadIndexes.Inc();
                _node.ReadIndex(batch.Ctx);
            }
        }
    }

    private void FailReadsInFlight(EtcdException error)
    {
        foreach (var batch in _readsInFlight.Values)
        {
            foreach (var read in batch.Reads)
            {
                read.ReplyTo.Tell(new Status.Failure(error.Clone()));
            }
        }
        _readsInFlight.Clear();
    }

    private void FailPendingReads(EtcdException error)
    {
        foreach (var read in _readsWaitingForRound)
        {
            read.ReplyTo.Tell(new Status.Failure(error.Clone()));
        }
        _readsWaitingForRound.Clear();
        FailReadsInFlight(error);
    }
}
