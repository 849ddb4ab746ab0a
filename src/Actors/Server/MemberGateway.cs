using Akka.Actor;
using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// The one place where a request thread asks the member's actors (etcd's <c>processInternalRaftRequestOnce</c>
/// and <c>linearizableReadNotify</c>, etcdserver/v3_server.go): every ask waits at most etcd's request timeout and maps a
/// member that stopped to "etcdserver: server stopped"; proposals pass etcd's admission checks first; linearizable reads
/// take a ReadIndex round through the RaftActor. The gRPC services, the HTTP endpoints and the member's lifecycle go
/// through it; actors never do (they only Tell). Thread-safe and lock-free: the state it reads (<see cref="Status"/>,
/// <see cref="Membership"/>, the auth view) is published as immutable snapshots.
/// </summary>
public sealed class MemberGateway
{
    /// <summary>
    /// Most proposals this member lets wait for their apply at once; past it, writes are refused with "etcdserver: too
    /// many requests" instead of queueing without bound (admission control in front of the RaftActor).
    /// </summary>
    public const int MaxProposalsInFlight = 16_384;

    /// <summary>The texts of the errors that mean a proposal was not applied (etcd's proposalsFailed cases).</summary>
    private static readonly HashSet<string> ProposalFailureTexts =
    [
        EtcdErrors.Timeout.Message, EtcdErrors.Stopped.Message, EtcdErrors.NoLeader.Message,
        EtcdErrors.LeaderChanged.Message, EtcdErrors.RequestTooManyRequests.Message,
    ];

    private readonly OpenedMember _opened;
    private readonly RequestIdGenerator _ids;
    private readonly Task<MemberExit> _exited;
    private readonly ILogger _logger;
    private int _proposalsInFlight;

    /// <summary>Creates the gateway of a member whose actors run (<paramref name="refs"/>).</summary>
    /// <param name="opened">The opened data dir: options, read model, membership, auth store.</param>
    /// <param name="refs">The member's actors.</param>
    /// <param name="transport">The peer transport, or null for a member without peers.</param>
    /// <param name="ids">The member's request ID generator (shared with its actors).</param>
    /// <param name="exited">Completes when the member's actors have ended: every later ask is refused as Stopped.</param>
    /// <param name="stopping">Cancelled when the member begins to stop (cuts waits that outlive it short).</param>
    /// <param name="loggers">The member's logger factory.</param>
    public MemberGateway(OpenedMember opened, MemberRefs refs, IRaftTransport? transport, RequestIdGenerator ids, Task<MemberExit> exited,
        CancellationToken stopping, ILoggerFactory loggers)
    {
        _opened = opened;
        _ids = ids;
        _exited = exited;
        Actors = refs;
        Transport = transport;
        Stopping = stopping;
        Loggers = loggers;
        _logger = loggers.CreateLogger("etcdserver/server");
        RequestTimeout = RaftActor.RequestTimeout(opened.Options);
    }

    /// <summary>The options this member runs with.</summary>
    public ServerOptions Options => _opened.Options;

    /// <summary>Live Raft and apply progress (the member's read model).</summary>
    public ServerStatus Status => _opened.Status;

    /// <summary>The cluster membership applied from the log (published by the MvccStoreActor).</summary>
    public ClusterMembership Membership => _opened.Membership;

    /// <summary>The replicated auth store (its <see cref="AuthStore.View"/> is the state the edge checks against).</summary>
    public AuthStore Auth => _opened.Auth;

    /// <summary>The member's actors.</summary>
    public MemberRefs Actors { get; }

    /// <summary>The peer transport, or null for a member without peers.</summary>
    public IRaftTransport? Transport { get; }

    /// <summary>The logger factory the member's parts log through.</summary>
    public ILoggerFactory Loggers { get; }

    /// <summary>Cancelled when the member begins to stop.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>
    /// etcd's <c>ReqTimeout()</c>: 5 s + 2 × election timeout, the bound of every ask made here, of a proposal and of the
    /// leadership transfer of a graceful stop.
    /// </summary>
    public TimeSpan RequestTimeout { get; }

    /// <summary>True once the member's actors have ended (removed, stopped or failed).</summary>
    public bool HasExited => _exited.IsCompleted;

    /// <summary>A new cluster-unique request ID (member ID prefix, etcd's idutil.Generator).</summary>
    public ulong NextRequestId() => _ids.Next();

