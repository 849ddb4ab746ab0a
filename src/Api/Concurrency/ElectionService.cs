using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;
using V3Electionpb;

namespace Akka.Etcd.Api.Concurrency;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// etcd's Election service (<c>v3electionpb.Election</c>, v3election.proto; semantics of v3election/election.go over
/// clientv3/concurrency/election.go). An election <c>name</c> is the queue of keys <c>name/&lt;lease hex&gt;</c>, each
/// holding its candidate's proclaimed value; the key with the lowest create revision is the leader. A
/// <see cref="LeaderKey"/> (name, key, create revision, lease) identifies one leadership: Proclaim and Resign act only
/// while that key still has that create revision. Stateless: every method is thread-safe.
/// </summary>
public sealed class ElectionService : Election.ElectionBase
{
    private readonly IConcurrencyBackend _backend;

    /// <summary>Creates the service over <paramref name="backend"/>.</summary>
    public ElectionService(IConcurrencyBackend backend) => _backend = backend;

    /// <summary>Election.Campaign over the wire: <see cref="CampaignAsync"/>, cancelled when the client goes away.</summary>
    public override Task<CampaignResponse> Campaign(CampaignRequest request, ServerCallContext context) =>
        CampaignAsync(request, context.CancellationToken);

    /// <summary>Election.Proclaim over the wire: <see cref="ProclaimAsync"/>.</summary>
    public override Task<ProclaimResponse> Proclaim(ProclaimRequest request, ServerCallContext context) =>
        ProclaimAsync(request, context.CancellationToken);

    /// <summary>Election.Leader over the wire: <see cref="LeaderAsync"/>.</summary>
    public override Task<LeaderResponse> Leader(LeaderRequest request, ServerCallContext context) =>
        LeaderAsync(request, context.CancellationToken);

