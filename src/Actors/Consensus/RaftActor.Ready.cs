using Akka.Etcd.Actors.Server;
using Akka.Event;
using Akka.Actor;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Wal;
using Akka.Persistence;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Consensus;

/// <summary>The Ready round: persist, send, apply, advance (etcd's raftNode.start loop).</summary>
public sealed partial class RaftActor
{
    /// <summary>What the actor is waiting for while it stashes its input.</summary>
    private enum Awaited
    {
        /// <summary>Nothing: input is stepped as it comes.</summary>
        None,

        /// <summary>A <see cref="WriteMessagesSuccessful"/> for the round's write or snapshot marker just sent.</summary>
        Journal,

        /// <summary>A <see cref="StoreProtocol.BackendInstalled"/> for the snapshot Raft just accepted.</summary>
        BackendInstalled,

        /// <summary>A <see cref="StoreProtocol.PersistedForSnapshot"/> before a snapshot is taken.</summary>
        StoreCommit,
    }

    /// <summary>The steps of one round; a step that must wait resumes the round at the next one.</summary>
    private enum Stage
    {
        InstallBackend,
        SaveSnapshot,
        Persist,
        Finish,
    }

    private Awaited _awaiting;
    private Action? _resume;
    private Ready? _ready;
    private IReadOnlyList<Message> _sendAfterPersist = Array.Empty<Message>();

    /// <summary>Runs rounds while the core has work and nothing is awaited, then publishes status and maybe snapshots.</summary>
    private void RunRounds()
    {
        if (_awaiting != Awaited.None)
        {
            return;
        }
        while (_awaiting == Awaited.None)
        {
            // One ReadIndex round at a time, as etcd's linearizableReadLoop: reads arriving while a round is out wait
            // for the next one, so a burst of reads costs one heartbeat round (one remote message per peer each way)
            // instead of one round per mailbox run.
            if (_readsWaitingForRound.Count > 0 && _readsInFlight.Count == 0)
            {
                StartReadIndexRound();
            }
            if (!_node.HasReady())
            {
                break;
            }
            _ready = _node.GetReady();
            HandleSoftState(_ready);
            Continue(Stage.InstallBackend);
        }
        if (_awaiting == Awaited.None)
        {
            PublishStatus();
            MaybeSnapshot();
        }
    }

    /// <summary>Runs the round in <see cref="_ready"/> from <paramref name="stage"/> until it finishes or must wait.</summary>
    private void Continue(Stage stage)
    {
        var ready = _ready!;
        switch (stage)
        {
            case Stage.InstallBackend:
                if (ready.Snapshot is { Metadata.Index: > 0 } accepted)
                {
                    if (TakeReceivedSnapshot(accepted.Metadata.Index) is { } dbPath)
                    {
                        // etcd's applySnapshot: the store moves to the snapshot's backend before the log does.
                        _store.Tell(new StoreProtocol.InstallBackend(dbPath));
                        Await(Awaited.BackendInstalled, () => ContinueRound(Stage.SaveSnapshot));
                        return;
                    }
                    _log.Warning("raft accepted a snapshot at index {0} without its backend db", accepted.Metadata.Index);
                }
                goto case Stage.SaveSnapshot;
            case Stage.SaveSnapshot:
                if (ready.Snapshot is { Metadata.Index: > 0 } snapshot)
                {
                    _snapshots.Save(snapshot);
                    _journal.WriteSnapshot(new SnapshotMarker(snapshot.Metadata.Index, snapshot.Metadata.Term), hardState: null, Self);
                    Await(Awaited.Journal, () =>
                    {
                        _storage.ApplySnapshot(snapshot);
                        _snapshotIndex = snapshot.Metadata.Index;
                        _confState = snapshot.Metadata.ConfState ?? _confState;
                        _handedIndex = Math.Max(_handedIndex, snapshot.Metadata.Index);
                        ContinueRound(Stage.Persist);
                    });
                    return;
                }
                goto case Stage.Persist;
            case Stage.Persist:
                // A leader replicates while it writes: its MsgApp/heartbeats go out before its own fsync (etcd's raftNode
                // does the same, Raft thesis 10.2.1), so the followers' fsyncs overlap the leader's. Safe because nothing
                // is stepped until the fsync is answered (see the type's remarks). Votes and responses wait for durability.
                _sendAfterPersist = ready.Messages.Count > 0 && _status.IsLeader ? SendLeaderReplicationNow(ready.Messages) : ready.Messages;
                if (!ready.MustSync && ready.HardState is { } commitOnly && ready.Entries.Count == 0 && _journal.KeepsLogOpen)
                {
                    // Only the commit index moved: etcd writes that HardState without an fsync (raft.MustSync), so a
                    // leader applies what a quorum acknowledged, and a follower what the leader said is committed,
                    // without a second fsync per proposal. The next synced write makes it durable.
                    _journal.WriteUnsynced(commitOnly, Self);
                    goto case Stage.Finish;
                }
                if (ready.HardState is not null || ready.Entries.Count > 0)
                {
                    _journal.Write(ready.HardState, ready.Entries, Self);
                    Await(Awaited.Journal, () => ContinueRound(Stage.Finish));
                    return;
                }
                goto case Stage.Finish;
            case Stage.Finish:
                FinishRound(ready);
                return;
        }
    }