    /// <summary>The cluster's members as applied from the log; the bootstrap list until any is applied.</summary>
    public IReadOnlyList<Member> CurrentMembers()
    {
        var members = Membership.Members;
        return members.Count > 0 ? members : _opened.BootstrapMembers;
    }

    /// <summary>
    /// Cluster.MemberList's answer, read locally: <see cref="CurrentMembers"/> under this member's header without a
    /// revision (etcd's Cluster service leaves it out). Also what a joining member asks a peer for.
    /// </summary>
    public MemberListResponse MemberList()
    {
        var response = new MemberListResponse { Header = ResponseHeaders.Create(Status, 0) };
        response.Members.AddRange(CurrentMembers());
        return response;
    }

    /// <summary>
    /// True while this member is a learner in the applied member list (added with <c>member add --learner</c> and not
    /// promoted yet). A learner serves only Maintenance.Status and serializable KV.Range; everything else is answered
    /// <see cref="EtcdErrors.NotSupportedForLearner"/>.
    /// </summary>
    public bool IsLearner
    {
        get
        {
            var id = Status.MemberId;
            foreach (var member in Membership.Members)
            {
                if (member.ID == id)
                {
                    return member.IsLearner;
                }
            }
            return false;
        }
    }

    /// <summary>
    /// Asks <paramref name="actor"/> and waits at most the request timeout (plus 1 s, so a slow proposal gets its
    /// "request timed out" from the RaftActor's own sweep): the answer, or the actor's <c>Status.Failure</c> cause
    /// rethrown. Errors: Stopped when the member's actors have ended (before or during the wait), Timeout when nothing
    /// answers in time; <see cref="OperationCanceledException"/> on <paramref name="cancel"/>.
    /// </summary>
    public async Task<T> AskAsync<T>(IActorRef actor, object message, CancellationToken cancel)
    {
        if (_exited.IsCompleted)
        {
            throw EtcdErrors.Stopped;
        }
        try
        {
            return await actor.Ask<T>(message, RequestTimeout + TimeSpan.FromSeconds(1), cancel).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            // The member's actors ended while this call waited (its message went to dead letters), or nothing answered.
            throw _exited.IsCompleted ? EtcdErrors.Stopped : EtcdErrors.Timeout;
        }
    }

    /// <summary>
    /// Proposes <paramref name="request"/> through Raft (its ID and header are set here, the caller stamped into the
    /// header) and waits until it is applied here; answers the apply's response. Errors: RequestTooLarge past
    /// <c>--max-request-bytes</c>; NoSpace when <paramref name="checkQuota"/> and the request's <see cref="QuotaCost"/>
    /// would take the backend past the quota (the NOSPACE alarm is raised through the log first, as etcd's
    /// quotaKVServer does); NoLeader; TooManyRequests when the store is more than <see cref="ServerOptions.MaxCommitApplyGap"/>
    /// entries behind the commit index (etcd's maxGapBetweenApplyAndCommitIndex), when <see cref="MaxProposalsInFlight"/>
    /// proposals already wait, or when the leader holds too many uncommitted bytes; LeaderChanged; Timeout after etcd's
    /// request timeout; InvalidAuthToken for the caller's token; or the apply's error (e.g. Compacted).
    /// </summary>
    public async Task<IMessage> ProposeAsync(InternalRaftRequest request, bool checkQuota, CancellationToken cancel)
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
            return await AskAsync<IMessage>(Actors.Raft, new RaftProtocol.Propose(id, data), cancel).ConfigureAwait(false);
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
    /// through the RaftActor (which hands it to the store once the read index is applied). Errors: NoLeader (a
    /// linearizable read without a leader), LeaderChanged, Timeout, Stopped, or the query's own (Compacted, FutureRev).
    /// </summary>
    public async Task<T> ReadAsync<T>(StoreProtocol.Query query, bool serializable, CancellationToken cancel)
    {
        if (serializable)
        {
            return await AskAsync<T>(Actors.Store, new StoreProtocol.RunQuery(0, query), cancel).ConfigureAwait(false);
        }
        if (!Status.HasLeader)
        {
            Metrics.EtcdMetrics.ReadIndexesFailed.Inc();
            throw EtcdErrors.NoLeader;
        }
        try
        {
            return await AskAsync<T>(Actors.Raft, new RaftProtocol.LinearizableRead(query), cancel).ConfigureAwait(false);
        }
        catch (EtcdException e) when (IsProposalFailure(e))
        {
            Metrics.EtcdMetrics.ReadIndexesFailed.Inc();
            throw;
        }
    }

