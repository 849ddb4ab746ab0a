using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// Lease keep-alives and time-to-live queries, which only the leader's lessor can answer (etcd's
/// etcdserver/v3_server.go LeaseRenew and LeaseTimeToLive, and the leader's side, etcd's lease/leasehttp handler): a
/// follower forwards them to the leader over the peer transport (<see cref="IPeerRequests"/>) and retries until the
/// request timeout; the leader serves a forwarded one once its applied index has caught up. Used by the Lease service
/// and by the member's peer requests. Stateless and thread-safe.
/// </summary>
public sealed class LeaseForwarding
{
    private readonly MemberGateway _member;
    private readonly ILogger _logger;

    /// <summary>Creates the lease forwarding of the member behind <paramref name="member"/>.</summary>
    public LeaseForwarding(MemberGateway member)
    {
        _member = member;
        _logger = member.Loggers.CreateLogger("etcdserver/server");
    }

    /// <summary>
    /// How long the leader waits for its applied index to reach its commit index before it refuses a forwarded lease
    /// call (etcd's leasehttp applyTimeout, 1 s); the follower then tries again.
    /// </summary>
    public static readonly TimeSpan ForwardedLeaseApplyTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// One keep-alive of Lease.LeaseKeepAlive (etcd's LeaseRenew): the leader renews the lease on its lessor; any
    /// other member (or a leader whose lessor is not primary yet) forwards it to the leader over the peer transport
    /// (a <c>LeaseKeepAliveRequest</c> peer request, etcd's leasehttp renew) and retries until the request timeout. Answers the TTL in seconds,
    /// 0 for an unknown (or just expired) lease, under this member's header taken before the renew (as etcd).
    /// Errors: NoLeader (no leader within the request timeout), Timeout (the leader could not be reached in time),
    /// Stopped; <see cref="OperationCanceledException"/> when <paramref name="cancel"/> fires.
    /// </summary>
    public async Task<LeaseKeepAliveResponse> LeaseKeepAliveAsync(long id, CancellationToken cancel)
    {
        var response = new LeaseKeepAliveResponse { Header = ResponseHeaders.Create(_member.Status, _member.Status.Revision), ID = id };
        if (_member.Status.IsLeader)
        {
            try
            {
                response.TTL = await RenewOnLessorAsync(id, cancel).ConfigureAwait(false);
                return response;
            }
            catch (EtcdException ex) when (ex.Message == EtcdErrors.NotLeader.Message)
            {
                // Leader, but its lessor is not primary yet (or was just demoted): forward, as etcd does on ErrNotPrimary.
            }
        }
        try
        {
            var renewed = await ForwardToLeaderAsync<LeaseKeepAliveResponse>(new LeaseKeepAliveRequest { ID = id }, cancel)
                .ConfigureAwait(false);
            response.TTL = renewed.TTL;
        }
        catch (EtcdException ex) when (ex.Message == EtcdErrors.LeaseNotFound.Message)
        {
            response.TTL = 0;
        }
        return response;
    }

