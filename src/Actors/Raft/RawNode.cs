using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// A Raft member driven by its owner (etcd raft's <c>RawNode</c>, raft/rawnode.go). Not thread-safe: one actor owns
/// it and calls every member from its mailbox loop. Pure: no clock (call <see cref="Tick"/> every heartbeat
/// interval), no I/O (persist and send what <see cref="GetReady"/> hands out, then call <see cref="Advance"/>).
/// <para>
/// Loop: feed input (<see cref="Tick"/>, <see cref="Step"/>, <see cref="Propose(ByteString)"/>, ...); while
/// <see cref="HasReady"/>: <c>var rd = GetReady()</c>, persist rd.HardState / rd.Entries / rd.Snapshot into the WAL and
/// the <see cref="MemoryRaftLogStorage"/>, send rd.Messages, apply rd.Snapshot and rd.CommittedEntries (calling
/// <see cref="ApplyConfChange"/> for EntryConfChange entries), then <c>Advance(rd)</c>. Nothing may be fed in between
/// GetReady and Advance.
/// </para>
/// </summary>
public sealed class RawNode
{
    private readonly RaftCore _raft;
    private SoftState _previousSoftState;
    private HardState _previousHardState;

    /// <summary>
    /// Starts a member from <paramref name="storage"/> (HardState, ConfState, entries, snapshot); a new cluster takes
    /// its members from <see cref="RaftConfig.Peers"/>. The member starts as a follower with no leader.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="config"/> is invalid.</exception>
    /// <exception cref="InvalidOperationException">The stored commit index is past the stored log.</exception>
    public RawNode(RaftConfig config, IRaftLogStorage storage)
    {
        _raft = new RaftCore(config, storage);
        _previousSoftState = _raft.SoftState;
        _previousHardState = _raft.HardState;
    }

    /// <summary>The underlying state machine, for tests.</summary>
    internal RaftCore Raft => _raft;

    /// <summary>Advances the logical clock by one tick: may start an election (follower) or send heartbeats (leader).</summary>
    public void Tick() => _raft.Tick();

    /// <summary>
    /// Starts an election now (MsgHup) instead of waiting for the election timeout; a single-voter cluster becomes
    /// leader at once. Ignored on a leader or a learner.
    /// </summary>
    public void Campaign() => _raft.Step(new Message { Type = MessageType.MsgHup });

    /// <summary>Proposes <paramref name="data"/> to be appended to the log as an EntryNormal.</summary>
    /// <exception cref="ProposalDroppedException">No leader is known, a leadership transfer is in progress, or the leader
    /// holds <see cref="RaftConfig.MaxUncommittedEntriesSize"/> bytes of uncommitted entries.</exception>
    public void Propose(ByteString data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ProposeEntry(new Entry { Type = EntryType.EntryNormal, Data = data });
    }

    /// <summary>Proposes <paramref name="data"/> (copied) to be appended to the log as an EntryNormal.</summary>
    /// <exception cref="ProposalDroppedException">No leader is known, a leadership transfer is in progress, or the leader
    /// holds <see cref="RaftConfig.MaxUncommittedEntriesSize"/> bytes of uncommitted entries.</exception>
    public void Propose(ReadOnlyMemory<byte> data) => Propose(ByteString.CopyFrom(data.Span));

    /// <summary>
    /// Proposes a single-member configuration change (an EntryConfChange entry). While an earlier change is not
    /// applied yet, the leader replaces the new one by an empty normal entry, as etcd does; the proposer sees no
    /// EntryConfChange committed and may retry.
    /// </summary>
    /// <exception cref="ProposalDroppedException">No leader is known, a leadership transfer is in progress, or the leader
    /// holds <see cref="RaftConfig.MaxUncommittedEntriesSize"/> bytes of uncommitted entries.</exception>
    public void ProposeConfChange(ConfChange confChange)
    {
        ArgumentNullException.ThrowIfNull(confChange);
        ProposeEntry(new Entry { Type = EntryType.EntryConfChange, Data = confChange.ToByteString() });
    }

    private void ProposeEntry(Entry entry)
    {
        var m = new Message { Type = MessageType.MsgProp, From = _raft.Id };
        m.Entries.Add(entry);
        if (!_raft.Step(m))
        {
            var uncommittedLimit = _raft.DroppedForUncommittedLimit;
            _raft.DroppedForUncommittedLimit = false;
            throw new ProposalDroppedException(uncommittedLimit);
        }
    }

    /// <summary>
    /// Applies a committed conf change to the configuration (call it when applying its EntryConfChange entry).
    /// </summary>
    /// <returns>The new configuration, to save with the next snapshot.</returns>
    public ConfState ApplyConfChange(ConfChange confChange)
    {
        ArgumentNullException.ThrowIfNull(confChange);
        return _raft.ApplyConfChange(confChange);
    }

