using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Consensus;
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
    /// KV.Range: linearizable by default (a ReadIndex round, then the store runs it once the read index is applied),
    /// local when <c>serializable</c>. Errors: Compacted / FutureRev for bad revisions, NoLeader, LeaderChanged, Timeout.
    /// </summary>
    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancel) =>
        CheckedReadAsync<RangeResponse>(new StoreProtocol.Range(request), request.Serializable,
            (auth, caller) => AuthChecks.KeyRange(auth, caller, request.Key, request.RangeEnd, write: false), cancel);

    /// <summary>KV.Put through Raft; answered when applied. Errors: see <see cref="ProposeAsync"/>.</summary>
    public async Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancel) =>
        (PutResponse)await ProposeAsync(new InternalRaftRequest { Put = request }, checkQuota: true, cancel).ConfigureAwait(false);

    /// <summary>KV.DeleteRange through Raft; answered when applied.</summary>
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
            return await CheckedReadAsync<TxnResponse>(new StoreProtocol.ReadTxn(request), IsSerializable(request),
                (auth, caller) => AuthChecks.Txn(auth, caller, request), cancel).ConfigureAwait(false);
        }
        return (TxnResponse)await ProposeAsync(new InternalRaftRequest { Txn = request }, checkQuota: true, cancel).ConfigureAwait(false);
    }

    /// <summary>KV.Compact through Raft; with <c>physical</c> it answers after old versions are removed.</summary>
    public async Task<CompactionResponse> CompactAsync(CompactionRequest request, CancellationToken cancel) =>
        (CompactionResponse)await ProposeAsync(new InternalRaftRequest { Compaction = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Maintenance.Status: version, backend size, leader, Raft index/term and applied index.</summary>
    public async Task<StatusResponse> StatusAsync(CancellationToken cancel)
    {
        var store = await ReadAsync<StoreProtocol.StoreStatus>(StoreProtocol.GetStatus.Instance, serializable: true, cancel).ConfigureAwait(false);
        var response = new StatusResponse
        {
            Header = ResponseHeaders.Create(Status, store.Revision),
            Version = ServerVersion,
            DbSize = store.DbSizeBytes,
            DbSizeInUse = store.DbSizeInUseBytes,
            Leader = Status.Leader,
            RaftIndex = Status.CommitIndex,
            RaftTerm = Status.Term,
            RaftAppliedIndex = Status.AppliedIndex,
            IsLearner = IsLearner,
        };
        AddStatusErrors(response, store);
        return response;
    }

    /// <summary>
    /// Maintenance.Defragment: rewrites this member's backend compacted, returning free pages to the file system; the
    /// copy is made beside the store, which keeps serving, and swapped in with a pause of milliseconds.
    /// </summary>
    public Task<DefragmentResponse> DefragmentAsync(CancellationToken cancel) =>
        ReadAsync<DefragmentResponse>(StoreProtocol.Defragment.Instance, serializable: true, cancel);

    /// <summary>Maintenance.HashKV: hash of the MVCC keyspace up to a revision (0 = latest), after a ReadIndex round.</summary>
    public Task<HashKVResponse> HashKVAsync(HashKVRequest request, CancellationToken cancel) =>
        ReadAsync<HashKVResponse>(new StoreProtocol.HashKV(request), serializable: false, cancel);

    /// <summary>
    /// A quorum no-op through the log: completes once a committed entry proposed now has been applied here (what
    /// etcd 3.4's <c>/health</c> does with a QGET). Errors: NoLeader, Timeout.
    /// </summary>
    public Task QuorumNoopAsync(CancellationToken cancel) => ProposeAsync(new InternalRaftRequest(), checkQuota: false, cancel);

    /// <summary>
    /// Proposes <paramref name="request"/> through Raft and waits until it is applied here. Errors: RequestTooLarge
    /// past <c>--max-request-bytes</c>; NoSpace when the request's <see cref="QuotaCost"/> would take the backend
    /// past the quota (the NOSPACE alarm is raised through the log first, as etcd's quotaKVServer does); NoLeader; TooManyRequests when the store is more than
    /// <see cref="ServerOptions.MaxCommitApplyGap"/> entries behind the commit index (etcd's maxGapBetweenApplyAndCommitIndex),
    /// when <see cref="MaxProposalsInFlight"/> proposals already wait, or when the leader holds too many uncommitted
    /// bytes; LeaderChanged; Timeout after etcd's request timeout (5 s + 2 election timeouts); or the apply's error
    /// (e.g. Compacted).
    /// </summary>
    private async Task<IMessage> ProposeAsync(InternalRaftRequest request, bool checkQuota, CancellationToken cancel)
    {
        if (checkQuota && !QuotaAvailable(request))
        {
            await RaiseNoSpaceAsync(cancel).ConfigureAwait(false);
            throw EtcdErrors.NoSpace;
        }
        var status = Status;
        if (status.CommitIndex > status.AppliedIndex + Options.MaxCommitApplyGap)
        {
            throw EtcdErrors.RequestTooManyRequests;
        }
        var id = _ids.Next();
        request.ID = id;
        request.Header = new RequestHeader { ID = id };
        await StampCallerAsync(request.Header, cancel).ConfigureAwait(false);
        var data = request.ToByteString();
        if (data.Length > Options.MaxRequestBytes)
        {
            throw EtcdErrors.RequestTooLarge;
        }
        if (!status.HasLeader)
        {
            Metrics.EtcdMetrics.ProposalsFailed.Inc();
            throw EtcdErrors.NoLeader;
        }
        if (Interlocked.Increment(ref _proposalsInFlight) > MaxProposalsInFlight)
        {
            Interlocked.Decrement(ref _proposalsInFlight);
            Metrics.EtcdMetrics.ProposalsFailed.Inc();
            throw EtcdErrors.RequestTooManyRequests;
        }
        Metrics.EtcdMetrics.ProposalsPending.Inc();
        try
        {
            return await AskAsync<IMessage>(_refs.Raft, new RaftProtocol.Propose(id, data), cancel).ConfigureAwait(false);
        }
        catch (EtcdException e) when (IsProposalFailure(e))
        {
            // As etcd: a proposal that was dropped, timed out or outlived the member counts as failed; an apply's
            // own error (compacted, lease not found...) does not.
            Metrics.EtcdMetrics.ProposalsFailed.Inc();
            throw;
        }
        finally
        {
            Metrics.EtcdMetrics.ProposalsPending.Dec();
            Interlocked.Decrement(ref _proposalsInFlight);
        }
    }

    /// <summary>
    /// Runs a store query: at once on the local store when <paramref name="serializable"/>, else after a ReadIndex round
    /// through the RaftActor (which hands it to the store once the read index is applied).
    /// </summary>
    private async Task<T> ReadAsync<T>(StoreProtocol.Query query, bool serializable, CancellationToken cancel)
    {
        if (serializable)
        {
            return await AskAsync<T>(_refs.Store, new StoreProtocol.RunQuery(0, query), cancel).ConfigureAwait(false);
        }
        if (!Status.HasLeader)
        {
            Metrics.EtcdMetrics.ReadIndexesFailed.Inc();
            throw EtcdErrors.NoLeader;
        }
        try
        {
            return await AskAsync<T>(_refs.Raft, new RaftProtocol.LinearizableRead(query), cancel).ConfigureAwait(false);
        }
        catch (EtcdException e) when (IsProposalFailure(e))
        {
            Metrics.EtcdMetrics.ReadIndexesFailed.Inc();
            throw;
        }
    }

    /// <summary>Waits for a ReadIndex round and its apply: afterwards this member has applied every write committed before the call.</summary>
    private Task<StoreProtocol.BarrierPassed> ReadBarrierAsync(CancellationToken cancel) =>
        ReadAsync<StoreProtocol.BarrierPassed>(StoreProtocol.Barrier.Instance, serializable: false, cancel);

    /// <summary>The texts of the errors that mean a proposal was not applied (etcd's proposalsFailed cases).</summary>
    private static readonly HashSet<string> ProposalFailureTexts =
    [
        EtcdErrors.Timeout.Message, EtcdErrors.Stopped.Message, EtcdErrors.NoLeader.Message,
        EtcdErrors.LeaderChanged.Message, EtcdErrors.RequestTooManyRequests.Message,
    ];

    private static bool IsProposalFailure(EtcdException e) => ProposalFailureTexts.Contains(e.Message);

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
