using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Server;

/// <summary>The KV and maintenance paths of the member (etcd's etcdserver/v3_server.go).</summary>
public sealed partial class EtcdServer
{
    /// <summary>
    /// KV.Range: linearizable by default (waits for a ReadIndex to be applied), local when
    /// <c>serializable</c>. Errors: Compacted / FutureRev for bad revisions, NoLeader, Timeout.
    /// </summary>
    public async Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancel)
    {
        var minIndex = request.Serializable ? 0 : await ReadIndexAsync(cancel).ConfigureAwait(false);
        var response = await QueryAsync(minIndex, store => KvApplier.Range(store, request), cancel).ConfigureAwait(false);
        ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), Status);
        return response;
    }

    /// <summary>KV.Put through Raft.</summary>
    public async Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancel) =>
        (PutResponse)await ProposeAsync(new InternalRaftRequest { Put = request }, checkQuota: true, cancel).ConfigureAwait(false);

    /// <summary>KV.DeleteRange through Raft.</summary>
    public async Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancel) =>
        (DeleteRangeResponse)await ProposeAsync(new InternalRaftRequest { DeleteRange = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>
    /// KV.Txn: a txn whose branches hold only ranges is served like a Range (linearizable unless every range in it
    /// is serializable), as etcd's isTxnReadonly decides; any other txn goes through Raft.
    /// </summary>
    public async Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancel)
    {
        if (KvApplier.IsReadOnly(request))
        {
            var minIndex = IsSerializable(request) ? 0 : await ReadIndexAsync(cancel).ConfigureAwait(false);
            var response = await QueryAsync(minIndex, store => KvApplier.Txn(store, request), cancel).ConfigureAwait(false);
            ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), Status);
            return response;
        }
        return (TxnResponse)await ProposeAsync(new InternalRaftRequest { Txn = request }, checkQuota: true, cancel).ConfigureAwait(false);
    }

    /// <summary>KV.Compact through Raft; with <c>physical</c> it answers after old versions are removed.</summary>
    public async Task<CompactionResponse> CompactAsync(CompactionRequest request, CancellationToken cancel) =>
        (CompactionResponse)await ProposeAsync(new InternalRaftRequest { Compaction = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Maintenance.Status: version, backend size, leader, Raft index/term and applied index.</summary>
    public async Task<StatusResponse> StatusAsync(CancellationToken cancel)
    {
        var (revision, dbSize, inUse) = await QueryAsync(0, store => (store.CurrentRevision, store.DbSizeBytes, store.DbSizeInUseBytes), cancel).ConfigureAwait(false);
        var response = new StatusResponse
        {
            Header = ResponseHeaders.Create(Status, revision),
            Version = ServerVersion,
            DbSize = dbSize,
            DbSizeInUse = inUse,
            Leader = Status.Leader,
            RaftIndex = Status.CommitIndex,
            RaftTerm = Status.Term,
            RaftAppliedIndex = Status.AppliedIndex,
        };
        if (dbSize > Options.EffectiveQuotaBytes)
        {
            response.Errors.Add("memberID:" + Status.MemberId + " alarm:NOSPACE ");
        }
        return response;
    }

    /// <summary>
    /// Maintenance.Alarm: GET lists active alarms. The only alarm raised is NOSPACE, while the backend is
    /// above its quota; ACTIVATE/DEACTIVATE answer the same list (alarms are derived, not stored).
    /// </summary>
    public AlarmResponse Alarm(AlarmRequest request)
    {
        var response = new AlarmResponse { Header = ResponseHeaders.Create(Status, Status.Revision) };
        if (DbSizeBytes > Options.EffectiveQuotaBytes)
        {
            response.Alarms.Add(new AlarmMember { MemberID = Status.MemberId, Alarm = AlarmType.Nospace });
        }
        return response;
    }

    /// <summary>Maintenance.Defragment: rewrites the backend file (SQLite VACUUM), releasing free pages.</summary>
    public async Task<DefragmentResponse> DefragmentAsync(CancellationToken cancel)
    {
        var revision = await QueryAsync(0, store =>
        {
            store.ForceCommit(durable: true);
            store.Defragment();
            Status.DbSizeBytes = store.DbSizeBytes;
            return store.CurrentRevision;
        }, cancel).ConfigureAwait(false);
        return new DefragmentResponse { Header = ResponseHeaders.Create(Status, revision) };
    }

    /// <summary>Maintenance.HashKV: hash of the MVCC keyspace up to a revision (0 = latest).</summary>
    public async Task<HashKVResponse> HashKVAsync(HashKVRequest request, CancellationToken cancel)
    {
        var minIndex = await ReadIndexAsync(cancel).ConfigureAwait(false);
        return await QueryAsync(minIndex, store =>
        {
            var hash = store.HashKV(request.Revision, out var compactRevision);
            return new HashKVResponse
            {
                Header = ResponseHeaders.Create(Status, store.CurrentRevision),
                Hash = hash,
                CompactRevision = compactRevision,
            };
        }, cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// Proposes <paramref name="request"/> through Raft and waits until it is applied. Errors: RequestTooLarge
    /// past <c>--max-request-bytes</c>, NoSpace above the quota, NoLeader, Timeout after etcd's request
    /// timeout (5 s + 2 election timeouts), or the apply error (e.g. Compacted).
    /// </summary>
    private async Task<IMessage> ProposeAsync(InternalRaftRequest request, bool checkQuota, CancellationToken cancel)
    {
        if (checkQuota && DbSizeBytes > Options.EffectiveQuotaBytes)
        {
            throw EtcdErrors.NoSpace;
        }
        var id = _ids.Next();
        request.ID = id;
        request.Header = new RequestHeader { ID = id };
        var data = request.ToByteString();
        if (data.Length > Options.MaxRequestBytes)
        {
            throw EtcdErrors.RequestTooLarge;
        }
        if (!Status.HasLeader)
        {
            throw EtcdErrors.NoLeader;
        }
        // The deadline is enforced by the member's timer sweeping the waiters (ExpireDue), not by a timer per put.
        var applied = _waiters.Register(id, RequestDeadlineMs(), cancel);
        if (!_raft.Tell(new RaftMessage.Propose(id, data)))
        {
            _waiters.Cancel(id);
            throw EtcdErrors.Stopped;
        }
        return await applied.ConfigureAwait(false);
    }

    /// <summary>The deadline of a request starting now, on the <see cref="Environment.TickCount64"/> clock (ms).</summary>
    private long RequestDeadlineMs() => Environment.TickCount64 + (long)_requestTimeout.TotalMilliseconds;

    /// <summary>Gets a read index from Raft (batched with concurrent reads); the read must wait for it to be applied.</summary>
    private async Task<ulong> ReadIndexAsync(CancellationToken cancel)
    {
        if (!Status.HasLeader)
        {
            throw EtcdErrors.NoLeader;
        }
        var reply = AskExtensions.NewReply<ulong>();
        if (!_raft.Tell(new RaftMessage.ReadIndex(reply)))
        {
            throw EtcdErrors.Stopped;
        }
        try
        {
            return await reply.Task.WaitAsync(_requestTimeout, cancel).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw EtcdErrors.Timeout;
        }
    }

    /// <summary>Runs <paramref name="work"/> on the store's loop once <paramref name="minAppliedIndex"/> is applied.</summary>
    private async Task<T> QueryAsync<T>(ulong minAppliedIndex, Func<MvccStore, T> work, CancellationToken cancel)
    {
        var reply = AskExtensions.NewReply<T>();
        var message = new StoreMessage.Query(minAppliedIndex,
            store => reply.TrySetResult(work(store)),
            error => reply.TrySetException(error));
        if (!_store.Tell(message))
        {
            throw EtcdErrors.Stopped;
        }
        try
        {
            return await reply.Task.WaitAsync(_requestTimeout, cancel).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw EtcdErrors.Timeout;
        }
    }

    private static bool IsSerializable(TxnRequest txn)
    {
        foreach (var op in txn.Success.Concat(txn.Failure))
        {
            if (!op.RequestRange.Serializable)
            {
                return false;
            }
        }
        return true;
    }
}
