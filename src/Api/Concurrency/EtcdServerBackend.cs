using System.Runtime.CompilerServices;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Api.Services;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>
/// <see cref="IConcurrencyBackend"/> over a running member: requests are checked as the KV service checks
/// them (etcd's v3rpc/key.go) and go to the <see cref="EtcdServer"/>; each watch gets its own stream from
/// <see cref="EtcdServer.Watches"/> with a single watcher, stopped when the enumeration ends. Thread-safe.
/// </summary>
public sealed class EtcdServerBackend : IConcurrencyBackend
{
    private readonly EtcdServer _server;

    /// <summary>Creates the backend over a running member.</summary>
    public EtcdServerBackend(EtcdServer server) => _server = server;

    /// <inheritdoc />
    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancel)
    {
        KvRequestValidation.ValidateRange(request);
        return _server.RangeAsync(request, cancel);
    }

    /// <inheritdoc />
    public Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancel)
    {
        KvRequestValidation.ValidateDeleteRange(request);
        return _server.DeleteRangeAsync(request, cancel);
    }

    /// <inheritdoc />
    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancel)
    {
        KvRequestValidation.ValidateTxn(request, _server.Options.MaxTxnOps);
        return _server.TxnAsync(request, cancel);
    }

    /// <inheritdoc />
    public Task<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, CancellationToken cancel) =>
        _server.LeaseGrantAsync(request, cancel);

    /// <inheritdoc />
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel) =>
        _server.LeaseTimeToLiveAsync(request, cancel);

    /// <inheritdoc />
    public async IAsyncEnumerable<WatchResponse> WatchAsync(ByteString key, ByteString rangeEnd, long startRevision,
        [EnumeratorCancellation] CancellationToken cancel)
    {
        var watcher = await _server.Watches.OpenStreamAsync(cancel).ConfigureAwait(false);
        try
        {
            await watcher.RequestAsync(new WatchRequest
            {
                CreateRequest = new WatchCreateRequest { Key = key, RangeEnd = rangeEnd, StartRevision = startRevision },
            }, cancel).ConfigureAwait(false);
            await foreach (var response in watcher.Outbox.ReadAllAsync(cancel).ConfigureAwait(false))
            {
                if (response.Canceled)
                {
                    if (response.CompactRevision > 0)
                    {
                        yield break;
                    }
                    throw new EtcdException(RpcStatusCode.Cancelled,
                        string.IsNullOrEmpty(response.CancelReason) ? EtcdErrors.WatchCanceled.Message : response.CancelReason);
                }
                if (response.Events.Count > 0)
                {
                    yield return response;
                }
            }
            cancel.ThrowIfCancellationRequested();
            throw EtcdErrors.Stopped;
        }
        finally
        {
            watcher.Stop();
        }
    }
}