    /// <summary>Resumes a round after an awaited answer, then keeps running rounds.</summary>
    private void ContinueRound(Stage stage)
    {
        Continue(stage);
        RunRounds();
    }

    private void FinishRound(Ready ready)
    {
        if (ready.HardState is { } hardState)
        {
            _storage.SetHardState(hardState);
        }
        if (ready.Entries.Count > 0)
        {
            _storage.Append(ready.Entries);
        }
        if (_sendAfterPersist.Count > 0)
        {
            _transport?.Send(_sendAfterPersist);
            _sendAfterPersist = Array.Empty<Message>();
        }
        if (ready.CommittedEntries.Count > 0)
        {
            ApplyCommitted(ready.CommittedEntries);
        }
        foreach (var readState in ready.ReadStates)
        {
            CompleteReads(readState);
        }
        _node.Advance(ready);
        _ready = null;
        CampaignIfSoleVoter();
    }

    /// <summary>
    /// Applies committed ConfChanges to the Raft core (and the transport), collects the replies of the proposers
    /// waiting on these entries, and hands the entries to the store.
    /// </summary>
    private void ApplyCommitted(IReadOnlyList<Entry> committed)
    {
        Dictionary<ulong, IActorRef>? replies = null;
        foreach (var entry in committed)
        {
            ulong id = 0;
            if (entry.Type == EntryType.EntryConfChange)
            {
                id = ApplyConfChange(entry);
            }
            else if (entry.Type == EntryType.EntryNormal && _waiters.Count > 0 && !entry.Data.IsEmpty)
            {
                id = ProposalIds.Read(entry.Data.Span);
            }
            if (id != 0 && _waiters.Remove(id, out var waiter))
            {
                (replies ??= new Dictionary<ulong, IActorRef>()).Add(id, waiter.ReplyTo);
            }
        }
        _store.Tell(new StoreProtocol.Apply(committed, replies));
        _handedIndex = Math.Max(_handedIndex, committed[^1].Index);
    }

    private void HandleSoftState(Ready ready)
    {
        if (ready.SoftState is not { } soft)
        {
            return;
        }
        var oldLeader = _status.Leader;
        var wasLeader = oldLeader == _status.MemberId;
        var isLeader = soft.Lead == _status.MemberId;
        if (soft.Lead != oldLeader)
        {
            _status.Publish(new RaftView(_node.Status.Term, soft.Lead, _status.CommitIndex, _storage.LastIndex()));
            _log.Info("raft.node: {0:x16} elected leader {1:x16} at term {2}", _status.MemberId, soft.Lead, _status.Term);
            FailReadsInFlight(soft.Lead == 0 ? EtcdErrors.NoLeader : EtcdErrors.LeaderChanged);
        }
        if (wasLeader != isLeader)
        {
            // As etcd: the lessor is promoted on the new leader (leases extended by an election timeout) and demoted elsewhere.
            _lessor.Tell(isLeader ? new LeaseProtocol.Promote(_options.ElectionTimeoutMs) : LeaseProtocol.Demote.Instance);
        }
    }

    /// <summary>
    /// Sends a leader's MsgApp, MsgHeartbeat and MsgSnap at once and returns the other messages, which must wait
    /// until the round's HardState and entries are durable.
    /// </summary>
    private IReadOnlyList<Message> SendLeaderReplicationNow(IReadOnlyList<Message> messages)
    {
        List<Message>? now = null;
        List<Message>? later = null;
        foreach (var message in messages)
        {
            if (message.Type is MessageType.MsgApp or MessageType.MsgHeartbeat or MessageType.MsgSnap)
            {
                (now ??= new List<Message>(messages.Count)).Add(message.Type == MessageType.MsgSnap ? MergedSnapshot(message) : message);
            }
            else
            {
                (later ??= new List<Message>()).Add(message);
            }
        }
        if (now is not null)
        {
            _transport?.Send(now);
        }
        return later ?? (IReadOnlyList<Message>)Array.Empty<Message>();
    }

    /// <summary>
    /// etcd's createMergedSnapshotMessage: a MsgSnap goes out with the metadata of what the backend copy sent with it
    /// will hold, not of the Raft snapshot the core picked: the index of the last committed entry handed to the store,
    /// its term, and the ConfState after it. The backend copy is made after this (the store applies in order), so its
    /// consistent index is at or above that index, and the receiver skips the entries in between on replay. Without
    /// this, a member added after the leader's latest snapshot would get a snapshot whose ConfState lacks it, which
    /// Raft refuses to restore: it would never catch up.
    /// </summary>
    private Message MergedSnapshot(Message message)
    {
        var picked = message.Snapshot?.Metadata;
        if (picked is null || _handedIndex <= picked.Index)
        {
            return message;
        }
        ulong term;
        try
        {
            term = _storage.Term(_handedIndex);
        }
        catch (Exception ex) when (ex is RaftLogCompactedException or RaftLogUnavailableException)
        {
            return message; // not in the stable log (cannot happen for a handed entry): send what the core picked
        }
        var merged = message.Clone();
        merged.Snapshot.Metadata = new Raftpb.SnapshotMetadata { Index = _handedIndex, Term = term, ConfState = _confState.Clone() };
        return merged;
    }