    /// <summary>
    /// Lease.LeaseTimeToLive: remaining and granted TTL (seconds) and optionally the keys; TTL -1 for an unknown lease.
    /// The leader answers from its lessor after a read index; any other member forwards the query to the leader over the
    /// peer transport (a <c>LeaseTimeToLiveRequest</c> peer request), which alone knows the remaining TTL, and answers
    /// with its own header. Errors: NoLeader, Timeout, Stopped, as <see cref="LeaseKeepAliveAsync"/>.
    /// </summary>
    public async Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel)
    {
        if (!_member.Status.IsLeader)
        {
            var header = ResponseHeaders.Create(_member.Status, _member.Status.Revision);
            LeaseTimeToLiveResponse forwarded;
            try
            {
                forwarded = (await ForwardToLeaderAsync<LeaseTimeToLiveResponse>(request, cancel).ConfigureAwait(false)).Clone();
            }
            catch (EtcdException ex) when (ex.Message == EtcdErrors.LeaseNotFound.Message)
            {
                forwarded = new LeaseTimeToLiveResponse { ID = request.ID, TTL = -1 };
            }
            forwarded.Header = header;
            return forwarded;
        }
        await _member.ReadBarrierAsync(cancel).ConfigureAwait(false);
        var response = new LeaseTimeToLiveResponse { Header = ResponseHeaders.Create(_member.Status, _member.Status.Revision), ID = request.ID };
        try
        {
            var ttl = await _member.AskAsync<LeaseTimeToLive>(_member.Actors.Lessor, new LeaseProtocol.TimeToLive(request.ID, request.Keys), cancel)
                .ConfigureAwait(false);
            response.TTL = ttl.TtlSeconds;
            response.GrantedTTL = ttl.GrantedTtlSeconds;
            response.Keys.AddRange(ttl.Keys);
        }
        catch (EtcdException ex) when (ex.Message == EtcdErrors.LeaseNotFound.Message)
        {
            response.TTL = -1;
        }
        return response;
    }

    /// <summary>
    /// Serves a keep-alive forwarded by a follower (a <c>LeaseKeepAliveRequest</c> peer request, etcd's leaseHandler):
    /// waits up to <see cref="ForwardedLeaseApplyTimeout"/> for the applied index to reach the commit index (so a
    /// lease the follower saw granted is known here), then renews on this member's lessor. Returns the TTL in seconds.
    /// </summary>
    /// <exception cref="TimeoutException">The applied index did not catch up in time (the follower retries).</exception>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/> for an unknown or expired lease;
    /// <see cref="EtcdErrors.NotLeader"/> when this lessor is not the primary (the follower retries); Stopped.</exception>
    public async Task<long> RenewForwardedLeaseAsync(long id, CancellationToken cancel)
    {
        await WaitAppliedCommitAsync(cancel).ConfigureAwait(false);
        var ttl = await RenewOnLessorAsync(id, cancel).ConfigureAwait(false);
        return ttl > 0 ? ttl : throw EtcdErrors.LeaseNotFound;
    }

    /// <summary>
    /// Serves a time-to-live query forwarded by a follower (a <c>LeaseTimeToLiveRequest</c> peer request): after the
    /// same applied-index wait as <see cref="RenewForwardedLeaseAsync"/>, answers ID, remaining TTL, granted TTL (seconds)
    /// and, if asked, the keys, with an empty header (as etcd's leaseHandler).
    /// </summary>
    /// <exception cref="TimeoutException">The applied index did not catch up in time (the follower retries).</exception>
    /// <exception cref="EtcdException"><see cref="EtcdErrors.LeaseNotFound"/> for an unknown lease; Stopped.</exception>
    public async Task<LeaseTimeToLiveResponse> ForwardedLeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel)
    {
        await WaitAppliedCommitAsync(cancel).ConfigureAwait(false);
        var ttl = await _member.AskAsync<LeaseTimeToLive>(_member.Actors.Lessor, new LeaseProtocol.TimeToLive(request.ID, request.Keys), cancel)
            .ConfigureAwait(false);
        var response = new LeaseTimeToLiveResponse
        {
            Header = new ResponseHeader(),
            ID = request.ID,
            TTL = ttl.TtlSeconds,
            GrantedTTL = ttl.GrantedTtlSeconds,
        };
        response.Keys.AddRange(ttl.Keys);
        return response;
    }

    /// <summary>Renews on this member's lessor: the TTL in seconds, 0 for an unknown lease; NotLeader if not primary.</summary>
    private async Task<long> RenewOnLessorAsync(long id, CancellationToken cancel) =>
        (await _member.AskAsync<LeaseProtocol.Renewed>(_member.Actors.Lessor, new LeaseProtocol.KeepAlive(id), cancel).ConfigureAwait(false)).TtlSeconds;

    /// <summary>
    /// etcd's ApplyWait as the leaseHandler uses it: completes once the applied index reaches the commit index seen at
    /// the call; throws <see cref="TimeoutException"/> after <see cref="ForwardedLeaseApplyTimeout"/>.
    /// </summary>
    private async Task WaitAppliedCommitAsync(CancellationToken cancel)
    {
        var commit = _member.Status.CommitIndex;
        if (_member.Status.AppliedIndex >= commit)
        {
            return;
        }
        await _member.AskAsync<StoreProtocol.BarrierPassed>(_member.Actors.Store, new StoreProtocol.RunQuery(commit, StoreProtocol.Barrier.Instance), cancel)
            .WaitAsync(ForwardedLeaseApplyTimeout, cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// etcd's forward loop of LeaseRenew and LeaseTimeToLive: until the request timeout, waits for a leader, then asks it
    /// over the peer transport (<see cref="IPeerRequests"/>); any failure but <see cref="EtcdErrors.LeaseNotFound"/>
    /// (the leader's lessor not primary yet, its applied index behind, the leader unreachable) is retried after a
    /// heartbeat's pause. <see cref="EtcdErrors.LeaseNotFound"/> is passed through; NoLeader without a peer transport.
    /// </summary>
    private async Task<T> ForwardToLeaderAsync<T>(Google.Protobuf.IMessage request, CancellationToken cancel)
        where T : class, Google.Protobuf.IMessage
    {
        if (_member.Transport is not IPeerRequests peers)
        {
            throw EtcdErrors.NoLeader;
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel, _member.Stopping);
        deadline.CancelAfter(_member.RequestTimeout);
        var pause = TimeSpan.FromMilliseconds(Math.Max(1, _member.Options.HeartbeatIntervalMs));
        Exception? lastError = null;
        try
        {
            while (true)
            {
                var leader = await WaitLeaderAsync(pause, deadline.Token).ConfigureAwait(false);
                try
                {
                    // A leader whose lessor is not primary yet serves the request as a forwarded one, until it is.
                    var answered = leader.ID == _member.Status.MemberId
                        ? await ServeForwardedAsync(request, deadline.Token).ConfigureAwait(false)
                        : await peers.AskAsync(leader.ID, request, _member.RequestTimeout, deadline.Token).ConfigureAwait(false);
                    if (answered is T answer)
                    {
                        return answer;
                    }
                    lastError = new InvalidOperationException("the leader answered with an unexpected message");
                }
                catch (Exception ex) when (ex is EtcdException { Message: var text } ? text != EtcdErrors.LeaseNotFound.Message : ex is TimeoutException)
                {
                    lastError = ex;
                }
                await Task.Delay(pause, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            cancel.ThrowIfCancellationRequested();
            if (_member.Stopping.IsCancellationRequested)
            {
                throw EtcdErrors.Stopped;
            }
            if (lastError is not null)
            {
                _logger.LogWarning("failed to forward a lease request to the leader: {error}", lastError.Message);
            }
            throw _member.Status.HasLeader ? EtcdErrors.Timeout : EtcdErrors.NoLeader;
        }
    }

    /// <summary>
    /// etcd's waitLeader: the leader's member entry, polling every <paramref name="pause"/> while there is none;
    /// NoLeader if the leader is not a known member.
    /// </summary>
    private async Task<Member> WaitLeaderAsync(TimeSpan pause, CancellationToken cancel)
    {
        while (!_member.Status.HasLeader)
        {
            await Task.Delay(pause, cancel).ConfigureAwait(false);
        }
        var leaderId = _member.Status.Leader;
        var leader = _member.CurrentMembers().FirstOrDefault(m => m.ID == leaderId);
        if (leader is null)
        {
            throw EtcdErrors.NoLeader;
        }
        return leader;
    }

    /// <summary>
    /// Serves a forwarded lease request as the leader does when a follower sends it: a keep-alive
    /// (<see cref="RenewForwardedLeaseAsync"/>) or a time-to-live query (<see cref="ForwardedLeaseTimeToLiveAsync"/>).
    /// </summary>
    /// <exception cref="EtcdException">Their errors; Unimplemented for another request type.</exception>
    public async Task<Google.Protobuf.IMessage> ServeForwardedAsync(Google.Protobuf.IMessage request, CancellationToken cancel) => request switch
    {
        LeaseKeepAliveRequest renew =>
            (Google.Protobuf.IMessage)new LeaseKeepAliveResponse { ID = renew.ID, TTL = await RenewForwardedLeaseAsync(renew.ID, cancel).ConfigureAwait(false) },
        LeaseTimeToLiveRequest timeToLive => await ForwardedLeaseTimeToLiveAsync(timeToLive, cancel).ConfigureAwait(false),
        _ => throw new EtcdException(RpcStatusCode.Unimplemented, $"unknown peer request {request.Descriptor.FullName}"),
    };
}
