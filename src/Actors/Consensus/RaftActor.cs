using System.Buffers.Binary;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Snap;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Consensus;

/// <summary>Messages the <see cref="RaftActor"/> accepts.</summary>
public abstract record RaftMessage
{
    private RaftMessage()
    {
    }

    /// <summary>One Raft tick (every heartbeat interval).</summary>
    public sealed record Tick : RaftMessage
    {
        /// <summary>The shared instance.</summary>
        public static readonly Tick Instance = new();
    }

    /// <summary>Proposes an encoded InternalRaftRequest whose waiter is registered under <paramref name="Id"/>.</summary>
    public sealed record Propose(ulong Id, ByteString Data) : RaftMessage;

    /// <summary>Asks for a read index: the promise completes with the index a linearizable read must wait for.</summary>
    public sealed record ReadIndex(TaskCompletionSource<ulong> Reply) : RaftMessage;

    /// <summary>A Raft message from a peer.</summary>
    public sealed record Step(Message Message) : RaftMessage;

    /// <summary>The MvccStoreActor applied everything up to <paramref name="Index"/>.</summary>
    public sealed record Applied(ulong Index) : RaftMessage;

    /// <summary>Proposes a membership change; its waiter is registered under the change's ID.</summary>
    public sealed record ProposeConfChange(ConfChange Change) : RaftMessage;

    /// <summary>Asks the leader to hand leadership to <paramref name="Transferee"/> (MoveLeader).</summary>
    public sealed record TransferLeadership(ulong Transferee) : RaftMessage;

    /// <summary>The transport could not reach <paramref name="PeerId"/>.</summary>
    public sealed record Unreachable(ulong PeerId) : RaftMessage;

    /// <summary>A snapshot sent to <paramref name="PeerId"/> was delivered or failed.</summary>
    public sealed record SnapshotStatus(ulong PeerId, bool Succeeded) : RaftMessage;

    /// <summary>Asks for the Raft status (term, leader, per-follower progress).</summary>
    public sealed record QueryProgress(TaskCompletionSource<RaftStatus> Reply) : RaftMessage;
}

/// <summary>
/// Drives the pure Raft core (<see cref="RawNode"/>) for one member. It turns every burst of messages in
/// its mailbox into at most one <see cref="Ready"/> per round: entries and HardState go to the
/// <see cref="WalJournalActor"/> and are durable (one fsync for the whole burst) before anything is sent
/// or applied; committed entries then go to the <see cref="MvccStoreActor"/>; read states complete the
/// pending ReadIndex requests. Linearizable reads are batched: all ReadIndex asks of one round share one
/// Raft ReadIndex. Every <see cref="ServerOptions.SnapshotCount"/> applied entries it takes a Raft
/// snapshot, which compacts the in-memory log and releases old WAL segments.
/// </summary>
public sealed class RaftActor : Actor<RaftMessage>
{
    private readonly RawNode _node;
    private readonly MemoryRaftLogStorage _storage;
    private readonly WalJournalActor _journal;
    private readonly MvccStoreActor _store;
    private readonly ServerStatus _status;
    private readonly ProposalWaiters _waiters;
    private readonly ServerOptions _options;
    private readonly SnapshotFiles _snapshots;
    private ConfState _confState;
    private readonly Action<IReadOnlyList<Message>> _send;
    private readonly List<TaskCompletionSource<ulong>> _readWaitingForRound = new();
    private readonly Dictionary<ulong, ReadBatch> _readsInFlight = new();
    private readonly RequestIdGenerator _readIds;
    private readonly long _readIndexRetryTicks;
    private long _ticks;
    private ulong _appliedIndex;
    private ulong _snapshotIndex;
    private bool _snapshotInProgress;

    /// <summary>Creates the actor; the caller has filled <paramref name="storage"/> from the WAL and snapshot.</summary>
    /// <param name="node">The Raft core, over <paramref name="storage"/>.</param>
    /// <param name="storage">The in-memory Raft log the core reads.</param>
    /// <param name="journal">Where Ready state is made durable.</param>
    /// <param name="store">Where committed entries are applied.</param>
    /// <param name="status">Shared status this actor publishes Raft progress to.</param>
    /// <param name="waiters">Proposal waiters, failed here when a proposal is dropped.</param>
    /// <param name="options">Member options (snapshot count, catch-up entries).</param>
    /// <param name="snapshots">Raft snapshot file store.</param>
    /// <param name="send">Sends messages to peers (after persistence); drops what it cannot deliver.</param>
    /// <param name="logger">Logger.</param>
    public RaftActor(RawNode node, MemoryRaftLogStorage storage, WalJournalActor journal, MvccStoreActor store,
        ServerStatus status, ProposalWaiters waiters, ServerOptions options, SnapshotFiles snapshots,
        Action<IReadOnlyList<Message>> send, ILogger logger)
        : base("raft", logger)
    {
        _node = node;
        _storage = storage;
        _journal = journal;
        _store = store;
        _status = status;
        _waiters = waiters;
        _options = options;
        _snapshots = snapshots;
        _send = send;
        _snapshotIndex = storage.Snapshot().Metadata?.Index ?? 0;
        _appliedIndex = status.AppliedIndex;
        _confState = storage.InitialState().ConfState;
        _readIds = new RequestIdGenerator(status.MemberId);
        _readIndexRetryTicks = Math.Max(1, (ReadIndexRetryMs + options.HeartbeatIntervalMs - 1) / Math.Max(1, options.HeartbeatIntervalMs));
    }

