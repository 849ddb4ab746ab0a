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
