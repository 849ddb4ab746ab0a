using Akka.Etcd.Actors.Mailbox;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Lease;

/// <summary>
/// Messages the <see cref="LeaseActor"/> accepts. Replies are promises the actor completes (create them with
/// <see cref="AskExtensions.NewReply{T}"/>); errors complete them with an <see cref="EtcdException"/>.
/// </summary>
public abstract record LeaseMessage
{
    private LeaseMessage()
    {
    }

    /// <summary>
    /// Apply path (committed <c>LeaseGrant</c>, on every member): grant the lease. Reply: the granted record, which the
    /// applier persists; or <see cref="EtcdErrors.LeaseExist"/>, <see cref="EtcdErrors.LeaseTTLTooLarge"/>,
    /// <see cref="EtcdErrors.LeaseNotFound"/> (ID 0).
    /// </summary>
    /// <param name="Id">Lease ID from the entry.</param>
    /// <param name="TtlSeconds">Requested TTL in seconds.</param>
    /// <param name="Reply">Answer promise; null if nobody waits.</param>
    public sealed record ApplyGrant(long Id, long TtlSeconds, TaskCompletionSource<LeaseRecord>? Reply) : LeaseMessage;

    /// <summary>
    /// Apply path (committed <c>LeaseRevoke</c>, from a client or an expiry): remove the lease. Reply: its keys in
    /// bytewise order, which the applier deletes in one revision together with the lease's record; or
    /// <see cref="EtcdErrors.LeaseNotFound"/>. Parked keepalives of the lease are answered 0.
    /// </summary>
    /// <param name="Id">Lease ID.</param>
    /// <param name="Reply">Answer promise; null if nobody waits.</param>
    public sealed record ApplyRevoke(long Id, TaskCompletionSource<IReadOnlyList<ByteString>>? Reply) : LeaseMessage;

    /// <summary>
    /// Apply path (a put with a lease): attach the key, moving it off any other lease. Reply: true; or
    /// <see cref="EtcdErrors.LeaseNotFound"/> (nothing changed: the put must fail, as in etcd).
    /// </summary>
    /// <param name="Id">Lease ID.</param>
    /// <param name="Key">The key.</param>
    /// <param name="Reply">Answer promise; null if nobody waits.</param>
    public sealed record ApplyAttach(long Id, ByteString Key, TaskCompletionSource<bool>? Reply) : LeaseMessage;

    /// <summary>Apply path (a leased key was deleted, or put without its lease): detach it. Unknown pairs are ignored.</summary>
    /// <param name="Id">Lease ID the key was attached to.</param>
    /// <param name="Key">The key.</param>
    public sealed record ApplyDetach(long Id, ByteString Key) : LeaseMessage;

    /// <summary>Apply path (committed <c>LeaseCheckpoint</c>): record remaining TTLs; the applier persists the records.</summary>
    /// <param name="Checkpoints">Lease IDs with remaining TTL in seconds (0 clears).</param>
    public sealed record ApplyCheckpoint(IReadOnlyList<LeaseCheckpoint> Checkpoints) : LeaseMessage;

    /// <summary>
    /// A keepalive from the <c>LeaseKeepAlive</c> stream (leader only). Reply: the TTL in seconds; 0 for an unknown
    /// lease (what the stream sends). A lease past its deadline is parked until its revoke is applied (then 0) or
    /// this member is demoted. Fails with <see cref="EtcdErrors.NotLeader"/> when not the primary: forward to the leader.
    /// </summary>
    /// <param name="Id">Lease ID.</param>
    /// <param name="Reply">Answer promise.</param>
    public sealed record KeepAlive(long Id, TaskCompletionSource<long> Reply) : LeaseMessage;

    /// <summary>A <c>LeaseTimeToLive</c> query. Reply: the answer, or <see cref="EtcdErrors.LeaseNotFound"/>.</summary>
    /// <param name="Id">Lease ID.</param>
    /// <param name="Keys">Whether to list the attached keys.</param>
    /// <param name="Reply">Answer promise.</param>
    public sealed record TimeToLive(long Id, bool Keys, TaskCompletionSource<LeaseTimeToLive> Reply) : LeaseMessage;

