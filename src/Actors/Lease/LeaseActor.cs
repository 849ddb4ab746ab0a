using Akka.Actor;
using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Akka.Event;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Lease;

/// <summary>What one <see cref="LeaseActor"/> shard is built from (the <see cref="LessorActor"/> fills it).</summary>
/// <param name="Options">Minimum TTL, expiry retry, and this shard's share of the revoke rate.</param>
/// <param name="Shard">This shard's number, 0-based.</param>
/// <param name="Shards">How many shards the lessor has; lease <c>id</c> lives in shard <c>(ulong)id % Shards</c>.</param>
/// <param name="RaftPath">Where expiry revokes are proposed (the RaftActor).</param>
/// <param name="RequestIds">Proposal IDs (shared with the gRPC facade: unique across members and restarts).</param>
public sealed record LeaseActorSetup(
    LessorOptions Options,
    int Shard,
    int Shards,
    ActorPath RaftPath,
    RequestIdGenerator RequestIds)
{
    /// <summary>How often (ms) expired leases are looked for: 500 ms, as etcd's lessor loop.</summary>
    public int TickIntervalMs { get; init; } = 500;

    /// <summary>Most revokes proposed per tick: this shard's share of etcd's 1,000/s at one tick per 500 ms.</summary>
    public int MaxRevokesPerTick => Math.Max(1, Options.RevokeRate * TickIntervalMs / 1000);

    /// <summary>True when lease <paramref name="id"/> belongs to this shard.</summary>
    public bool Owns(long id) => (int)((ulong)id % (ulong)Shards) == Shard;
}

/// <summary>
/// One shard of the member's lessor (etcd 3.4's <c>lease/lessor.go</c>): owns a <see cref="Lessor"/> holding the
/// leases whose ID falls in this shard, applies lease changes from the Raft log in log order, answers keep-alives and
/// time-to-live queries, and, while primary (on the leader), proposes the revoke of every expired lease through Raft.
/// </summary>
/// <remarks>
/// Time is the actor system's scheduler clock (<c>IScheduler.MonotonicClock</c>), so a test scheduler whose monotonic
/// clock follows its virtual time drives expiry (Akka's own TestScheduler does not move <c>MonotonicClock</c>; the tests
/// use tests/Actors.Tests/TestKit/VirtualClockScheduler). Each expired lease has at most one revoke proposal in flight (a short-lived child actor receives its
/// answer); after a failure it is proposed again once <see cref="LessorOptions.ExpiredRetryMs"/> has passed. The state
/// is not persisted here (the store persists lease records): after a restart the shard tells its parent, which reloads
/// the shard's leases from the MvccStoreActor (through the same channel as the applies, so none is lost or doubled)
/// and, on the leader, promotes it again, so keep-alives keep working.
/// </remarks>
public sealed class LeaseActor : ReceiveActor, IWithTimers
{
    private readonly LeaseActorSetup _setup;
    private readonly Lessor _lessor;
    private readonly HashSet<long> _revokesInFlight = new();
    private readonly Dictionary<long, List<IActorRef>> _parkedKeepAlives = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IScheduler _clock = Context.System.Scheduler;

    /// <summary>Props of one shard.</summary>
    public static Props Props(LeaseActorSetup setup) => Akka.Actor.Props.Create(() => new LeaseActor(setup));

