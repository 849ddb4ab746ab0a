using System.Runtime.CompilerServices;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Api.Services;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>
/// <see cref="IConcurrencyBackend"/> over a running member: requests are checked as the KV service checks
/// them (etcd's v3rpc/key.go) and served by the member's <see cref="KvService"/> and <see cref="LeaseService"/> (so
/// v3lock and v3election act with the caller's permissions, as etcd's do through its KV client); each watch gets its
/// own stream (<see cref="WatchHub"/>) with a single watcher, stopped when the enumeration ends. Thread-safe.
/// </summary>
public sealed class MemberBackend : IConcurrencyBackend
{
    private readonly MemberGateway _member;
    private readonly KvService _kv;
    private readonly LeaseService _leases;
    private readonly WatchHub _watches;

    /// <summary>Creates the backend over a running member's services.</summary>
    public MemberBackend(MemberGateway member, KvService kv, LeaseService leases)
    {
        _member = member;
        _kv = kv;
        _leases = leases;
        _watches = new WatchHub(member.Actors.WatchStreams, member.RequestTimeout);
    }

    /// <inheritdoc />
    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancel)
    {
        KvRequestValidation.ValidateRange(request);
        return _kv.RangeAsync(request, cancel);
    }

    /// <inheritdoc />
    public Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancel)
    {
        KvRequestValidation.ValidateDeleteRange(request);
        return _kv.DeleteRangeAsync(request, cancel);
    }

    /// <inheritdoc />
    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancel)
    {
        KvRequestValidation.ValidateTxn(request, _member.Options.MaxTxnOps);
        return _kv.TxnAsync(request, cancel);
    }

    /// <inheritdoc />
    public Task<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, CancellationToken cancel) =>
        _leases.LeaseGrantAsync(request, cancel);

    /// <inheritdoc />
    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel) =>
        _leases.LeaseTimeToLiveAsync(request, cancel);

    /// <inheritdoc />
    public async IAsyncEnumerable<WatchResponse> WatchAsync(ByteString key, ByteString rangeEnd, long startRevision,
        [EnumeratorCancellation] CancellationToken cancel)
    {
        var watcher = await _watches.OpenStreamAsync(cancel).ConfigureAwait(false);
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