    /// <summary>
    /// Waits for a ReadIndex round and its apply: afterwards this member has applied every write committed before the
    /// call. Errors: those of a linearizable <see cref="ReadAsync{T}"/>.
    /// </summary>
    public Task<StoreProtocol.BarrierPassed> ReadBarrierAsync(CancellationToken cancel) =>
        ReadAsync<StoreProtocol.BarrierPassed>(StoreProtocol.Barrier.Instance, serializable: false, cancel);

    /// <summary>
    /// Resolves the credentials of the current call (<see cref="AuthCredentials.Current"/>) as etcd's AuthInfoFromCtx:
    /// a token is resolved by the token provider (a simple token once its Authenticate entry is applied here), a call
    /// without a token runs as its verified client certificate's CommonName when <c>--client-cert-auth</c> is on, and
    /// as nobody (null) otherwise.
    /// </summary>
    /// <exception cref="EtcdException">"etcdserver: invalid auth token" for an unknown, expired or malformed token.</exception>
    public async Task<AuthInfo?> ResolveCallerAsync(CancellationToken cancel)
    {
        var credentials = AuthCredentials.Current;
        if (credentials.Token is { } token)
        {
            var tokens = Auth.Tokens;
            if (tokens.AppliedIndexNeeded(token) is { } index && Status.AppliedIndex < index)
            {
                // The token was assigned at a committed index: one read index round brings this member past it, unless
                // the token is made up (then it stays unknown and nothing waits for an index that never comes).
                await ReadBarrierAsync(cancel).ConfigureAwait(false);
            }
            if (tokens.Resolve(token, Auth.View.Revision) is { } info)
            {
                return info;
            }
            _logger.LogWarning("invalid auth token: {token}", token);
            throw EtcdErrors.InvalidAuthToken;
        }
        if (Options.ClientCertAuth && credentials.CommonName is { Length: > 0 } commonName)
        {
            return new AuthInfo(commonName, Auth.View.Revision);
        }
        return null;
    }

    /// <summary>Puts the caller's user name and auth revision into a proposal's header (checked when it is applied).</summary>
    private async Task StampCallerAsync(RequestHeader header, CancellationToken cancel)
    {
        if (AuthCredentials.Current.Token is null && !(Options.ClientCertAuth && AuthCredentials.Current.CommonName is not null))
        {
            return;
        }
        if (await ResolveCallerAsync(cancel).ConfigureAwait(false) is { } info)
        {
            header.Username = info.Username;
            header.AuthRevision = info.Revision;
        }
    }

    /// <summary>
    /// etcd's <c>backendQuota.Available</c>: true when <paramref name="request"/> costs nothing (<see cref="QuotaCost"/>)
    /// or when the backend plus its cost stays below the quota. A negative <c>--quota-backend-bytes</c> turns the quota
    /// off, as in etcd.
    /// </summary>
    private bool QuotaAvailable(InternalRaftRequest request)
    {
        var cost = QuotaCost.Of(request);
        return cost == 0 || Options.QuotaBackendBytes < 0 || Status.DbSizeBytes + cost < Options.EffectiveQuotaBytes;
    }

    /// <summary>
    /// etcd's quotaAlarmer: a request did not fit, so the NOSPACE alarm of this member is raised through the log (every
    /// member then refuses puts at apply) before the request is refused. A failure to raise it is only logged: the
    /// request is refused either way, and the next one tries again.
    /// </summary>
    private async Task RaiseNoSpaceAsync(CancellationToken cancel)
    {
        var alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, MemberID = Status.MemberId, Alarm = AlarmType.Nospace };
        try
        {
            await ProposeAsync(new InternalRaftRequest { Alarm = alarm }, checkQuota: false, cancel).ConfigureAwait(false);
        }
        catch (EtcdException ex)
        {
            _logger.LogWarning("failed to raise the NOSPACE alarm: {error}", ex.Message);
        }
    }

    private static bool IsProposalFailure(EtcdException e) => ProposalFailureTexts.Contains(e.Message);
}