    /// <summary>
    /// How long (ms) a batch of reads waits for its read state before its ReadIndex is asked again with the same
    /// context (etcd 3.5's readIndexRetryTime): a MsgReadIndex or its answer can be lost on the way (a follower
    /// that momentarily knows no leader drops it), and without a retry the reads would wait for the request timeout.
    /// </summary>
    public const int ReadIndexRetryMs = 500;

    /// <summary>The reads sharing one Raft ReadIndex, its context, and the tick it was last asked at.</summary>
    private sealed class ReadBatch(ByteString ctx, List<TaskCompletionSource<ulong>> replies, long askedAtTick)
    {
        public ByteString Ctx { get; } = ctx;

        public List<TaskCompletionSource<ulong>> Replies { get; } = replies;

        public long AskedAtTick { get; set; } = askedAtTick;
    }

    /// <summary>
    /// Called on the actor's loop when this member becomes leader (true) or stops being leader (false); the
    /// lessor is promoted or demoted here, as etcd does on leader change.
    /// </summary>
    public Action<bool>? LeadershipChanged { get; init; }

    /// <summary>
    /// Called on the actor's loop after a committed ConfChange was applied to the Raft core, with the change and
    /// the member it carries (decoded from its context; null if none): the transport adds, updates or removes
    /// the peer here, and a member that removed itself stops.
    /// </summary>
    public Action<ConfChange, Etcdserverpb.Member?>? ConfChangeApplied { get; init; }

    /// <summary>
    /// Called on the actor's loop when Raft accepted a snapshot from the leader, before it is persisted: installs
    /// the backend db that came with it (etcd's applySnapshot), so the store and the Raft log move together.
    /// </summary>
    public Func<Snapshot, Task>? InstallSnapshotBackend { get; init; }

