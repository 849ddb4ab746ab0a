using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Store;

/// <summary>Messages the <see cref="MvccStoreActor"/> accepts.</summary>
public abstract record StoreMessage
{
    private StoreMessage()
    {
    }

    /// <summary>Committed Raft entries to apply, in index order.</summary>
    public sealed record Apply(IReadOnlyList<Entry> Entries) : StoreMessage;

    /// <summary>
    /// Runs a read against the store once everything up to <paramref name="MinAppliedIndex"/> is applied
    /// (0 = at once, for serializable reads). The work completes its own promise.
    /// </summary>
    public sealed record Query(ulong MinAppliedIndex, Action<MvccStore> Work, Action<Exception> Fail) : StoreMessage;

    /// <summary>Commits the backend batch (sent every backend batch interval, 100 ms).</summary>
    public sealed record CommitBatch : StoreMessage;

    /// <summary>
    /// Replaces the backend with the db file received with a leader's snapshot (<paramref name="DbPath"/>), then
    /// reloads leases and membership from it; completes with the new consistent index.
    /// </summary>
    public sealed record InstallBackend(string DbPath, TaskCompletionSource<ulong> Done) : StoreMessage;

    /// <summary>Commits the backend durably and answers the applied index it covers (before a Raft snapshot).</summary>
    public sealed record PersistForSnapshot(TaskCompletionSource<ulong> Reply) : StoreMessage;
}

/// <summary>
/// Owns the <see cref="MvccStore"/>: applies committed entries one by one (the only writer of the store),
/// answers the proposals waiting on them, and serves reads in order with applies. Reads that need a
/// linearizable view wait until the applied index reaches their read index.
/// </summary>
public sealed class MvccStoreActor : Actor<StoreMessage>, IWatchHistory
{
    private MvccStore _store;
    private readonly ServerStatus _status;
    private readonly ProposalWaiters _waiters;
    private readonly List<StoreMessage.Query> _parked = new();
    private readonly Action<ulong>? _onApplied;
    private readonly LeaseTable _leases;
    private readonly ClusterMembership _membership;
    private readonly long _minLeaseTtlSeconds;
    private ulong _applied;

    /// <summary>Creates the actor; it owns <paramref name="store"/> and disposes it when it stops.</summary>
    /// <param name="store">The opened store.</param>
    /// <param name="status">Shared status; this actor publishes <see cref="ServerStatus.AppliedIndex"/>.</param>
    /// <param name="waiters">Proposals waiting for their entries.</param>
    /// <param name="onApplied">Called on the actor's loop after each apply batch with the applied index.</param>
    /// <param name="leases">The apply-side lease table (loaded; the store's LeaseExists hook reads it).</param>
    /// <param name="minLeaseTtlSeconds">etcd's minimum lease TTL: shorter grants are raised to it.</param>
    /// <param name="membership">The cluster membership, changed here when ConfChange entries are applied.</param>
    /// <param name="logger">Logger.</param>
    public MvccStoreActor(MvccStore store, ServerStatus status, ProposalWaiters waiters, Action<ulong>? onApplied,
        LeaseTable leases, long minLeaseTtlSeconds, ClusterMembership membership, ILogger logger)
        : base("mvcc-store", logger)
    {
        _membership = membership;
        _leases = leases;
        _minLeaseTtlSeconds = minLeaseTtlSeconds;
        _store = store;
        _status = status;
        _waiters = waiters;
        _onApplied = onApplied;
        _applied = store.ConsistentIndex;
        _status.AppliedIndex = _applied;
        _status.Revision = store.CurrentRevision;
        _status.DbSizeBytes = store.DbSizeBytes;
    }

    /// <summary>The LeaseActor told about every grant, revoke and key attachment, in apply order (set before the first apply).</summary>
    public LeaseActor? Lessor { get; set; }

    /// <summary>
    /// The watch hub every applied revision's events are published to (set once before the first apply).
    /// Events get <c>prev_kv</c> filled here only while some watcher asked for it.
    /// </summary>
    public WatchHub? Watches { get; set; }

