using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Grpc;
using Etcdserverpb;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's KV service (<c>etcdserverpb.KV</c>, rpc.proto): checks each request as etcd's
/// v3rpc/key.go does, then hands it to the <see cref="EtcdServer"/>: writes go through Raft, reads are
/// linearizable (ReadIndex) unless <c>serializable</c>. Errors are etcd's (see EtcdErrors).
/// </summary>
public sealed class KvService
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public KvService(EtcdServer server) => _server = server;

    /// <summary>Registers Range, Put, DeleteRange, Txn and Compact under <c>/etcdserverpb.KV/</c>.</summary>
    public void Register(GrpcServiceRegistry registry)
    {
        registry.AddUnary<RangeRequest, RangeResponse>("/etcdserverpb.KV/Range", RangeRequest.Parser, Range);
        registry.AddUnary<PutRequest, PutResponse>("/etcdserverpb.KV/Put", PutRequest.Parser, Put);
        registry.AddUnary<DeleteRangeRequest, DeleteRangeResponse>("/etcdserverpb.KV/DeleteRange", DeleteRangeRequest.Parser, DeleteRange);
        registry.AddUnary<TxnRequest, TxnResponse>("/etcdserverpb.KV/Txn", TxnRequest.Parser, Txn);
        registry.AddUnary<CompactionRequest, CompactionResponse>("/etcdserverpb.KV/Compact", CompactionRequest.Parser, Compact);
    }

    /// <summary>KV.Range.</summary>
    public ValueTask<RangeResponse> Range(RangeRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateRange(request);
        return new ValueTask<RangeResponse>(_server.RangeAsync(request, context.CancellationToken));
    }

    /// <summary>KV.Put.</summary>
    public ValueTask<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidatePut(request);
        return new ValueTask<PutResponse>(_server.PutAsync(request, context.CancellationToken));
    }

    /// <summary>KV.DeleteRange.</summary>
    public ValueTask<DeleteRangeResponse> DeleteRange(DeleteRangeRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateDeleteRange(request);
        return new ValueTask<DeleteRangeResponse>(_server.DeleteRangeAsync(request, context.CancellationToken));
    }

    /// <summary>KV.Txn.</summary>
    public ValueTask<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        KvRequestValidation.ValidateTxn(request, _server.Options.MaxTxnOps);
        return new ValueTask<TxnResponse>(_server.TxnAsync(request, context.CancellationToken));
    }

    /// <summary>KV.Compact.</summary>
    public ValueTask<CompactionResponse> Compact(CompactionRequest request, ServerCallContext context) =>
        new(_server.CompactAsync(request, context.CancellationToken));
}