    /// <summary>A <c>LeaseLeases</c> query. Reply: every lease ID (see <see cref="Lessor.Leases"/>).</summary>
    /// <param name="Reply">Answer promise.</param>
    public sealed record List(TaskCompletionSource<IReadOnlyList<long>> Reply) : LeaseMessage;

    /// <summary>Is there such a lease (e.g. to check a put's lease before proposing)? Reply: its record or null.</summary>
    /// <param name="Id">Lease ID.</param>
    /// <param name="Reply">Answer promise.</param>
    public sealed record Lookup(long Id, TaskCompletionSource<LeaseRecord?> Reply) : LeaseMessage;

    /// <summary>
    /// Finds expired leases (primary only) and proposes their revoke, at most
    /// <see cref="LeaseActorOptions.MaxRevokesPerTick"/> each time. Sent every 500 ms.
    /// </summary>
    public sealed record Tick : LeaseMessage;

    /// <summary>
    /// This member became leader and applied all entries of earlier terms: become the primary, extending every
    /// lease by <paramref name="ExtendMs"/> (etcd: the election timeout).
    /// </summary>
    /// <param name="ExtendMs">Extension in milliseconds.</param>
    public sealed record Promote(long ExtendMs) : LeaseMessage;

    /// <summary>This member lost leadership: stop expiring leases; parked keepalives fail with <see cref="EtcdErrors.NotLeader"/>.</summary>
    public sealed record Demote : LeaseMessage;

    /// <summary>Lists every lease's persisted form (<see cref="Lessor.Export"/>).</summary>
    /// <param name="Reply">Answer promise.</param>
    public sealed record Export(TaskCompletionSource<IReadOnlyList<LeaseRecord>> Reply) : LeaseMessage;

    /// <summary>
    /// Replaces the state after a Raft snapshot was installed (<see cref="Lessor.Restore"/>); the lessor is left
    /// demoted. Reply: the number of attachments skipped because their lease is missing.
    /// </summary>
    /// <param name="Leases">Persisted leases.</param>
    /// <param name="Attachments">Key and lease ID of every live leased key.</param>
    /// <param name="Reply">Answer promise; null if nobody waits.</param>
    public sealed record Restore(
        IReadOnlyList<LeaseRecord> Leases,
        IReadOnlyList<KeyValuePair<ByteString, long>> Attachments,
        TaskCompletionSource<int>? Reply) : LeaseMessage;

    /// <summary>A revoke proposal finished; <paramref name="Error"/> is null if it succeeded.</summary>
    internal sealed record RevokeProposalCompleted(long Id, Exception? Error) : LeaseMessage;
}

/// <summary>Settings of a <see cref="LeaseActor"/>.</summary>
public sealed record LeaseActorOptions
{
    /// <summary>
    /// Most revokes proposed per <see cref="LeaseMessage.Tick"/>: 500, half of etcd's 1,000/s, for a tick every 500 ms.
    /// </summary>
    public int MaxRevokesPerTick { get; init; } = LessorOptions.RevokeRatePerSecond / 2;

    /// <summary>
    /// If set, the actor sends itself a <see cref="LeaseMessage.Tick"/> at this interval (production: 500 ms, as
    /// etcd's lessor loop). Null: the owner sends ticks (tests, with a fake clock).
    /// </summary>
    public TimeSpan? TickInterval { get; init; }
}

/// <summary>
/// Owns the <see cref="Lessor"/>: applies lease changes from the Raft log in log order, answers keepalives and
/// queries, and, while primary, turns expired leases into revoke proposals.
/// </summary>
/// <remarks>
/// Threading: all state lives on the actor's loop; talk to it only through <see cref="Actor{TMessage}.Tell"/>.
/// The <c>proposeRevoke</c> callback is called on the loop and must not block: it proposes
/// <c>LeaseRevokeRequest{ID}</c> through Raft and returns a task that completes when the revoke was applied (or
/// faults if the proposal failed). The revoke itself reaches this actor as <see cref="LeaseMessage.ApplyRevoke"/>.
/// Each expired lease has at most one proposal in flight; after a failure it is proposed again once
/// <see cref="LessorOptions.ExpiredRetryMs"/> has passed since it was last reported, if it still exists.
/// </remarks>
public sealed class LeaseActor : Actor<LeaseMessage>
{
    private readonly Lessor _lessor;
    private readonly Func<long> _clockMs;
    private readonly Func<long, Task> _proposeRevoke;
    private readonly LeaseActorOptions _options;
    private readonly HashSet<long> _revokesInFlight = new();
    private readonly Dictionary<long, List<TaskCompletionSource<long>>> _parkedKeepAlives = new();
    private readonly CancellationTokenSource _stopTicking = new();
    private Task? _ticking;