    /// <inheritdoc />
    protected override ValueTask OnReceiveAsync(StoreMessage message)
    {
        switch (message)
        {
            case StoreMessage.Apply apply:
                foreach (var entry in apply.Entries)
                {
                    ApplyEntry(entry);
                }
                _status.AppliedIndex = _applied;
                _status.Revision = _store.CurrentRevision;
                RunParkedReads();
                _onApplied?.Invoke(_applied);
                break;
            case StoreMessage.Query query:
                if (query.MinAppliedIndex <= _applied)
                {
                    RunQuery(query);
                }
                else
                {
                    _parked.Add(query);
                }
                break;
            case StoreMessage.CommitBatch:
                _store.Commit();
                _status.DbSizeBytes = _store.DbSizeBytes;
                break;
            case StoreMessage.InstallBackend install:
                try
                {
                    InstallBackendFile(install.DbPath);
                    install.Done.TrySetResult(_applied);
                }
                catch (Exception ex)
                {
                    install.Done.TrySetException(ex);
                    throw;
                }
                break;
            case StoreMessage.PersistForSnapshot persist:
                _store.ForceCommit(durable: true);
                persist.Reply.TrySetResult(_applied);
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Opens the store at a path (used to reopen after a backend install).</summary>
    public Func<string, MvccStore>? Reopen { get; init; }

    /// <summary>Path of the live backend file.</summary>
    public string? BackendPath { get; init; }

    private void InstallBackendFile(string dbPath)
    {
        if (Reopen is null || BackendPath is null)
        {
            throw new InvalidOperationException("this store cannot install a backend received with a snapshot");
        }
        _store.ForceCommit(durable: true);
        _store.Dispose();
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(BackendPath + suffix))
            {
                File.Delete(BackendPath + suffix);
            }
        }
        File.Move(dbPath, BackendPath, overwrite: true);
        _store = Reopen(BackendPath);
        _leases.LoadWithAttachments(_store);
        _membership.Load(_store.Backend);
        _applied = _store.ConsistentIndex;
        _status.AppliedIndex = _applied;
        _status.Revision = _store.CurrentRevision;
        _status.DbSizeBytes = _store.DbSizeBytes;
        Watches?.Restore(_store.CurrentRevision);
        Lessor?.Tell(new LeaseMessage.Restore(_leases.Records.ToList(), _leases.Attachments.ToList(), null));
        Logger.LogInformation("installed the backend received with a snapshot: consistent index {index}, revision {revision}",
            _applied, _store.CurrentRevision);
        RunParkedReads();
        _onApplied?.Invoke(_applied);
    }

    private void RunParkedReads()
    {
        if (_parked.Count == 0)
        {
            return;
        }
        for (var i = 0; i < _parked.Count;)
        {
            if (_parked[i].MinAppliedIndex <= _applied)
            {
                var query = _parked[i];
                _parked.RemoveAt(i);
                RunQuery(query);
            }
            else
            {
                i++;
            }
        }
    }

    private void RunQuery(StoreMessage.Query query)
    {
        try
        {
            query.Work(_store);
        }
        catch (Exception ex)
        {
            query.Fail(ex);
        }
    }

