using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// The Raft state machine of one member (etcd raft's <c>raft</c> struct, raft/raft.go): pure, single-threaded, no
/// clock and no I/O. Time advances through <see cref="Tick"/>; input arrives through <see cref="Step"/>; output is
/// collected in <see cref="Messages"/>, <see cref="ReadStates"/> and the unstable part of <see cref="Log"/>, which
/// <see cref="RawNode"/> packs into a <see cref="Ready"/>.
/// </summary>
internal sealed class RaftCore
{
    /// <summary>Context of the MsgVote sent after MsgTimeoutNow: lets the candidate bypass the leader lease.</summary>
    private static readonly ByteString CampaignTransferContext = ByteString.CopyFromUtf8("CampaignTransfer");

    private readonly Random _random;
    private readonly int _heartbeatTimeout;
    private readonly int _electionTimeout;
    private readonly ulong _maxMsgSize;
    private readonly ulong _maxUncommittedSize;
    private ulong _uncommittedSize;
    private readonly List<Message> _pendingReadIndexMessages = [];
    private int _randomizedElectionTimeout;
    private int _heartbeatElapsed;
    private readonly ReadOnlyQueue _readOnly = new();

    private enum CampaignType
    {
        PreElection,
        Election,
        Transfer,
    }

    public RaftCore(RaftConfig config, IRaftLogStorage storage)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(storage);
        config.Validate();
        Id = config.Id;
        _random = new Random(unchecked(config.Seed * 31 + (int)config.Id + (int)(config.Id >> 32)));
        _heartbeatTimeout = config.HeartbeatTick;
        _electionTimeout = config.ElectionTick;
        _maxMsgSize = config.MaxSizePerMsg;
        _maxUncommittedSize = config.MaxUncommittedEntriesSize == 0 ? ulong.MaxValue : config.MaxUncommittedEntriesSize;
        CheckQuorum = config.CheckQuorum;
        PreVote = config.PreVote;
        Log = new RaftLog(storage, config.MaxCommittedSizePerReady == 0 ? config.MaxSizePerMsg : config.MaxCommittedSizePerReady);
        Tracker = new ProgressTracker(config.MaxInflightMsgs);

        var (hardState, confState) = storage.InitialState();
        IEnumerable<ulong> voters = confState.Voters;
        IEnumerable<ulong> learners = confState.Learners;
        if (confState.Voters.Count == 0 && confState.Learners.Count == 0)
        {
            voters = config.Peers;
            learners = config.Learners;
        }

        foreach (var id in voters)
        {
            AddVoter(id);
        }

        foreach (var id in learners)
        {
            AddLearner(id);
        }

        IsLearner = Tracker.Progress.TryGetValue(Id, out var self) && self.IsLearner;

        if (!IsEmpty(hardState))
        {
            LoadState(hardState);
        }

        if (config.Applied > 0)
        {
            Log.AppliedTo(config.Applied);
        }