    /// <summary>Applies a committed ConfChange to the Raft core and the transport; returns its proposal ID.</summary>
    private ulong ApplyConfChange(Entry entry)
    {
        ConfChange change;
        try
        {
            change = ConfChange.Parser.ParseFrom(entry.Data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            _log.Error(ex, "undecodable conf change at index {0}", entry.Index);
            return 0;
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
        UpdateTransport(change, member);
        if (change.Type == ConfChangeType.ConfChangeRemoveNode && change.NodeID == _status.MemberId)
        {
            Context.Parent.Tell(new Supervision.MemberProtocol.RemovedFromCluster(change.NodeID));
        }
        return change.ID;
    }

    private void UpdateTransport(ConfChange change, Etcdserverpb.Member? member)
    {
        if (_transport is not { } transport || change.NodeID == _status.MemberId)
        {
            return;
        }
        switch (change.Type)
        {
            case ConfChangeType.ConfChangeAddNode:
            case ConfChangeType.ConfChangeAddLearnerNode:
                if (member is not null && !transport.HasPeer(change.NodeID))
                {
                    transport.AddPeer(change.NodeID, member.PeerURLs);
                }
                break;
            case ConfChangeType.ConfChangeRemoveNode:
                transport.RemovePeer(change.NodeID);
                break;
            case ConfChangeType.ConfChangeUpdateNode:
                if (member is not null)
                {
                    transport.UpdatePeer(change.NodeID, member.PeerURLs);
                }
                break;
        }
    }

    private static void JournalFailed(string what, Exception cause) =>
        throw new IOException($"the Raft log journal {what}: {cause.Message}", cause);

    /// <summary>Enters the waiting behaviour: input is stashed until <paramref name="what"/> arrives, then <paramref name="resume"/> runs.</summary>
    private void Await(Awaited what, Action resume)
    {
        _awaiting = what;
        _resume = resume;
        Become(Waiting);
    }

    /// <summary>The waiting behaviour: only the awaited answer (and status queries) are handled, the rest is stashed.</summary>
    private void Waiting()
    {
        Receive<WriteMessagesSuccessful>(_ => Resume(Awaited.Journal));
        Receive<StoreProtocol.BackendInstalled>(installed =>
        {
            _log.Info("applied snapshot at raft index {0}; backend consistent index {1}", _ready?.Snapshot?.Metadata?.Index ?? 0, installed.ConsistentIndex);
            _appliedIndex = Math.Max(_appliedIndex, installed.ConsistentIndex);
            Resume(Awaited.BackendInstalled);
        });
        Receive<StoreProtocol.PersistedForSnapshot>(persisted =>
        {
            _persistedForSnapshot = persisted.AppliedIndex;
            Resume(Awaited.StoreCommit);
        });
        Receive<RaftProtocol.GetStatus>(_ => Sender.Tell(_node.Status));
        ReceiveJournalAnswers();
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>
    /// The journal's other answers, in both behaviours: a failed or rejected write stops this actor (and so the
    /// member: a member that cannot persist must not go on, as etcd panics); the per-event successes that follow a
    /// <see cref="WriteMessagesSuccessful"/> and the answers to a deletion carry nothing to act on.
    /// </summary>
    private void ReceiveJournalAnswers()
    {
        Receive<WriteMessagesFailed>(failed => JournalFailed("failed to write", failed.Cause));
        Receive<WriteMessageRejected>(rejected => JournalFailed($"rejected event {rejected.Persistent.SequenceNr}", rejected.Cause));
        Receive<WriteMessageFailure>(failure => JournalFailed($"failed to write event {failure.Persistent.SequenceNr}", failure.Cause));
        Receive<WriteMessageSuccess>(_ => { });
        Receive<DeleteMessagesSuccess>(_ => { });
        Receive<DeleteMessagesFailure>(failure =>
            _log.Warning("could not release the Raft log up to event {0}: {1}", failure.ToSequenceNr, failure.Cause.Message));
    }

    private void Resume(Awaited what)
    {
        if (what != _awaiting)
        {
            throw new InvalidOperationException($"raft actor got {what} while waiting for {_awaiting}");
        }
        var resume = _resume!;
        _awaiting = Awaited.None;
        _resume = null;
        Become(Active);
        resume();
        if (_awaiting == Awaited.None)
        {
            Stash.UnstashAll();
        }
    }
}