    private void ApplyEntry(Entry entry)
    {
        if (entry.Index <= _applied)
        {
            return; // already in the backend (replayed WAL entry at or below the consistent index)
        }
        _applied = entry.Index;
        if (entry.Type == EntryType.EntryConfChange)
        {
            ApplyConfChange(entry);
            return;
        }
        if (entry.Type != EntryType.EntryNormal || entry.Data.IsEmpty)
        {
            _store.ApplyNoop(entry.Index);
            return;
        }
        InternalRaftRequest request;
        try
        {
            request = InternalRaftRequest.Parser.ParseFrom(entry.Data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            Logger.LogError(ex, "skipping undecodable entry at index {index}", entry.Index);
            _store.ApplyNoop(entry.Index);
            return;
        }
        try
        {
            IMessage response = ApplyRequest(request, entry.Index);
            _waiters.Trigger(request.ID, response);
        }
        catch (EtcdException ex)
        {
            _store.ApplyNoop(entry.Index);
            _waiters.Fail(request.ID, ex);
        }
    }

    /// <summary>
    /// Applies a membership change (etcd's applyConfChange, membership side): the RaftActor has already applied
    /// it to the Raft core; here the member list is updated and persisted with the consistent index, and the
    /// proposer (waiting on the ConfChange ID) gets the new member list.
    /// </summary>
    private void ApplyConfChange(Entry entry)
    {
        ConfChange change;
        try
        {
            change = ConfChange.Parser.ParseFrom(entry.Data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            Logger.LogError(ex, "skipping undecodable conf change at index {index}", entry.Index);
            _store.ApplyNoop(entry.Index);
            return;
        }
        var member = change.Context.IsEmpty ? new Member { ID = change.NodeID } : Member.Parser.ParseFrom(change.Context);
        var backend = _store.Backend;
        switch (change.Type)
        {
            case ConfChangeType.ConfChangeAddNode:
                member.IsLearner = false;
                _membership.AddOrPromote(backend, member);
                break;
            case ConfChangeType.ConfChangeAddLearnerNode:
                member.IsLearner = true;
                _membership.AddOrPromote(backend, member);
                break;
            case ConfChangeType.ConfChangeRemoveNode:
                _membership.Remove(backend, change.NodeID);
                break;
            case ConfChangeType.ConfChangeUpdateNode:
                _membership.UpdatePeerUrls(backend, change.NodeID, member.PeerURLs);
                break;
        }
        _store.ApplyNoop(entry.Index);
        Logger.LogInformation("applied conf change {type} of member {member} at index {index}",
            change.Type.ToString(), change.NodeID.ToString("x16"), entry.Index);
        var response = new MemberListResponse { Header = ResponseHeaders.Create(_status, 0) }; // no revision, as etcd's Cluster service
        response.Members.AddRange(_membership.Members);
        _waiters.Trigger(change.ID, response);
    }

    private void FillPrevKvs(IReadOnlyList<Mvccpb.Event> events) => FillPrevKvs(_store, events);

    private static void FillPrevKvs(MvccStore store, IReadOnlyList<Mvccpb.Event> events)
    {
        foreach (var ev in events)
        {
            var isCreation = ev.Type == Mvccpb.Event.Types.EventType.Put && ev.Kv.CreateRevision == ev.Kv.ModRevision;
            if (!isCreation && ev.PrevKv is null && ev.Kv.ModRevision - 1 >= store.CompactRevision)
            {
                // As etcd: a previous version lost to compaction is simply left out.
                ev.PrevKv = store.Get(ev.Kv.Key.ToByteArray(), ev.Kv.ModRevision - 1);
            }
        }
    }

    private void PublishLastEvents()
    {
        var events = _store.LastEvents;
        if (events.Count == 0)
        {
            return;
        }
        if (_leases.Count > 0 || Lessor is not null)
        {
            _leases.Track(events, (oldLease, newLease, key) =>
            {
                if (oldLease != 0)
                {
                    Lessor?.Tell(new LeaseMessage.ApplyDetach(oldLease, key));
                }
                if (newLease != 0)
                {
                    Lessor?.Tell(new LeaseMessage.ApplyAttach(newLease, key, null));
                }
            });
        }
        if (Watches is { } watches)
        {
            if (watches.PrevKvWanted)
            {
                FillPrevKvs(events);
            }
            watches.Publish(_store.CurrentRevision, events);
        }
    }

    private IMessage ApplyRequest(InternalRaftRequest request, ulong index)
    {
        var response = ApplyWrite(request, index);
        PublishLastEvents();
        return response;
    }

    private LeaseGrantResponse ApplyLeaseGrant(LeaseGrantRequest grant, ulong index)
    {
        if (grant.TTL > LessorOptions.MaxTtlSeconds)
        {
            throw EtcdErrors.LeaseTTLTooLarge;
        }
        if (grant.ID == 0)
        {
            throw EtcdErrors.LeaseNotFound;
        }
        if (_leases.Contains(grant.ID))
        {
            throw EtcdErrors.LeaseExist;
        }
        var ttl = Math.Max(grant.TTL, _minLeaseTtlSeconds);
        _leases.Grant(_store.Backend, grant.ID, ttl);
        _store.ApplyNoop(index);
        Lessor?.Tell(new LeaseMessage.ApplyGrant(grant.ID, ttl, null));
        return new LeaseGrantResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision), ID = grant.ID, TTL = ttl };
    }