    /// <summary>Creates the actor; call <see cref="Actor{TMessage}.Start"/> to run it.</summary>
    /// <param name="lessor">The lessor, already restored from the backend; the actor owns it from now on.</param>
    /// <param name="clockMs">Monotonic clock in milliseconds, e.g. <c>() =&gt; Environment.TickCount64</c>.</param>
    /// <param name="proposeRevoke">Proposes the revoke of an expired lease through Raft (see remarks).</param>
    /// <param name="logger">Logger.</param>
    /// <param name="options">Revoke rate and tick interval; defaults if null.</param>
    public LeaseActor(Lessor lessor, Func<long> clockMs, Func<long, Task> proposeRevoke, ILogger logger, LeaseActorOptions? options = null)
        : base("lease", logger)
    {
        _lessor = lessor;
        _clockMs = clockMs;
        _proposeRevoke = proposeRevoke;
        _options = options ?? new LeaseActorOptions();
    }

    /// <inheritdoc />
    protected override ValueTask PreStartAsync()
    {
        if (_options.TickInterval is { } interval)
        {
            _ticking = TickAsync(interval, _stopTicking.Token);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override async ValueTask PostStopAsync()
    {
        await _stopTicking.CancelAsync().ConfigureAwait(false);
        if (_ticking is not null)
        {
            await _ticking.ConfigureAwait(false);
        }
        _stopTicking.Dispose();
        FailParkedKeepAlives(EtcdErrors.NotLeader);
    }

    /// <inheritdoc />
    protected override ValueTask OnReceiveAsync(LeaseMessage message)
    {
        switch (message)
        {
            case LeaseMessage.ApplyGrant grant:
                Answer(grant.Reply, () => _lessor.Grant(grant.Id, grant.TtlSeconds, _clockMs()));
                break;
            case LeaseMessage.ApplyRevoke revoke:
                Answer(revoke.Reply, () => _lessor.Revoke(revoke.Id));
                AnswerParkedKeepAlives(revoke.Id);
                break;
            case LeaseMessage.ApplyAttach attach:
                Answer(attach.Reply, () =>
                {
                    _lessor.Attach(attach.Id, attach.Key);
                    return true;
                });
                break;
            case LeaseMessage.ApplyDetach detach:
                _lessor.Detach(detach.Id, detach.Key);
                break;
            case LeaseMessage.ApplyCheckpoint checkpoint:
                foreach (var c in checkpoint.Checkpoints)
                {
                    _lessor.Checkpoint(c.ID, c.RemainingTTL);
                }
                break;
            case LeaseMessage.KeepAlive keepAlive:
                OnKeepAlive(keepAlive);
                break;
            case LeaseMessage.TimeToLive ttl:
                Answer(ttl.Reply, () => _lessor.TimeToLive(ttl.Id, _clockMs(), ttl.Keys));
                break;
            case LeaseMessage.List list:
                list.Reply.TrySetResult(_lessor.Leases());
                break;
            case LeaseMessage.Lookup lookup:
                lookup.Reply.TrySetResult(_lessor.Lookup(lookup.Id));
                break;
            case LeaseMessage.Tick:
                ProposeExpiredRevokes();
                break;
            case LeaseMessage.Promote promote:
                _lessor.Promote(_clockMs(), promote.ExtendMs);
                Logger.LogInformation("lessor promoted: {count} leases extended by {extendMs} ms", _lessor.Count, promote.ExtendMs);
                break;
            case LeaseMessage.Demote:
                _lessor.Demote();
                FailParkedKeepAlives(EtcdErrors.NotLeader);
                break;
            case LeaseMessage.Export export:
                export.Reply.TrySetResult(_lessor.Export().ToList());
                break;
            case LeaseMessage.Restore restore:
                var skipped = _lessor.Restore(restore.Leases, restore.Attachments);
                FailParkedKeepAlives(EtcdErrors.NotLeader);
                if (skipped > 0)
                {
                    Logger.LogWarning("lease restore skipped {skipped} keys attached to missing leases", skipped);
                }
                restore.Reply?.TrySetResult(skipped);
                break;
            case LeaseMessage.RevokeProposalCompleted completed:
                _revokesInFlight.Remove(completed.Id);
                if (completed.Error is not null)
                {
                    Logger.LogWarning(completed.Error, "failed to revoke lease {leaseId:x16}", completed.Id);
                }
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override void OnDeadLetter(LeaseMessage message, Exception reason)
    {
        var error = new EtcdException(RpcStatusCode.Unavailable, "etcdserver: server stopped", reason);
        switch (message)
        {
            case LeaseMessage.ApplyGrant m: m.Reply?.TrySetException(error); break;
            case LeaseMessage.ApplyRevoke m: m.Reply?.TrySetException(error); break;
            case LeaseMessage.ApplyAttach m: m.Reply?.TrySetException(error); break;
            case LeaseMessage.KeepAlive m: m.Reply.TrySetException(error); break;
            case LeaseMessage.TimeToLive m: m.Reply.TrySetException(error); break;
            case LeaseMessage.List m: m.Reply.TrySetException(error); break;
            case LeaseMessage.Lookup m: m.Reply.TrySetException(error); break;
            case LeaseMessage.Export m: m.Reply.TrySetException(error); break;
            case LeaseMessage.Restore m: m.Reply?.TrySetException(error); break;
        }
    }

    private void OnKeepAlive(LeaseMessage.KeepAlive keepAlive)
    {
        if (!_lessor.IsPrimary)
        {
            keepAlive.Reply.TrySetException(EtcdErrors.NotLeader);
            return;
        }
        var now = _clockMs();
        if (_lessor.Lookup(keepAlive.Id) is null)
        {
            keepAlive.Reply.TrySetResult(0);
            return;
        }
        if (_lessor.IsExpired(keepAlive.Id, now))
        {
            // As etcd: an expired lease's renew waits for its revoke (answer 0) or for a demotion.
            if (!_parkedKeepAlives.TryGetValue(keepAlive.Id, out var parked))
            {
                _parkedKeepAlives[keepAlive.Id] = parked = new List<TaskCompletionSource<long>>();
            }
            parked.Add(keepAlive.Reply);
            return;
        }
        keepAlive.Reply.TrySetResult(_lessor.Renew(keepAlive.Id, now));
    }

    private void ProposeExpiredRevokes()
    {
        var expired = _lessor.Expired(_clockMs(), _options.MaxRevokesPerTick);
        foreach (var id in expired)
        {
            if (!_revokesInFlight.Add(id))
            {
                continue;
            }
            Task proposal;
            try
            {
                proposal = _proposeRevoke(id);
            }
            catch (Exception ex)
            {
                proposal = Task.FromException(ex);
            }
            // Synchronous continuation: it only enqueues a message, so the completion is in the mailbox as soon as
            // the proposal's task completes.
            proposal.ContinueWith(
                static (task, state) =>
                {
                    var (actor, leaseId) = ((LeaseActor, long))state!;
                    Exception? error = task.IsCanceled ? new OperationCanceledException() : task.Exception?.GetBaseException();
                    actor.Tell(new LeaseMessage.RevokeProposalCompleted(leaseId, error));
                },
                (this, id),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private void AnswerParkedKeepAlives(long id)
    {
        if (_parkedKeepAlives.Remove(id, out var parked))
        {
            foreach (var reply in parked)
            {
                reply.TrySetResult(0);
            }
        }
    }

    private void FailParkedKeepAlives(EtcdException error)
    {
        foreach (var parked in _parkedKeepAlives.Values)
        {
            foreach (var reply in parked)
            {
                reply.TrySetException(error.Clone());
            }
        }
        _parkedKeepAlives.Clear();
    }

    private async Task TickAsync(TimeSpan interval, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                if (!Tell(new LeaseMessage.Tick()))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped with the actor.
        }
    }

    private static void Answer<T>(TaskCompletionSource<T>? reply, Func<T> work)
    {
        try
        {
            var result = work();
            reply?.TrySetResult(result);
        }
        catch (EtcdException ex)
        {
            reply?.TrySetException(ex);
        }
    }
}