    /// <summary>
    /// Feeds a message received from another member. Proposals forwarded to a member that cannot take them are
    /// dropped silently (the proposer's own node reports that).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="message"/> is a local message type (MsgHup, MsgBeat,
    /// MsgUnreachable, MsgSnapStatus, MsgCheckQuorum): use the dedicated methods.</exception>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Type is MessageType.MsgHup or MessageType.MsgBeat or MessageType.MsgUnreachable
            or MessageType.MsgSnapStatus or MessageType.MsgCheckQuorum)
        {
            throw new ArgumentException($"{message.Type} is a local message and cannot be stepped from the network", nameof(message));
        }

        // Responses from members no longer in the configuration are ignored.
        if (IsResponse(message.Type) && !_raft.Tracker.Progress.ContainsKey(message.From))
        {
            return;
        }

        _raft.Step(message);
    }

    private static bool IsResponse(MessageType type) => type is MessageType.MsgAppResp or MessageType.MsgVoteResp
        or MessageType.MsgHeartbeatResp or MessageType.MsgUnreachable or MessageType.MsgPreVoteResp;

    /// <summary>
    /// Asks for a read index: a <see cref="ReadState"/> with <paramref name="requestCtx"/> appears in a later
    /// <see cref="Ready.ReadStates"/> once the leader confirmed it still leads (heartbeat quorum). A follower forwards
    /// the request to the leader; without a known leader the request is dropped (retry after a timeout).
    /// <paramref name="requestCtx"/> must be unique among pending requests.
    /// </summary>
    public void ReadIndex(ByteString requestCtx)
    {
        ArgumentNullException.ThrowIfNull(requestCtx);
        var m = new Message { Type = MessageType.MsgReadIndex };
        m.Entries.Add(new Entry { Data = requestCtx });
        _raft.Step(m);
    }

    /// <summary>
    /// Asks the leader to hand leadership to <paramref name="transferee"/>: it catches the transferee up, then sends
    /// it MsgTimeoutNow. Proposals are dropped while the transfer runs (at most one election timeout). On a follower
    /// the request is forwarded to the leader as coming from this member (etcd's behaviour): call it on the leader.
    /// </summary>
    public void TransferLeader(ulong transferee) =>
        _raft.Step(new Message { Type = MessageType.MsgTransferLeader, From = transferee });

    /// <summary>Reports that the last message to <paramref name="id"/> could not be sent: its stream falls back to probing.</summary>
    public void ReportUnreachable(ulong id) =>
        _raft.Step(new Message { Type = MessageType.MsgUnreachable, From = id });

    /// <summary>Reports the outcome of sending a MsgSnap to <paramref name="id"/>; replication to it resumes.</summary>
    public void ReportSnapshot(ulong id, bool succeeded) =>
        _raft.Step(new Message { Type = MessageType.MsgSnapStatus, From = id, Reject = !succeeded });

    /// <summary>Whether <see cref="GetReady"/> has anything to hand out.</summary>
    public bool HasReady()
    {
        if (_raft.SoftState != _previousSoftState)
        {
            return true;
        }

        var hardState = _raft.HardState;
        if (!RaftCore.IsEmpty(hardState) && !hardState.Equals(_previousHardState))
        {
            return true;
        }

        return _raft.Log.Unstable.Snapshot is not null
            || _raft.Messages.Count > 0
            || _raft.Log.Unstable.Entries.Count > 0
            || _raft.Log.HasNextEntries()
            || _raft.ReadStates.Count > 0;
    }

    /// <summary>
    /// Hands out the pending work (see <see cref="Ready"/>); messages and read states are handed out once. Must be
    /// followed by <see cref="Advance"/> with the same Ready before any other input.
    /// </summary>
    public Ready GetReady()
    {
        var softState = _raft.SoftState;
        var hardState = _raft.HardState;
        var entries = _raft.Log.UnstableEntries();
        var ready = new Ready
        {
            SoftState = softState != _previousSoftState ? softState : null,
            HardState = hardState.Equals(_previousHardState) ? null : hardState,
            ReadStates = [.. _raft.ReadStates],
            Entries = entries,
            Snapshot = _raft.Log.Unstable.Snapshot,
            CommittedEntries = _raft.Log.NextEntries(),
            Messages = [.. _raft.Messages],
            MustSync = entries.Length != 0 || hardState.Vote != _previousHardState.Vote || hardState.Term != _previousHardState.Term,
        };

        _previousSoftState = softState;
        _raft.ReadStates.Clear();
        _raft.Messages.Clear();
        return ready;
    }

    /// <summary>
    /// Acknowledges <paramref name="ready"/>: its entries and snapshot are persisted and its committed entries applied.
    /// </summary>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (ready.HardState is { } hardState && !RaftCore.IsEmpty(hardState))
        {
            _previousHardState = hardState;
        }

        var applied = ready.CommittedEntries.Count > 0
            ? ready.CommittedEntries[^1].Index
            : ready.Snapshot?.Metadata?.Index ?? 0;
        _raft.ReduceUncommittedSize(ready.CommittedEntries);
        _raft.Advance(applied, ready.Entries.Count > 0 ? ready.Entries[^1] : null, ready.Snapshot);
    }

    /// <summary>The member's current state; Progress is filled only on the leader.</summary>
    public RaftStatus Status
    {
        get
        {
            var progress = new Dictionary<ulong, ProgressStatus>();
            if (_raft.State == RaftState.Leader)
            {
                foreach (var (id, pr) in _raft.Tracker.Progress)
                {
                    progress[id] = new ProgressStatus(pr.Match, pr.Next, pr.State, pr.IsLearner, pr.RecentActive, pr.PendingSnapshot);
                }
            }

            return new RaftStatus
            {
                Id = _raft.Id,
                Term = _raft.Term,
                Vote = _raft.Vote,
                Lead = _raft.Lead,
                State = _raft.State,
                Commit = _raft.Log.Committed,
                Applied = _raft.Log.Applied,
                LeadTransferee = _raft.LeadTransferee,
                Progress = progress,
            };
        }
    }
}