    private LeaseRevokeResponse ApplyLeaseRevoke(LeaseRevokeRequest revoke, ulong index)
    {
        if (!_leases.Contains(revoke.ID))
        {
            throw EtcdErrors.LeaseNotFound;
        }
        var keys = _leases.KeysOf(revoke.ID);
        if (keys.Count > 0)
        {
            // Every attached key goes in ONE revision, as etcd's lessor Revoke does in one txn.
            var deletes = new TxnRequest();
            foreach (var key in keys)
            {
                deletes.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
            }
            KvApplier.Txn(_store, deletes, index); // its events are published by ApplyRequest
        }
        else
        {
            _store.ApplyNoop(index);
        }
        _leases.Revoke(_store.Backend, revoke.ID);
        Lessor?.Tell(new LeaseMessage.ApplyRevoke(revoke.ID, null));
        return new LeaseRevokeResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision) };
    }

    private IMessage ApplyWrite(InternalRaftRequest request, ulong index)
    {
        if (request.LeaseGrant is { } grant)
        {
            return ApplyLeaseGrant(grant, index);
        }
        if (request.LeaseRevoke is { } revoke)
        {
            return ApplyLeaseRevoke(revoke, index);
        }
        if (request.ClusterVersionSet is { } version)
        {
            _membership.SetClusterVersion(_store.Backend, version.Ver);
            _store.ApplyNoop(index);
            return new EmptyResponse();
        }
        if (request.Put is null && request.DeleteRange is null && request.Txn is null && request.Compaction is null
            && request.ClusterMemberAttrSet is null && request.LeaseCheckpoint is null)
        {
            // A quorum no-op: the request only had to pass through the log.
            _store.ApplyNoop(index);
            return new EmptyResponse();
        }
        if (request.ClusterMemberAttrSet is { } attributes)
        {
            _membership.SetAttributes(_store.Backend, attributes.MemberID, attributes.MemberAttributes);
            _store.ApplyNoop(index);
            var members = new MemberListResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision) };
            members.Members.AddRange(_membership.Members);
            return members;
        }
        if (request.Put is { } put)
        {
            var response = KvApplier.Put(_store, put, index);
            FillHeader(response.Header ??= new ResponseHeader());
            return response;
        }
        if (request.DeleteRange is { } delete)
        {
            var response = KvApplier.DeleteRange(_store, delete, index);
            FillHeader(response.Header ??= new ResponseHeader());
            return response;
        }
        if (request.Txn is { } txn)
        {
            var response = KvApplier.Txn(_store, txn, index);
            FillHeader(response.Header ??= new ResponseHeader());
            return response;
        }
        if (request.Compaction is { } compaction)
        {
            var response = KvApplier.Compaction(_store, compaction, index);
            FillHeader(response.Header ??= new ResponseHeader());
            return response;
        }
        _store.ApplyNoop(index);
        throw new EtcdException(RpcStatusCode.Unimplemented, "etcdserver: unsupported request in raft entry");
    }

    /// <summary>
    /// Watch catch-up (<see cref="IWatchHistory"/>): reads the events of up to <c>MaxRevisions</c> revisions from
    /// <c>FromRevision</c> on this actor's loop, in order with applies, and calls <paramref name="reply"/> there.
    /// A start below the compact revision is answered with no events and the compact revision, which cancels the
    /// watcher as etcd does.
    /// </summary>
    public void ReadEvents(HistoryRequest request, Action<HistoryResult> reply)
    {
        Tell(new StoreMessage.Query(0, store => reply(ReadHistory(store, request)),
            error => Logger.LogError(error, "watch history read from revision {revision} failed", request.FromRevision)));
    }

    private static HistoryResult ReadHistory(MvccStore store, HistoryRequest request)
    {
        var compact = Math.Max(0, store.CompactRevision);
        var current = store.CurrentRevision;
        if (request.FromRevision < compact)
        {
            return new HistoryResult(Array.Empty<Mvccpb.Event>(), current, compact);
        }
        var from = Math.Max(request.FromRevision, Math.Max(compact, 1));
        var to = Math.Min(current, from + Math.Max(1, request.MaxRevisions) - 1);
        if (from > to)
        {
            return new HistoryResult(Array.Empty<Mvccpb.Event>(), current, compact);
        }
        var key = request.KeyHint?.Key.ToByteArray() ?? new byte[] { 0 };
        byte[]? rangeEnd = request.KeyHint?.Kind switch
        {
            null or WatchRangeKind.FromKey => new byte[] { 0 },
            WatchRangeKind.SingleKey => null,
            _ => request.KeyHint.RangeEnd.ToByteArray(),
        };
        var read = store.EventsBetween(from, to, key, rangeEnd);
        var events = read as IReadOnlyList<Mvccpb.Event> ?? read.ToList();
        if (request.WithPrevKv)
        {
            FillPrevKvs(store, events);
        }
        return new HistoryResult(events, to, compact);
    }

    /// <summary>Fills cluster, member and term into a header whose revision the store has set.</summary>
    public void FillHeader(ResponseHeader header) => ResponseHeaders.Fill(header, _status);

    /// <inheritdoc />
    protected override void OnDeadLetter(StoreMessage message, Exception reason)
    {
        switch (message)
        {
            case StoreMessage.Query query:
                query.Fail(reason);
                break;
            case StoreMessage.InstallBackend install:
                install.Done.TrySetException(reason);
                break;
            case StoreMessage.PersistForSnapshot persist:
                persist.Reply.TrySetException(reason);
                break;
        }
    }

    /// <inheritdoc />
    protected override ValueTask PostStopAsync()
    {
        var stopped = EtcdErrors.Stopped;
        foreach (var query in _parked)
        {
            query.Fail(stopped);
        }
        _parked.Clear();
        try
        {
            _store.ForceCommit(durable: true);
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "final backend commit failed; the WAL replays it on restart");
        }
        _store.Dispose();
        return ValueTask.CompletedTask;
    }
}