    /// <summary>Creates the shard; use <see cref="Props(LeaseActorSetup)"/>.</summary>
    public LeaseActor(LeaseActorSetup setup)
    {
        _setup = setup;
        _lessor = new Lessor(setup.Options);
        Receive<LeaseProtocol.ApplyGrant>(grant =>
        {
            try
            {
                _lessor.Grant(grant.Id, grant.TtlSeconds, NowMs);
            }
            catch (EtcdException ex)
            {
                // The store checked the grant before applying it; a mismatch means the two views diverged.
                _log.Warning("lease grant {0:x16} not mirrored: {1}", grant.Id, ex.Message);
            }
        });
        Receive<LeaseProtocol.ApplyRevoke>(revoke =>
        {
            try
            {
                _lessor.Revoke(revoke.Id);
            }
            catch (EtcdException)
            {
                // Unknown here: nothing to forget.
            }
            AnswerParkedKeepAlives(revoke.Id);
        });
        Receive<LeaseProtocol.ApplyAttach>(attach =>
        {
            try
            {
                _lessor.Attach(attach.Id, attach.Key);
            }
            catch (EtcdException ex)
            {
                _log.Warning("key attachment to lease {0:x16} not mirrored: {1}", attach.Id, ex.Message);
            }
        });
        Receive<LeaseProtocol.ApplyDetach>(detach =>
        {
            // A block body: an expression lambda returning bool would pick Receive's "handled?" overload.
            _lessor.Detach(detach.Id, detach.Key);
        });
        Receive<LeaseProtocol.ApplyCheckpoint>(checkpoint =>
        {
            foreach (var c in checkpoint.Checkpoints)
            {
                _lessor.Checkpoint(c.ID, c.RemainingTTL, NowMs);
            }
        });
        Receive<LeaseProtocol.KeepAlive>(OnKeepAlive);
        Receive<LeaseProtocol.TimeToLive>(ttl =>
        {
            try
            {
                Sender.Tell(_lessor.TimeToLive(ttl.Id, NowMs, ttl.Keys));
            }
            catch (EtcdException ex)
            {
                Sender.Tell(new Status.Failure(ex));
            }
        });
        Receive<LeaseProtocol.List>(_ => Sender.Tell(new LeaseProtocol.LeaseIds(_lessor.Leases())));
        Receive<LeaseProtocol.Lookup>(lookup => Sender.Tell(new LeaseProtocol.LookedUp(_lessor.Lookup(lookup.Id))));
        Receive<LeaseProtocol.Tick>(_ =>
        {
            ProposeExpiredRevokes();
            ProposeDueCheckpoints();
        });
        Receive<LeaseCheckpointResponse>(_ => { });
        Receive<Status.Failure>(failure => _log.Debug("lease checkpoint proposal failed: {0}", failure.Cause.Message));
        Receive<LeaseProtocol.Promote>(promote => Promote(promote.ExtendMs));
        Receive<LeaseProtocol.Demote>(_ =>
        {
            _lessor.Demote();
            FailParkedKeepAlives(EtcdErrors.NotLeader);
        });
        Receive<LeaseProtocol.Export>(_ => Sender.Tell(new LeaseProtocol.Exported(_lessor.Export().ToList())));
        Receive<LeaseProtocol.Restore>(restore => Restore(restore.Leases, restore.Attachments));
        Receive<LeaseProtocol.RevokeProposalCompleted>(completed =>
        {
            _revokesInFlight.Remove(completed.Id);
            if (completed.Error is not null)
            {
                _log.Warning("failed to revoke lease {0:x16}: {1}", completed.Id, completed.Error.Message);
            }
            else
            {
                Metrics.EtcdMetrics.LeasesExpired.Inc();
            }
        });
    }

    /// <summary>The shard's timers (the expiry tick).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    private long NowMs => (long)_clock.MonotonicClock.TotalMilliseconds;

    /// <inheritdoc />
    protected override void PreStart() =>
        Timers.StartPeriodicTimer("tick", LeaseProtocol.Tick.Instance, TimeSpan.FromMilliseconds(_setup.TickIntervalMs));

