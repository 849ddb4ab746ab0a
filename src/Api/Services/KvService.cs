using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Api.Auth;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's KV service (<c>etcdserverpb.KV</c>, rpc.proto; etcd's v3rpc/key.go and etcdserver/v3_server.go): checks each
/// request as etcd's v3rpc/key.go does, then writes go through Raft (<see cref="MemberGateway.ProposeAsync"/>,
/// answered when applied here) and reads are linearizable (a ReadIndex round) unless <c>serializable</c>, checked
/// against the caller's permissions (<see cref="CallerChecks.CheckedReadAsync{T}"/>). Failures are
/// <see cref="Protos.Errors.EtcdException"/>s with etcd's codes and texts (empty key, too many txn ops, compacted or
/// future revision, no leader, timeout...), sent by the error interceptor. Stateless and thread-safe: one instance
/// serves every call. The <c>*Async</c> methods serve the same requests to in-process callers (health, Lock/Election)
/// without the request checks.
/// </summary>
public sealed class KvService : KV.KVBase
{
    private readonly MemberGateway _member;
    private readonly CallerChecks _checks;

    /// <summary>Creates the service over a running member.</summary>
    public KvService(MemberGateway member, CallerChecks checks)
    {
        _member = member;
        _checks = checks;
    }

    /// <summary>KV.Range: the keys in [key, range_end) at a revision, with etcd's limit, sort and count options.</summary>
    public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateRange(request);
        return RangeAsync(request, context.CancellationToken);
    }

    /// <summary>KV.Put: one key through consensus; the response header carries the new revision.</summary>
    public override Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidatePut(request);
        return PutAsync(request, context.CancellationToken);
    }

    /// <summary>KV.DeleteRange: the keys in [key, range_end) through consensus, one revision for all of them.</summary>
    public override Task<DeleteRangeResponse> DeleteRange(DeleteRangeRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateDeleteRange(request);
        return DeleteRangeAsync(request, context.CancellationToken);
    }

    /// <summary>KV.Txn: compares then one branch, at most <c>--max-txn-ops</c> operations; read-only txns are served like Range.</summary>
    public override Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateTxn(request, _member.Options.MaxTxnOps);
        return TxnAsync(request, context.CancellationToken);
    }

    /// <summary>KV.Compact: drops history below a revision (physical: waits until the backend has compacted).</summary>
    public override Task<CompactionResponse> Compact(CompactionRequest request, ServerCallContext context) =>
        CompactAsync(request, context.CancellationToken);

    /// <summary>
    /// KV.Range without the request checks: linearizable by default (a ReadIndex round, then the store runs it once the
    /// read index is applied), local when <c>serializable</c>. Errors: Compacted / FutureRev for bad revisions,
    /// permission denied, NoLeader, LeaderChanged, Timeout.
    /// </summary>
    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancel) =>
        _checks.CheckedReadAsync<RangeResponse>(new StoreProtocol.Range(request), request.Serializable,
            (auth, caller) => AuthChecks.KeyRange(auth, caller, request.Key, request.RangeEnd, write: false), cancel);

    /// <summary>KV.Put through Raft without the request checks; answered when applied. Errors: see <see cref="MemberGateway.ProposeAsync"/>.</summary>
    public async Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancel) =>
        (PutResponse)await _member.ProposeAsync(new InternalRaftRequest { Put = request }, checkQuota: true, cancel).ConfigureAwait(false);

    /// <summary>KV.DeleteRange through Raft without the request checks; answered when applied.</summary>
    public async Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancel) =>
        (DeleteRangeResponse)await _member.ProposeAsync(new InternalRaftRequest { DeleteRange = request }, checkQuota: false, cancel)
            .ConfigureAwait(false);

    /// <summary>
    /// KV.Txn without the request checks: a txn whose branches hold only ranges is served like a Range (linearizable
    /// unless every range in it is serializable), as etcd's isTxnReadonly decides; any other txn goes through Raft.
    /// </summary>
    public async Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancel)
    {
        if (KvApplier.IsReadOnly(request))
        {
            return await _checks.CheckedReadAsync<TxnResponse>(new StoreProtocol.ReadTxn(request), IsSerializable(request),
                (auth, caller) => AuthChecks.Txn(auth, caller, request), cancel).ConfigureAwait(false);
        }
        return (TxnResponse)await _member.ProposeAsync(new InternalRaftRequest { Txn = request }, checkQuota: true, cancel).ConfigureAwait(false);
    }

    /// <summary>KV.Compact through Raft; with <c>physical</c> it answers after old versions are removed.</summary>
    public async Task<CompactionResponse> CompactAsync(CompactionRequest request, CancellationToken cancel) =>
        (CompactionResponse)await _member.ProposeAsync(new InternalRaftRequest { Compaction = request }, checkQuota: false, cancel)
            .ConfigureAwait(false);

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