    /// <summary>Election.Observe over the wire: <see cref="ObserveAsync"/> until the client stops observing (then status OK).</summary>
    public override async Task Observe(LeaderRequest request, IServerStreamWriter<LeaderResponse> responseStream, ServerCallContext context)
    {
        try
        {
            await ObserveAsync(request, responseStream, context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (context.CancellationToken.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client stopped observing.
        }
    }

    /// <summary>Election.Resign over the wire: <see cref="ResignAsync"/>.</summary>
    public override Task<ResignResponse> Resign(ResignRequest request, ServerCallContext context) =>
        ResignAsync(request, context.CancellationToken);

    /// <summary>
    /// Election.Campaign: puts <c>name/&lt;lease hex&gt;</c> = value with the lease unless it exists (a second campaign
    /// with the same lease reuses it, proclaiming the new value if it differs), waits until every key under
    /// <c>name/</c> created before it is deleted, re-checks the lease and the key
    /// (<see cref="PredecessorWait.ConfirmTurnAsync"/>), and returns {header, leader key}. Lease 0 runs under a new
    /// 60 s lease, as in etcd (leader.lease names it). Errors: <see cref="EtcdErrors.LeaseNotFound"/> for an unknown
    /// lease, and when the lease is gone or expiring at the re-check; <see cref="ConcurrencyErrors.ElectionNotLeader"/> when the reused key changed under us;
    /// <see cref="OperationCanceledException"/> on <paramref name="cancel"/>. On any error after joining, our key is
    /// deleted (resigned).
    /// </summary>
    public async Task<CampaignResponse> CampaignAsync(CampaignRequest request, CancellationToken cancel)
    {
        var lease = await PredecessorWait.SessionLeaseAsync(_backend, request.Lease, cancel).ConfigureAwait(false);
        var prefix = ConcurrencyKeys.Prefix(request.Name);
        var ownKey = ConcurrencyKeys.OwnKey(request.Name, lease);

        var txn = new TxnRequest();
        txn.Compare.Add(ConcurrencyKeys.CreateRevisionIs(ownKey, 0));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ownKey, Value = request.Value, Lease = lease } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = ownKey } });
        var joined = await _backend.TxnAsync(txn, cancel).ConfigureAwait(false);

        long ownCreateRevision;
        if (joined.Succeeded)
        {
            ownCreateRevision = joined.Header.Revision;
        }
        else
        {
            var existing = joined.Responses[0].ResponseRange.Kvs;
            if (existing.Count == 0)
            {
                throw ConcurrencyErrors.ElectionNotLeader;
            }
            ownCreateRevision = existing[0].CreateRevision;
        }

        var leader = new LeaderKey { Name = request.Name, Key = ownKey, Rev = ownCreateRevision, Lease = lease };
        try
        {
            if (!joined.Succeeded && joined.Responses[0].ResponseRange.Kvs[0].Value != request.Value)
            {
                await ProclaimAsync(new ProclaimRequest { Leader = leader, Value = request.Value }, cancel).ConfigureAwait(false);
            }
            await PredecessorWait.WaitForPredecessorsAsync(_backend, prefix, ownCreateRevision, cancel).ConfigureAwait(false);
            var confirmed = await PredecessorWait.ConfirmTurnAsync(_backend, ownKey, ownCreateRevision, lease, cancel).ConfigureAwait(false);
            return new CampaignResponse { Header = confirmed.Header, Leader = leader };
        }
        catch (Exception)
        {
            await PredecessorWait.LeaveQueueAsync(_backend, ownKey, ownCreateRevision).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Election.Proclaim: sets the leader key's value (keeping it on leader.lease) if the key still has leader.rev as
    /// create revision; returns the header. Errors: <see cref="ConcurrencyErrors.MissingLeaderKey"/> without a leader,
    /// <see cref="ConcurrencyErrors.ElectionNotLeader"/> when the leadership is gone, the backend's
    /// (<see cref="EtcdErrors.LeaseNotFound"/> for an unknown lease).
    /// </summary>
    public async Task<ProclaimResponse> ProclaimAsync(ProclaimRequest request, CancellationToken cancel)
    {
        var leader = request.Leader ?? throw ConcurrencyErrors.MissingLeaderKey;
        var txn = new TxnRequest();
        txn.Compare.Add(ConcurrencyKeys.CreateRevisionIs(leader.Key, leader.Rev));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = leader.Key, Value = request.Value, Lease = leader.Lease } });
        var proclaimed = await _backend.TxnAsync(txn, cancel).ConfigureAwait(false);
        if (!proclaimed.Succeeded)
        {
            throw ConcurrencyErrors.ElectionNotLeader;
        }
        return new ProclaimResponse { Header = proclaimed.Header };
    }

    /// <summary>
    /// Election.Leader: the key under <c>name/</c> with the lowest create revision, as {header, kv}. Errors:
    /// <see cref="ConcurrencyErrors.ElectionNoLeader"/> when there is none, the backend's.
    /// </summary>
    public async Task<LeaderResponse> LeaderAsync(LeaderRequest request, CancellationToken cancel)
    {
        var read = await _backend.RangeAsync(ConcurrencyKeys.FirstCreated(ConcurrencyKeys.Prefix(request.Name)), cancel).ConfigureAwait(false);
        if (read.Kvs.Count == 0)
        {
            throw ConcurrencyErrors.ElectionNoLeader;
        }
        return new LeaderResponse { Header = read.Header, Kv = read.Kvs[0] };
    }

    /// <summary>
    /// Election.Observe: writes the current leader (waiting for the first candidate when there is none), then every
    /// new value the leader proclaims, and the next leader once its key is deleted, until <paramref name="cancel"/>
    /// fires (then throws <see cref="OperationCanceledException"/>). Leader changes that happen between two reads may
    /// be skipped, as in etcd: each response is a leader at its header's revision. Errors: the backend's.
    /// </summary>
    public async Task ObserveAsync(LeaderRequest request, IServerStreamWriter<LeaderResponse> responses, CancellationToken cancel)
    {
        var prefix = ConcurrencyKeys.Prefix(request.Name);
        while (true)
        {
            var read = await _backend.RangeAsync(ConcurrencyKeys.FirstCreated(prefix), cancel).ConfigureAwait(false);
            LeaderResponse current;
            if (read.Kvs.Count > 0)
            {
                current = new LeaderResponse { Header = read.Header, Kv = read.Kvs[0] };
            }
            else
            {
                var first = await WaitForFirstCandidateAsync(prefix, read.Header.Revision, cancel).ConfigureAwait(false);
                if (first is null)
                {
                    continue;
                }
                current = first;
            }
            await responses.WriteAsync(current, cancel).ConfigureAwait(false);
            await FollowLeaderAsync(current.Kv.Key, current.Header.Revision + 1, responses, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Election.Resign: deletes the leader key if it still has leader.rev as create revision (otherwise does nothing);
    /// returns the header. Errors: <see cref="ConcurrencyErrors.MissingLeaderKey"/> without a leader, the backend's.
    /// </summary>
    public async Task<ResignResponse> ResignAsync(ResignRequest request, CancellationToken cancel)
    {
        var leader = request.Leader ?? throw ConcurrencyErrors.MissingLeaderKey;
        var txn = new TxnRequest();
        txn.Compare.Add(ConcurrencyKeys.CreateRevisionIs(leader.Key, leader.Rev));
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = leader.Key } });
        var resigned = await _backend.TxnAsync(txn, cancel).ConfigureAwait(false);
        return new ResignResponse { Header = resigned.Header };
    }

    /// <summary>The first key put under <paramref name="prefix"/> from <paramref name="revision"/> on; null when the watch was compacted.</summary>
    private async Task<LeaderResponse?> WaitForFirstCandidateAsync(ByteString prefix, long revision, CancellationToken cancel)
    {
        await foreach (var response in _backend.WatchAsync(prefix, ConcurrencyKeys.PrefixEnd(prefix), revision, cancel).ConfigureAwait(false))
        {
            var put = response.Events.FirstOrDefault(e => e.Type == Event.Types.EventType.Put);
            if (put is not null)
            {
                var header = response.Header.Clone();
                header.Revision = put.Kv.ModRevision;
                return new LeaderResponse { Header = header, Kv = put.Kv };
            }
        }
        return null;
    }

    /// <summary>Writes each new value of the leader key from <paramref name="revision"/> on; returns once it is deleted or the watch was compacted.</summary>
    private async Task FollowLeaderAsync(ByteString leaderKey, long revision, IServerStreamWriter<LeaderResponse> responses, CancellationToken cancel)
    {
        await foreach (var response in _backend.WatchAsync(leaderKey, ByteString.Empty, revision, cancel).ConfigureAwait(false))
        {
            foreach (var change in response.Events)
            {
                if (change.Type == Event.Types.EventType.Delete)
                {
                    return;
                }
                await responses.WriteAsync(new LeaderResponse { Header = response.Header, Kv = change.Kv }, cancel).ConfigureAwait(false);
            }
        }
    }
}