    /// <inheritdoc />
    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason);
        // The leases are in the backend: the parent reloads this shard's share, in order with the applies.
        _log.Warning("lease shard {0} restarted after {1}; reloading its leases", _setup.Shard, reason.Message);
        Context.Parent.Tell(new LeaseProtocol.ShardRestarted(_setup.Shard));
    }

    /// <inheritdoc />
    protected override void PostStop() => FailParkedKeepAlives(EtcdErrors.NotLeader);

    private void Promote(long extendMs)
    {
        _lessor.Promote(NowMs, extendMs);
        _log.Info("lessor shard {0} promoted: {1} leases extended by {2} ms", _setup.Shard, _lessor.Count, extendMs);
    }

    private void Restore(IReadOnlyList<LeaseRecord> leases, IReadOnlyList<KeyValuePair<ByteString, long>> attachments)
    {
        var mine = leases.Where(lease => _setup.Owns(lease.Id));
        var attached = attachments.Where(attachment => _setup.Owns(attachment.Value));
        var skipped = _lessor.Restore(mine, attached);
        FailParkedKeepAlives(EtcdErrors.NotLeader);
        if (skipped > 0)
        {
            _log.Warning("lease restore skipped {0} keys attached to missing leases", skipped);
        }
    }

    private void OnKeepAlive(LeaseProtocol.KeepAlive keepAlive)
    {
        if (!_lessor.IsPrimary)
        {
            Sender.Tell(new Status.Failure(EtcdErrors.NotLeader));
            return;
        }
        var now = NowMs;
        if (_lessor.Lookup(keepAlive.Id) is null)
        {
            Sender.Tell(new LeaseProtocol.Renewed(0));
            return;
        }
        if (_lessor.IsExpired(keepAlive.Id, now))
        {
            // As etcd: an expired lease's renew waits for its revoke (answer 0) or for a demotion.
            if (!_parkedKeepAlives.TryGetValue(keepAlive.Id, out var parked))
            {
                _parkedKeepAlives[keepAlive.Id] = parked = new List<IActorRef>();
            }
            parked.Add(Sender);
            return;
        }
        if (_lessor.NeedsCheckpointClear(keepAlive.Id))
        {
            // As etcd's Renew: a renewed lease drops its checkpointed remaining TTL, so a later leader gives it the full TTL.
            ProposeCheckpoints([new LeaseCheckpoint { ID = keepAlive.Id, RemainingTTL = 0 }]);
        }
        Sender.Tell(new LeaseProtocol.Renewed(_lessor.Renew(keepAlive.Id, now)));
        Metrics.EtcdMetrics.LeasesRenewed.Inc();
    }

    /// <summary>
    /// etcd's checkpointScheduledLeases: the due checkpoints, 1,000 per <c>LeaseCheckpointRequest</c> entry, proposed
    /// through Raft (etcd's raftRequestOnce: a lost one is simply scheduled again when the next is applied or the
    /// lessor is promoted). Answers come back here and are dropped.
    /// </summary>
    private void ProposeDueCheckpoints()
    {
        const int batch = 1000;
        for (var round = 0; round < 500; round++)
        {
            var due = _lessor.DueCheckpoints(NowMs, batch);
            if (due.Count > 0)
            {
                ProposeCheckpoints(due);
            }
            if (due.Count < batch)
            {
                return;
            }
        }
    }

    private void ProposeCheckpoints(IReadOnlyList<LeaseCheckpoint> checkpoints)
    {
        var requestId = _setup.RequestIds.Next();
        var checkpoint = new LeaseCheckpointRequest();
        checkpoint.Checkpoints.AddRange(checkpoints);
        var request = new InternalRaftRequest
        {
            ID = requestId,
            Header = new RequestHeader { ID = requestId },
            LeaseCheckpoint = checkpoint,
        };
        Context.ActorSelection(_setup.RaftPath).Tell(new RaftProtocol.Propose(requestId, request.ToByteString()), Self);
    }

    private void ProposeExpiredRevokes()
    {
        foreach (var id in _lessor.Expired(NowMs, _setup.MaxRevokesPerTick))
        {
            if (!_revokesInFlight.Add(id))
            {
                continue;
            }
            var requestId = _setup.RequestIds.Next();
            var request = new InternalRaftRequest
            {
                ID = requestId,
                // Revoked as root (etcd's WithRoot), so that auth never stops an expired lease from going.
                Header = new RequestHeader { ID = requestId, Username = AuthInfo.Internal.Username, AuthRevision = AuthInfo.Internal.Revision },
                LeaseRevoke = new LeaseRevokeRequest { ID = id },
            };
            var propose = new RaftProtocol.Propose(requestId, request.ToByteString());
            Context.ActorOf(Akka.Actor.Props.Create(() => new RevokeProposal(id, _setup.RaftPath, propose)));
        }
    }

    private void AnswerParkedKeepAlives(long id)
    {
        if (_parkedKeepAlives.Remove(id, out var parked))
        {
            foreach (var replyTo in parked)
            {
                replyTo.Tell(new LeaseProtocol.Renewed(0));
            }
        }
    }

    private void FailParkedKeepAlives(EtcdException error)
    {
        foreach (var parked in _parkedKeepAlives.Values)
        {
            foreach (var replyTo in parked)
            {
                replyTo.Tell(new Status.Failure(error.Clone()));
            }
        }
        _parkedKeepAlives.Clear();
    }

    /// <summary>
    /// Proposes one expiry revoke and tells its parent how it ended: the apply's answer (a LeaseRevokeResponse) or a
    /// failure (e.g. "leader changed", "request timed out"), then stops.
    /// </summary>
    private sealed class RevokeProposal : ReceiveActor
    {
        public RevokeProposal(long leaseId, ActorPath raftPath, RaftProtocol.Propose propose)
        {
            Context.ActorSelection(raftPath).Tell(propose, Self);
            // The RaftActor answers every proposal (at worst "request timed out"); this only guards a stopped member.
            Context.SetReceiveTimeout(TimeSpan.FromMinutes(1));
            Receive<LeaseRevokeResponse>(_ => Done(leaseId, null));
            Receive<Status.Failure>(failure => Done(leaseId, failure.Cause));
            Receive<ReceiveTimeout>(_ => Done(leaseId, new TimeoutException("no answer to the lease revoke proposal")));
        }

        private void Done(long leaseId, Exception? error)
        {
            Context.Parent.Tell(new LeaseProtocol.RevokeProposalCompleted(leaseId, error));
            Context.Stop(Self);
        }
    }
}