    /// <inheritdoc />
    protected override ValueTask OnReceiveAsync(RaftMessage message)
    {
        switch (message)
        {
            case RaftMessage.Tick:
                _ticks++;
                _node.Tick();
                RetryOverdueReads();
                break;
            case RaftMessage.Propose propose:
                try
                {
                    _node.Propose(propose.Data);
                }
                catch (ProposalDroppedException)
                {
                    _waiters.Fail(propose.Id, _status.HasLeader ? EtcdErrors.LeaderChanged : EtcdErrors.NoLeader);
                }
                break;
            case RaftMessage.ReadIndex read:
                _readWaitingForRound.Add(read.Reply);
                break;
            case RaftMessage.Step step:
                try
                {
                    _node.Step(step.Message);
                }
                catch (ArgumentException ex)
                {
                    // A local-only message type from the network: drop it rather than stop the member.
                    Logger.LogWarning("dropped {type} from {from}: {error}", step.Message.Type.ToString(), step.Message.From.ToString("x16"), ex.Message);
                }
                break;
            case RaftMessage.Applied applied:
                _appliedIndex = Math.Max(_appliedIndex, applied.Index);
                break;
            case RaftMessage.ProposeConfChange proposeConfChange:
                try
                {
                    _node.ProposeConfChange(proposeConfChange.Change);
                }
                catch (ProposalDroppedException)
                {
                    _waiters.Fail(proposeConfChange.Change.ID, _status.HasLeader ? EtcdErrors.LeaderChanged : EtcdErrors.NoLeader);
                }
                break;
            case RaftMessage.TransferLeadership transfer:
                _node.TransferLeader(transfer.Transferee);
                break;
            case RaftMessage.Unreachable unreachable:
                _node.ReportUnreachable(unreachable.PeerId);
                break;
            case RaftMessage.SnapshotStatus snapshotStatus:
                _node.ReportSnapshot(snapshotStatus.PeerId, snapshotStatus.Succeeded);
                break;
            case RaftMessage.QueryProgress query:
                query.Reply.TrySetResult(_node.Status);
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override async ValueTask OnMailboxDrainedAsync()
    {
        if (_readWaitingForRound.Count > 0)
        {
            StartReadIndexRound();
        }
        while (_node.HasReady())
        {
            var ready = _node.GetReady();
            await HandleReadyAsync(ready).ConfigureAwait(false);
            _node.Advance(ready);
            CampaignIfSoleVoter();
        }
        PublishStatus();
        await MaybeSnapshotAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A member that is the only voter elects itself at once instead of waiting an election timeout (etcd
    /// fast-forwards its election ticks on a fresh start for the same reason).
    /// </summary>
    private void CampaignIfSoleVoter()
    {
        if (_confState.Voters.Count == 1 && _confState.Voters[0] == _status.MemberId
            && _confState.Learners.Count == 0 && _node.Status.State == RaftState.Follower)
        {
            _node.Campaign();
        }
    }

    private void StartReadIndexRound()
    {
        if (!_status.HasLeader)
        {
            foreach (var reply in _readWaitingForRound)
            {
                reply.TrySetException(EtcdErrors.NoLeader);
            }
            _readWaitingForRound.Clear();
            return;
        }
        // Unique across members and restarts (member ID prefix, clock-seeded), as etcd's request IDs are.
        var id = _readIds.Next();
        var buffer = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, id);
        var ctx = ByteString.CopyFrom(buffer);
        _readsInFlight[id] = new ReadBatch(ctx, [.. _readWaitingForRound], _ticks);
        _readWaitingForRound.Clear();
        _node.ReadIndex(ctx);
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
                Logger.LogDebug("read index {ctx} unanswered for {ms} ms: asking again", batch.Ctx.ToBase64(), ReadIndexRetryMs);
                _node.ReadIndex(batch.Ctx);
            }
        }
    }

    private async ValueTask HandleReadyAsync(Ready ready)
    {
        if (ready.SoftState is { } soft)
        {
            var oldLeader = _status.Leader;
            _status.Leader = soft.Lead;
            var wasLeader = oldLeader == _status.MemberId;
            var isLeader = soft.Lead == _status.MemberId;
            if (wasLeader != isLeader)
            {
                LeadershipChanged?.Invoke(isLeader);
            }
            if (soft.Lead != oldLeader)
            {
                Logger.LogInformation("raft.node: {member} elected leader {leader} at term {term}",
                    _status.MemberId.ToString("x16"), soft.Lead.ToString("x16"), _node.Status.Term);
                FailReadsInFlight(soft.Lead == 0 ? EtcdErrors.NoLeader : EtcdErrors.LeaderChanged);
            }
        }
        if (ready.Snapshot is { } snapshot && snapshot.Metadata is { Index: > 0 })
        {
            if (InstallSnapshotBackend is { } install)
            {
                await install(snapshot).ConfigureAwait(false);
            }
            _snapshots.Save(snapshot);
            var durable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _journal.Tell(new JournalMessage.SaveSnapshotMarker(snapshot.Metadata.Index, snapshot.Metadata.Term, durable));
            await durable.Task.ConfigureAwait(false);
            _storage.ApplySnapshot(snapshot);
            _snapshotIndex = snapshot.Metadata.Index;
            _confState = snapshot.Metadata.ConfState ?? _confState;
        }
        // A leader replicates while it writes: its MsgApp/heartbeats go out before its own fsync (etcd's raftNode does
        // the same, Raft thesis 10.2.1), so the followers' fsyncs overlap the leader's instead of following it. Safe
        // because this loop awaits the fsync before it steps anything else: every MsgAppResp that could commit these
        // entries is handled after they are durable here too. Everything else (votes, responses) waits for durability.
        var sendAfterPersist = ready.Messages;
        if (ready.Messages.Count > 0 && _status.IsLeader)
        {
            sendAfterPersist = SendLeaderReplicationNow(ready.Messages);
        }
        if (ready.HardState is not null || ready.Entries.Count > 0)
        {
            // Completed by the WalJournalActor right after its fsync; the continuation (the rest of this round and the
            // next one, up to the next Save) runs inline on the journal's loop instead of hopping to the thread pool, so
            // in steady state the two loops hand over on one thread: no wake-up per fsync on either side. Safe: the
            // journal completes promises outside any lock, and this loop is still the only one touching its state.
            var durable = new TaskCompletionSource();
            _journal.Tell(new JournalMessage.Save(ready.HardState, ready.Entries, durable));
            await durable.Task.ConfigureAwait(false);
            if (ready.HardState is { } hardState)
            {
                _storage.SetHardState(hardState);
                _status.Term = hardState.Term;
            }
            if (ready.Entries.Count > 0)
            {
                _storage.Append(ready.Entries);
            }
        }
        if (sendAfterPersist.Count > 0)
        {
            _send(sendAfterPersist);
        }
        if (ready.CommittedEntries.Count > 0)
        {
            foreach (var entry in ready.CommittedEntries)
            {
                if (entry.Type == EntryType.EntryConfChange)
                {
                    ApplyConfChange(entry);
                }
            }
            _store.Tell(new StoreMessage.Apply(ready.CommittedEntries));
            _status.CommitIndex = ready.CommittedEntries[^1].Index;
        }
        foreach (var readState in ready.ReadStates)
        {
            if (readState.RequestCtx.Length == 8)
            {
                var id = BinaryPrimitives.ReadUInt64BigEndian(readState.RequestCtx.Span);
                if (_readsInFlight.Remove(id, out var batch))
                {
                    foreach (var reply in batch.Replies)
                    {
                        reply.TrySetResult(readState.Index);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Sends a leader's MsgApp, MsgHeartbeat and MsgSnap at once and returns the other messages, which must wait
    /// until the Ready's HardState and entries are durable.
    /// </summary>
    private IReadOnlyList<Message> SendLeaderReplicationNow(IReadOnlyList<Message> messages)
    {
        List<Message>? now = null;
        List<Message>? later = null;
        foreach (var message in messages)
        {
            if (message.Type is MessageType.MsgApp or MessageType.MsgHeartbeat or MessageType.MsgSnap)
            {
                (now ??= new List<Message>(messages.Count)).Add(message);
            }
            else
            {
                (later ??= new List<Message>()).Add(message);
            }
        }
        if (now is not null)
        {
            _send(now);
        }
        return later ?? (IReadOnlyList<Message>)Array.Empty<Message>();
    }

    private void ApplyConfChange(Entry entry)
    {
        ConfChange change;
        try
        {
            change = ConfChange.Parser.ParseFrom(entry.Data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            Logger.LogError(ex, "undecodable conf change at index {index}", entry.Index);
            return;
        }
        _confState = _node.ApplyConfChange(change);
        Etcdserverpb.Member? member = null;
        if (!change.Context.IsEmpty)
        {
            try
            {
                member = Etcdserverpb.Member.Parser.ParseFrom(change.Context);
            }
            catch (InvalidProtocolBufferException)
            {
                member = null;
            }
        }
        ConfChangeApplied?.Invoke(change, member);
    }

    private void FailReadsInFlight(EtcdException error)
    {
        foreach (var batch in _readsInFlight.Values)
        {
            foreach (var reply in batch.Replies)
            {
                reply.TrySetException(error.Clone());
            }
        }
        _readsInFlight.Clear();
    }

    private void PublishStatus()
    {
        var status = _node.Status;
        _status.Term = status.Term;
        _status.Leader = status.Lead;
        _status.CommitIndex = status.Commit;
        _status.LastIndex = _storage.LastIndex();
    }

    private async ValueTask MaybeSnapshotAsync()
    {
        if (_snapshotInProgress || _appliedIndex <= _snapshotIndex || _appliedIndex - _snapshotIndex < _options.SnapshotCount)
        {
            return;
        }
        _snapshotInProgress = true;
        try
        {
            // The backend must hold everything up to the snapshot index before the WAL before it goes.
            var persisted = AskExtensions.NewReply<ulong>();
            _store.Tell(new StoreMessage.PersistForSnapshot(persisted));
            var index = await persisted.Task.ConfigureAwait(false);
            if (index <= _snapshotIndex)
            {
                return;
            }
            var snapshot = _storage.CreateSnapshot(index, _confState, ReadOnlyMemory<byte>.Empty);
            _snapshots.Save(snapshot);
            _snapshots.Purge(_options.MaxSnapshots);
            var durable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _journal.Tell(new JournalMessage.SaveSnapshotMarker(index, snapshot.Metadata.Term, durable));
            await durable.Task.ConfigureAwait(false);
            _snapshotIndex = index;
            var compactTo = index > _options.SnapshotCatchUpEntries ? index - _options.SnapshotCatchUpEntries : 0;
            if (compactTo > _storage.FirstIndex())
            {
                _storage.Compact(compactTo);
            }
            _journal.Tell(new JournalMessage.Release(index));
            Logger.LogInformation("saved snapshot at index {index}, compacted raft log at {compactIndex}", index, compactTo);
        }
        finally
        {
            _snapshotInProgress = false;
        }
    }

    /// <inheritdoc />
    protected override void OnDeadLetter(RaftMessage message, Exception reason)
    {
        switch (message)
        {
            case RaftMessage.Propose propose:
                _waiters.Fail(propose.Id, EtcdErrors.Stopped);
                break;
            case RaftMessage.ReadIndex read:
                read.Reply.TrySetException(EtcdErrors.Stopped);
                break;
        }
    }

    /// <inheritdoc />
    protected override ValueTask PostStopAsync()
    {
        foreach (var reply in _readWaitingForRound)
        {
            reply.TrySetException(EtcdErrors.Stopped);
        }
        FailReadsInFlight(EtcdErrors.Stopped);
        return ValueTask.CompletedTask;
    }
}