        BecomeFollower(Term, 0);
    }

    public ulong Id { get; }

    public ulong Term { get; private set; }

    public ulong Vote { get; private set; }

    public ulong Lead { get; private set; }

    public RaftState State { get; private set; }

    public bool IsLearner { get; private set; }

    public bool CheckQuorum { get; }

    public bool PreVote { get; }

    public ulong LeadTransferee { get; private set; }

    /// <summary>Index of the latest conf change proposed by this leader; a new one waits until it is applied.</summary>
    public ulong PendingConfIndex { get; private set; }

    public int ElectionElapsed { get; set; }

    public int RandomizedElectionTimeout => _randomizedElectionTimeout;

    public RaftLog Log { get; }

    public ProgressTracker Tracker { get; private set; }

    /// <summary>Messages to send, in order; taken by RawNode with every Ready.</summary>
    public List<Message> Messages { get; } = [];

    /// <summary>ReadIndex answers; taken by RawNode with every Ready.</summary>
    public List<ReadState> ReadStates { get; } = [];

    public SoftState SoftState => new(Lead, State);

    public HardState HardState => new() { Term = Term, Vote = Vote, Commit = Log.Committed };

    public static bool IsEmpty(HardState hs) => hs.Term == 0 && hs.Vote == 0 && hs.Commit == 0;

    public static bool IsEmpty(Snapshot? snapshot) => snapshot?.Metadata is null || snapshot.Metadata.Index == 0;

    private bool Promotable => Tracker.Progress.TryGetValue(Id, out var pr) && !pr.IsLearner;

    private void AddVoter(ulong id)
    {
        Tracker.Learners.Remove(id);
        Tracker.Voters.Add(id);
        if (Tracker.Progress.TryGetValue(id, out var pr))
        {
            pr.IsLearner = false;
            return;
        }

        Tracker.Progress[id] = NewProgress(isLearner: false);
    }

    private void AddLearner(ulong id)
    {
        Tracker.Voters.Remove(id);
        Tracker.Learners.Add(id);
        if (Tracker.Progress.TryGetValue(id, out var pr))
        {
            pr.IsLearner = true;
            return;
        }

        Tracker.Progress[id] = NewProgress(isLearner: true);
    }

    private Progress NewProgress(bool isLearner) =>
        new(Math.Max(Log.LastIndex(), 1), Tracker.MaxInflight, isLearner) { RecentActive = true };

    private void LoadState(HardState state)
    {
        if (state.Commit < Log.Committed || state.Commit > Log.LastIndex())
        {
            throw new InvalidOperationException(
                $"{Id:x} state.commit {state.Commit} is out of range [{Log.Committed}, {Log.LastIndex()}]");
        }

        Log.Committed = state.Commit;
        Term = state.Term;
        Vote = state.Vote;
    }

    // ---- sending ----

    private void Send(Message m)
    {
        m.From = Id;
        if (m.Type is MessageType.MsgVote or MessageType.MsgVoteResp or MessageType.MsgPreVote or MessageType.MsgPreVoteResp)
        {
            if (m.Term == 0)
            {
                throw new InvalidOperationException($"term should be set when sending {m.Type}");
            }
        }
        else
        {
            if (m.Term != 0)
            {
                throw new InvalidOperationException($"term should not be set when sending {m.Type} (was {m.Term})");
            }

            // Proposals and read requests forwarded to the leader are local messages: they carry no term.
            if (m.Type is not (MessageType.MsgProp or MessageType.MsgReadIndex))
            {
                m.Term = Term;
            }
        }

        Messages.Add(m);
    }

    private void SendAppend(ulong to) => MaybeSendAppend(to, sendIfEmpty: true);

    /// <summary>Sends a MsgApp (or a MsgSnap when the entries were compacted) to <paramref name="to"/>.</summary>
    private bool MaybeSendAppend(ulong to, bool sendIfEmpty)
    {
        var pr = Tracker.Progress[to];
        if (pr.IsPaused)
        {
            return false;
        }

        var m = new Message { To = to };
        var term = Log.Term(pr.Next - 1);
        IReadOnlyList<Entry>? entries;
        try
        {
            entries = Log.EntriesFrom(pr.Next, _maxMsgSize);
        }
        catch (RaftLogCompactedException)
        {
            entries = null;
        }

        if (entries is { Count: 0 } && !sendIfEmpty)
        {
            return false;
        }

        if (term is null || entries is null)
        {
            // The entries the follower needs are compacted away: send a snapshot instead.
            if (!pr.RecentActive)
            {
                return false;
            }

            Snapshot snapshot;
            try
            {
                snapshot = Log.Snapshot();
            }
            catch (SnapshotTemporarilyUnavailableException)
            {
                return false;
            }

            if (IsEmpty(snapshot))
            {
                throw new InvalidOperationException("need non-empty snapshot");
            }

            m.Type = MessageType.MsgSnap;
            m.Snapshot = snapshot;
            pr.BecomeSnapshot(snapshot.Metadata.Index);
        }
        else
        {
            m.Type = MessageType.MsgApp;
            m.Index = pr.Next - 1;
            m.LogTerm = term.Value;
            m.Entries.AddRange(entries);
            m.Commit = Log.Committed;
            if (entries.Count != 0)
            {
                switch (pr.State)
                {
                    case ProgressState.Replicate:
                        var last = entries[^1].Index;
                        pr.OptimisticUpdate(last);
                        pr.Inflights.Add(last);
                        break;
                    case ProgressState.Probe:
                        pr.ProbeSent = true;
                        break;
                    default:
                        throw new InvalidOperationException($"{Id:x} is sending append in unhandled state {pr.State}");
                }
            }
        }

        Send(m);
        return true;
    }

    private void SendHeartbeat(ulong to, ByteString? ctx)
    {
        // A follower may not have the leader's committed entries yet: never tell it to commit past its Match.
        var commit = Math.Min(Tracker.Progress[to].Match, Log.Committed);
        Send(new Message { To = to, Type = MessageType.MsgHeartbeat, Commit = commit, Context = ctx ?? ByteString.Empty });
    }

    private void BroadcastAppend()
    {
        foreach (var id in Tracker.Progress.Keys.ToList())
        {
            if (id != Id)
            {
                SendAppend(id);
            }
        }
    }

    private void BroadcastHeartbeat() => BroadcastHeartbeat(_readOnly.LastPendingRequestContext());

    private void BroadcastHeartbeat(ByteString? ctx)
    {
        foreach (var id in Tracker.Progress.Keys)
        {
            if (id != Id)
            {
                SendHeartbeat(id, ctx);
            }
        }
    }

    // ---- Ready bookkeeping ----

    /// <summary>The application handled a Ready: applied up to <paramref name="appliedIndex"/> and persisted the rest.</summary>
    public void Advance(ulong appliedIndex, Entry? lastPersisted, Snapshot? persistedSnapshot)
    {
        if (appliedIndex > 0)
        {
            Log.AppliedTo(appliedIndex);
        }

        if (lastPersisted is not null)
        {
            Log.StableTo(lastPersisted.Index, lastPersisted.Term);
        }

        if (!IsEmpty(persistedSnapshot))
        {
            Log.StableSnapshotTo(persistedSnapshot!.Metadata.Index);
        }
    }

    // ---- commit ----

    private bool MaybeCommit() => Log.MaybeCommit(Tracker.Committed(), Term);

    private void Reset(ulong term)
    {
        if (Term != term)
        {
            Term = term;
            Vote = 0;
        }

        Lead = 0;
        ElectionElapsed = 0;
        _heartbeatElapsed = 0;
        _uncommittedSize = 0;
        ResetRandomizedElectionTimeout();
        LeadTransferee = 0;
        Tracker.ResetVotes();
        var lastIndex = Log.LastIndex();
        foreach (var (id, old) in Tracker.Progress.ToList())
        {
            Tracker.Progress[id] = new Progress(lastIndex + 1, Tracker.MaxInflight, old.IsLearner)
            {
                Match = id == Id ? lastIndex : 0,
            };
        }

        PendingConfIndex = 0;
        _readOnly.Reset();
        _pendingReadIndexMessages.Clear();
    }

    private void AppendEntries(IReadOnlyList<Entry> entries)
    {
        var lastIndex = Log.LastIndex();
        for (var i = 0; i < entries.Count; i++)
        {
            entries[i].Term = Term;
            entries[i].Index = lastIndex + 1 + (ulong)i;
        }

        lastIndex = Log.Append(entries);
        if (Tracker.Progress.TryGetValue(Id, out var self))
        {
            self.MaybeUpdate(lastIndex);
        }

        MaybeCommit();
    }

    // ---- time ----

    /// <summary>Advances the logical clock by one tick.</summary>
    public void Tick()
    {
        if (State == RaftState.Leader)
        {
            TickHeartbeat();
        }
        else
        {
            TickElection();
        }
    }

    private void TickElection()
    {
        ElectionElapsed++;
        if (Promotable && ElectionElapsed >= _randomizedElectionTimeout)
        {
            ElectionElapsed = 0;
            Step(new Message { From = Id, Type = MessageType.MsgHup });
        }
    }

    private void TickHeartbeat()
    {
        _heartbeatElapsed++;
        ElectionElapsed++;
        if (ElectionElapsed >= _electionTimeout)
        {
            ElectionElapsed = 0;
            if (CheckQuorum)
            {
                Step(new Message { From = Id, Type = MessageType.MsgCheckQuorum });
            }

            // A transfer that did not finish within an election timeout is given up.
            if (State == RaftState.Leader && LeadTransferee != 0)
            {
                LeadTransferee = 0;
            }
        }

        if (State != RaftState.Leader)
        {
            return;
        }

        if (_heartbeatElapsed >= _heartbeatTimeout)
        {
            _heartbeatElapsed = 0;
            Step(new Message { From = Id, Type = MessageType.MsgBeat });
        }
    }

    private void ResetRandomizedElectionTimeout() =>
        _randomizedElectionTimeout = _electionTimeout + _random.Next(_electionTimeout);

    // ---- role changes ----

    public void BecomeFollower(ulong term, ulong lead)
    {
        Reset(term);
        Lead = lead;
        State = RaftState.Follower;
    }

    public void BecomeCandidate()
    {
        if (State == RaftState.Leader)
        {
            throw new InvalidOperationException("invalid transition [leader -> candidate]");
        }

        Reset(Term + 1);
        Vote = Id;
        State = RaftState.Candidate;
    }

    public void BecomePreCandidate()
    {
        if (State == RaftState.Leader)
        {
            throw new InvalidOperationException("invalid transition [leader -> pre-candidate]");
        }

        // A pre-candidate keeps its term and vote; it only collects pre-votes.
        Tracker.ResetVotes();
        Lead = 0;
        State = RaftState.PreCandidate;
    }

    public void BecomeLeader()
    {
        if (State == RaftState.Follower)
        {
            throw new InvalidOperationException("invalid transition [follower -> leader]");
        }

        Reset(Term);
        Lead = Id;
        State = RaftState.Leader;
        Tracker.Progress[Id].BecomeReplicate();

        // Conservatively assume an unapplied conf change may sit in the log: no new one until everything is applied.
        PendingConfIndex = Log.LastIndex();

        // The empty entry of the new term lets the leader commit everything before it (Raft §5.4.2, §8).
        AppendEntries([new Entry()]);
    }

    private void Campaign(CampaignType type)
    {
        ulong term;
        MessageType voteType;
        if (type == CampaignType.PreElection)
        {
            BecomePreCandidate();
            voteType = MessageType.MsgPreVote;
            term = Term + 1; // pre-votes are asked for the term this member would campaign at
        }
        else
        {
            BecomeCandidate();
            voteType = MessageType.MsgVote;
            term = Term;
        }

        if (Poll(Id, VoteResponseType(voteType), true).Result == VoteResult.Won)
        {
            // Single-voter cluster: won at once.
            if (type == CampaignType.PreElection)
            {
                Campaign(CampaignType.Election);
            }
            else
            {
                BecomeLeader();
            }

            return;
        }

        foreach (var id in Tracker.Voters)
        {
            if (id == Id)
            {
                continue;
            }

            Send(new Message
            {
                Term = term,
                To = id,
                Type = voteType,
                Index = Log.LastIndex(),
                LogTerm = Log.LastTerm(),
                Context = type == CampaignType.Transfer ? CampaignTransferContext : ByteString.Empty,
            });
        }
    }

    private (int Granted, int Rejected, VoteResult Result) Poll(ulong id, MessageType type, bool granted)
    {
        Tracker.RecordVote(id, granted);
        return Tracker.TallyVotes();
    }

    private static MessageType VoteResponseType(MessageType type) => type switch
    {
        MessageType.MsgVote => MessageType.MsgVoteResp,
        MessageType.MsgPreVote => MessageType.MsgPreVoteResp,
        _ => throw new ArgumentOutOfRangeException(nameof(type), $"not a vote message: {type}"),
    };

    // ---- step ----

    /// <summary>
    /// Feeds one message into the state machine.
    /// </summary>
    /// <returns>False when the message was a proposal that had to be dropped (no leader, transfer in progress).</returns>
    public bool Step(Message m)
    {
        // Term handling first (Raft §5.1): a higher term makes us a follower, a lower one is mostly ignored.
        if (m.Term == 0)
        {
            // local message
        }
        else if (m.Term > Term)
        {
            if (m.Type is MessageType.MsgVote or MessageType.MsgPreVote)
            {
                var force = m.Context.Equals(CampaignTransferContext);
                var inLease = CheckQuorum && Lead != 0 && ElectionElapsed < _electionTimeout;
                if (!force && inLease)
                {
                    // We heard from a live leader within the minimum election timeout: do not disturb it (§6 of
                    // the thesis, leader lease).
                    return true;
                }
            }

            if (m.Type == MessageType.MsgPreVote || (m.Type == MessageType.MsgPreVoteResp && !m.Reject))
            {
                // A pre-vote does not change our term; a granted pre-vote response keeps the candidate's term.
            }
            else if (m.Type is MessageType.MsgApp or MessageType.MsgHeartbeat or MessageType.MsgSnap)
            {
                BecomeFollower(m.Term, m.From);
            }
            else
            {
                BecomeFollower(m.Term, 0);
            }
        }
        else if (m.Term < Term)
        {
            if ((CheckQuorum || PreVote) && m.Type is MessageType.MsgHeartbeat or MessageType.MsgApp)
            {
                // A stale leader (e.g. after a partition) learns our term from this response and steps down, instead of
                // being stuck while we keep ignoring it.
                Send(new Message { To = m.From, Type = MessageType.MsgAppResp });
            }
            else if (m.Type == MessageType.MsgPreVote)
            {
                Send(new Message { To = m.From, Term = Term, Type = MessageType.MsgPreVoteResp, Reject = true });
            }

            return true;
        }

        switch (m.Type)
        {
            case MessageType.MsgHup:
                if (State != RaftState.Leader)
                {
                    Hup();
                }

                return true;

            case MessageType.MsgVote or MessageType.MsgPreVote:
                HandleVoteRequest(m);
                return true;

            default:
                return State switch
                {
                    RaftState.Leader => StepLeader(m),
                    RaftState.Candidate or RaftState.PreCandidate => StepCandidate(m),
                    _ => StepFollower(m),
                };
        }
    }

    private void Hup()
    {
        if (!Promotable)
        {
            return;
        }

        // Do not campaign with unapplied conf changes: the configuration we would lead may be outdated.
        if (Log.Committed > Log.Applied)
        {
            var unapplied = Log.Slice(Log.Applied + 1, Log.Committed + 1, EntrySizes.NoLimit);
            if (unapplied.Any(e => e.Type == EntryType.EntryConfChange))
            {
                return;
            }
        }

        Campaign(PreVote ? CampaignType.PreElection : CampaignType.Election);
    }

    private void HandleVoteRequest(Message m)
    {
        // We can vote for the member we already voted for (repeated request), for anyone when we have neither a vote
        // nor a leader in this term, and pre-vote for any future term.
        var canVote = Vote == m.From
            || (Vote == 0 && Lead == 0)
            || (m.Type == MessageType.MsgPreVote && m.Term > Term);
        if (canVote && Log.IsUpToDate(m.Index, m.LogTerm))
        {
            // The response carries the request's term: for a pre-vote it is the future term.
            Send(new Message { To = m.From, Term = m.Term, Type = VoteResponseType(m.Type) });
            if (m.Type == MessageType.MsgVote)
            {
                ElectionElapsed = 0;
                Vote = m.From;
            }
        }
        else
        {
            Send(new Message { To = m.From, Term = Term, Type = VoteResponseType(m.Type), Reject = true });
        }
    }

    private bool StepLeader(Message m)
    {
        switch (m.Type)
        {
            case MessageType.MsgBeat:
                BroadcastHeartbeat();
                return true;

            case MessageType.MsgCheckQuorum:
                if (Tracker.Progress.TryGetValue(Id, out var self))
                {
                    self.RecentActive = true;
                }

                if (!Tracker.QuorumActive())
                {
                    BecomeFollower(Term, 0);
                }

                foreach (var (id, pr) in Tracker.Progress)
                {
                    if (id != Id)
                    {
                        pr.RecentActive = false;
                    }
                }

                return true;

            case MessageType.MsgProp:
                return LeaderPropose(m);

            case MessageType.MsgReadIndex:
                LeaderReadIndex(m);
                return true;
        }

        if (!Tracker.Progress.TryGetValue(m.From, out var progress))
        {
            return true;
        }

        switch (m.Type)
        {
            case MessageType.MsgAppResp:
                HandleAppendResponse(m, progress);
                break;

            case MessageType.MsgHeartbeatResp:
                HandleHeartbeatResponse(m, progress);
                break;

            case MessageType.MsgSnapStatus:
                if (progress.State != ProgressState.Snapshot)
                {
                    break;
                }

                if (m.Reject)
                {
                    progress.PendingSnapshot = 0;
                }

                // Either way go back to probing: after a success the follower answers the next probe; after a
                // failure the leader retries from Match + 1. Wait for a heartbeat response before the next append.
                progress.BecomeProbe();
                progress.ProbeSent = true;
                break;

            case MessageType.MsgUnreachable:
                // The optimistic stream was likely lost: probe again.
                if (progress.State == ProgressState.Replicate)
                {
                    progress.BecomeProbe();
                }

                break;

            case MessageType.MsgTransferLeader:
                HandleTransferLeader(m, progress);
                break;
        }

        return true;
    }

    private bool LeaderPropose(Message m)
    {
        if (m.Entries.Count == 0)
        {
            throw new InvalidOperationException($"{Id:x} stepped empty MsgProp");
        }

        if (!Tracker.Progress.ContainsKey(Id))
        {
            // Removed from the configuration while still leader.
            return false;
        }

        if (LeadTransferee != 0)
        {
            return false;
        }

        for (var i = 0; i < m.Entries.Count; i++)
        {
            if (m.Entries[i].Type != EntryType.EntryConfChange)
            {
                continue;
            }

            if (PendingConfIndex > Log.Applied)
            {
                // Only one conf change may be pending: this one becomes an empty normal entry (as etcd does).
                m.Entries[i] = new Entry { Type = EntryType.EntryNormal };
            }
            else
            {
                PendingConfIndex = Log.LastIndex() + (ulong)i + 1;
            }
        }

        if (!IncreaseUncommittedSize(m.Entries))
        {
            DroppedForUncommittedLimit = true;
            return false;
        }

        AppendEntries(m.Entries);
        BroadcastAppend();
        return true;
    }

    /// <summary>Set when the last proposal was dropped for <see cref="RaftConfig.MaxUncommittedEntriesSize"/>; cleared by the caller.</summary>
    internal bool DroppedForUncommittedLimit { get; set; }

    /// <summary>Payload bytes the leader holds appended but not yet applied (etcd raft's <c>uncommittedSize</c>).</summary>
    internal ulong UncommittedSize => _uncommittedSize;

    /// <summary>
    /// etcd raft's <c>increaseUncommittedSize</c>: false when the entries would push the leader past
    /// <see cref="RaftConfig.MaxUncommittedEntriesSize"/> (always true while nothing is uncommitted).
    /// </summary>
    private bool IncreaseUncommittedSize(IReadOnlyList<Entry> entries)
    {
        ulong size = 0;
        foreach (var entry in entries)
        {
            size += (ulong)entry.Data.Length;
        }

        if (_uncommittedSize > 0 && size > 0 && _uncommittedSize + size > _maxUncommittedSize)
        {
            return false;
        }

        _uncommittedSize += size;
        return true;
    }

    /// <summary>etcd raft's <c>reduceUncommittedSize</c>: the entries were committed and handed to the application.</summary>
    internal void ReduceUncommittedSize(IReadOnlyList<Entry> entries)
    {
        if (_uncommittedSize == 0)
        {
            return;
        }

        ulong size = 0;
        foreach (var entry in entries)
        {
            size += (ulong)entry.Data.Length;
        }

        _uncommittedSize = size > _uncommittedSize ? 0 : _uncommittedSize - size;
    }

    private void LeaderReadIndex(Message m)
    {
        if (Tracker.IsSingleton)
        {
            RespondToReadIndex(m, Log.Committed);
            return;
        }

        // Until the leader commits an entry of its own term it does not know the true commit index (§6.4).
        if (!CommittedEntryInCurrentTerm())
        {
            _pendingReadIndexMessages.Add(m);
            return;
        }

        ConfirmReadIndex(m);
    }

    private void ConfirmReadIndex(Message m)
    {
        var confirmation = _readOnly.AddRequest(Log.Committed, m);
        _readOnly.RecvAck(Id, confirmation);
        BroadcastHeartbeat(confirmation);
    }

    private bool CommittedEntryInCurrentTerm() => Log.TermOrZero(Log.Committed) == Term;

    private void ReleasePendingReadIndexMessages()
    {
        if (!CommittedEntryInCurrentTerm() || _pendingReadIndexMessages.Count == 0)
        {
            return;
        }

        var pending = _pendingReadIndexMessages.ToList();
        _pendingReadIndexMessages.Clear();
        foreach (var m in pending)
        {
            ConfirmReadIndex(m);
        }
    }

    private void RespondToReadIndex(Message request, ulong readIndex)
    {
        if (request.From == 0 || request.From == Id)
        {
            ReadStates.Add(new ReadState(readIndex, request.Entries[0].Data));
            return;
        }

        var response = new Message { Type = MessageType.MsgReadIndexResp, To = request.From, Index = readIndex };
        response.Entries.AddRange(request.Entries);
        Send(response);
    }

    private void HandleAppendResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        if (m.Reject)
        {
            if (pr.MaybeDecrTo(m.Index, m.RejectHint))
            {
                if (pr.State == ProgressState.Replicate)
                {
                    pr.BecomeProbe();
                }

                SendAppend(m.From);
            }

            return;
        }

        var oldPaused = pr.IsPaused;
        if (!pr.MaybeUpdate(m.Index))
        {
            return;
        }

        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match >= pr.PendingSnapshot:
                pr.BecomeProbe();
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeLE(m.Index);
                break;
        }

        if (MaybeCommit())
        {
            ReleasePendingReadIndexMessages();
            BroadcastAppend();
        }
        else if (oldPaused)
        {
            // The follower was paused and we did not just broadcast: resume it.
            SendAppend(m.From);
        }

        // Send as much as the inflight window and MaxSizePerMsg allow.
        while (MaybeSendAppend(m.From, sendIfEmpty: false))
        {
        }

        if (m.From == LeadTransferee && pr.Match == Log.LastIndex())
        {
            SendTimeoutNow(m.From);
        }
    }

    private void HandleHeartbeatResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        pr.ProbeSent = false;

        // The follower is alive: free one inflight slot so a full window cannot stall replication for good.
        if (pr.State == ProgressState.Replicate && pr.Inflights.Full)
        {
            pr.Inflights.FreeFirstOne();
        }

        if (pr.Match < Log.LastIndex())
        {
            SendAppend(m.From);
        }

        if (m.Context.IsEmpty)
        {
            return;
        }

        var acks = _readOnly.RecvAck(m.From, m.Context);
        if (acks is null || acks.Count(Tracker.Voters.Contains) < Tracker.Voters.Count / 2 + 1)
        {
            return;
        }

        foreach (var status in _readOnly.Advance(m.Context))
        {
            RespondToReadIndex(status.Request, status.Index);
        }
    }

    private void HandleTransferLeader(Message m, Progress pr)
    {
        if (pr.IsLearner)
        {
            return;
        }

        var transferee = m.From;
        if (LeadTransferee != 0)
        {
            if (LeadTransferee == transferee)
            {
                return;
            }

            LeadTransferee = 0;
        }

        if (transferee == Id)
        {
            return;
        }

        // The transfer must finish within an election timeout or it is aborted (see TickHeartbeat).
        ElectionElapsed = 0;
        LeadTransferee = transferee;
        if (pr.Match == Log.LastIndex())
        {
            SendTimeoutNow(transferee);
        }
        else
        {
            SendAppend(transferee);
        }
    }

    private void SendTimeoutNow(ulong to) => Send(new Message { To = to, Type = MessageType.MsgTimeoutNow });

    private bool StepCandidate(Message m)
    {
        var myVoteResponse = State == RaftState.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
        switch (m.Type)
        {
            case MessageType.MsgProp:
                return false;

            case MessageType.MsgApp:
                BecomeFollower(m.Term, m.From); // m.Term == Term: a leader was elected in our term
                HandleAppendEntries(m);
                break;

            case MessageType.MsgHeartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                break;

            case MessageType.MsgSnap:
                BecomeFollower(m.Term, m.From);
                HandleSnapshot(m);
                break;

            case var t when t == myVoteResponse:
                var (_, _, result) = Poll(m.From, m.Type, !m.Reject);
                if (result == VoteResult.Won)
                {
                    if (State == RaftState.PreCandidate)
                    {
                        Campaign(CampaignType.Election);
                    }
                    else
                    {
                        BecomeLeader();
                        BroadcastAppend();
                    }
                }
                else if (result == VoteResult.Lost)
                {
                    // A pre-candidate that lost keeps its term: BecomeFollower(Term) does not change it.
                    BecomeFollower(Term, 0);
                }

                break;
        }

        return true;
    }

    private bool StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.MsgProp:
                if (Lead == 0)
                {
                    return false;
                }

                Forward(m);
                break;

            case MessageType.MsgApp:
                ElectionElapsed = 0;
                Lead = m.From;
                HandleAppendEntries(m);
                break;

            case MessageType.MsgHeartbeat:
                ElectionElapsed = 0;
                Lead = m.From;
                HandleHeartbeat(m);
                break;

            case MessageType.MsgSnap:
                ElectionElapsed = 0;
                Lead = m.From;
                HandleSnapshot(m);
                break;

            case MessageType.MsgTransferLeader:
                if (Lead != 0)
                {
                    Forward(m);
                }

                break;

            case MessageType.MsgTimeoutNow:
                if (Promotable)
                {
                    // Leadership transfer: campaign at once, bypassing pre-vote and the leader lease.
                    Campaign(CampaignType.Transfer);
                }

                break;

            case MessageType.MsgReadIndex:
                if (Lead != 0)
                {
                    Forward(m);
                }

                break;

            case MessageType.MsgReadIndexResp:
                if (m.Entries.Count == 1)
                {
                    ReadStates.Add(new ReadState(m.Index, m.Entries[0].Data));
                }

                break;
        }

        return true;
    }

    private void Forward(Message m)
    {
        var forwarded = m.Clone();
        forwarded.To = Lead;
        Send(forwarded);
    }

    private void HandleAppendEntries(Message m)
    {
        if (m.Index < Log.Committed)
        {
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = Log.Committed });
            return;
        }

        if (Log.MaybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries) is { } lastNewIndex)
        {
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = lastNewIndex });
        }
        else
        {
            // The hint (our last index) lets the leader skip straight back instead of one index per round trip.
            Send(new Message
            {
                To = m.From,
                Type = MessageType.MsgAppResp,
                Index = m.Index,
                Reject = true,
                RejectHint = Log.LastIndex(),
            });
        }
    }

    private void HandleHeartbeat(Message m)
    {
        Log.CommitTo(m.Commit);
        Send(new Message { To = m.From, Type = MessageType.MsgHeartbeatResp, Context = m.Context });
    }

    private void HandleSnapshot(Message m)
    {
        var snapshot = m.Snapshot;
        if (snapshot?.Metadata is not null && Restore(snapshot))
        {
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = Log.LastIndex() });
        }
        else
        {
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp, Index = Log.Committed });
        }
    }

    /// <summary>Replaces the log by <paramref name="snapshot"/> when it is newer than the commit index.</summary>
    public bool Restore(Snapshot snapshot)
    {
        var metadata = snapshot.Metadata;
        if (metadata.Index <= Log.Committed)
        {
            return false;
        }

        if (State != RaftState.Follower)
        {
            // Should never happen: only a leader sends snapshots, and a leader of our term makes us a follower.
            BecomeFollower(Term + 1, 0);
            return false;
        }

        var confState = metadata.ConfState ?? new ConfState();
        if (!confState.Voters.Contains(Id) && !confState.Learners.Contains(Id))
        {
            return false;
        }

        if (Log.MatchTerm(metadata.Index, metadata.Term))
        {
            // We already have the snapshot's last entry: just fast-forward the commit index.
            Log.CommitTo(metadata.Index);
            return false;
        }

        Log.Restore(snapshot);

        Tracker = new ProgressTracker(Tracker.MaxInflight);
        foreach (var id in confState.Voters)
        {
            AddVoter(id);
        }

        foreach (var id in confState.Learners)
        {
            AddLearner(id);
        }

        IsLearner = Tracker.Progress.TryGetValue(Id, out var self) && self.IsLearner;
        return true;
    }

    // ---- configuration ----

    /// <summary>Applies a committed single-member conf change; returns the new configuration.</summary>
    public ConfState ApplyConfChange(ConfChange cc)
    {
        switch (cc.Type)
        {
            case ConfChangeType.ConfChangeAddNode:
                AddVoter(cc.NodeID);
                break;
            case ConfChangeType.ConfChangeAddLearnerNode:
                AddLearner(cc.NodeID);
                break;
            case ConfChangeType.ConfChangeRemoveNode:
                Tracker.Voters.Remove(cc.NodeID);
                Tracker.Learners.Remove(cc.NodeID);
                Tracker.Progress.Remove(cc.NodeID);
                break;
            case ConfChangeType.ConfChangeUpdateNode:
                break;
        }

        var confState = Tracker.ConfState();
        IsLearner = Tracker.Progress.TryGetValue(Id, out var self) && self.IsLearner;
        if (State != RaftState.Leader || self is null || IsLearner || confState.Voters.Count == 0)
        {
            // A removed or demoted leader keeps leading until the application stops it (etcd does the same).
            return confState;
        }

        // The quorum changed: the commit index may move (e.g. after a removal).
        if (MaybeCommit())
        {
            BroadcastAppend();
        }
        else
        {
            foreach (var id in Tracker.Progress.Keys.ToList())
            {
                if (id != Id)
                {
                    MaybeSendAppend(id, sendIfEmpty: false);
                }
            }
        }

        if (LeadTransferee != 0 && !Tracker.Progress.ContainsKey(LeadTransferee))
        {
            LeadTransferee = 0;
        }

        return confState;
    }
}
