using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's KV service (<c>etcdserverpb.KV</c>, rpc.proto): checks each request as etcd's v3rpc/key.go does, then hands
/// it to the <see cref="EtcdServer"/>: writes go through Raft, reads are linearizable (ReadIndex) unless
/// <c>serializable</c>. Failures are <see cref="Protos.Errors.EtcdException"/>s with etcd's codes and texts (empty key,
/// too many txn ops, compacted or future revision, no leader, timeout...), sent by the error interceptor. Stateless and
/// thread-safe: one instance serves every call.
/// </summary>
public sealed class KvService : KV.KVBase
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public KvService(EtcdServer server) => _server = server;

    /// <summary>KV.Range: the keys in [key, range_end) at a revision, with etcd's limit, sort and count options.</summary>
    public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateRange(request);
        return _server.RangeAsync(request, context.CancellationToken);
    }

    /// <summary>KV.Put: one key through consensus; the response header carries the new revision.</summary>
    public override Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidatePut(request);
        return _server.PutAsync(request, context.CancellationToken);
    }

    /// <summary>KV.DeleteRange: the keys in [key, range_end) through consensus, one revision for all of them.</summary>
    public override Task<DeleteRangeResponse> DeleteRange(DeleteRangeRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateDeleteRange(request);
        return _server.DeleteRangeAsync(request, context.CancellationToken);
    }

    /// <summary>KV.Txn: compares then one branch, at most <c>--max-txn-ops</c> operations; read-only txns are served like Range.</summary>
    public override Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateTxn(request, _server.Options.MaxTxnOps);
        return _server.TxnAsync(request, context.CancellationToken);
    }

    /// <summary>KV.Compact: drops history below a revision (physical: waits until the backend has compacted).</summary>
    public override Task<CompactionResponse> Compact(CompactionRequest request, ServerCallContext context) =>
        _server.CompactAsync(request, context.CancellationToken);
}
