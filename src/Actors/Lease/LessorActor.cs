using Akka.Actor;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Event;

namespace Akka.Etcd.Actors.Lease;

/// <summary>What a <see cref="LessorActor"/> is built from.</summary>
/// <param name="Shards">Number of <see cref="LeaseActor"/> children; lease <c>id</c> lives in shard <c>(ulong)id % Shards</c>.</param>
/// <param name="MinTtlSeconds">etcd's minimum lease TTL (seconds).</param>
/// <param name="Status">The member's read model.</param>
/// <param name="RaftPath">The RaftActor's path (expiry revokes are proposed there).</param>
/// <param name="StorePath">The MvccStoreActor's path (a restarted shard reloads from it).</param>
/// <param name="RequestIds">Proposal ID source shared with the gRPC facade.</param>
/// <param name="ElectionTimeoutMs">Extension given to every lease on promotion (ms).</param>
public sealed record LessorActorSetup(
    int Shards,
    long MinTtlSeconds,
    ServerStatus Status,
    ActorPath RaftPath,
    ActorPath StorePath,
    RequestIdGenerator RequestIds,
    long ElectionTimeoutMs)
{
    /// <summary>How often (ms) each shard looks for expired leases (etcd: 500 ms).</summary>
    public int TickIntervalMs { get; init; } = 500;

    /// <summary>Lease checkpoint interval in ms (<see cref="LessorOptions.CheckpointIntervalMs"/>); 0 = checkpointing off.</summary>
    public long CheckpointIntervalMs { get; init; }
}

/// <summary>
/// The member's lessor: a parent that owns its leases through <see cref="LessorActorSetup.Shards"/>
/// <see cref="LeaseActor"/> children, each holding the leases whose ID falls in it. Messages about one lease go to its
/// shard (keep-alive and time-to-live answers come straight from the shard); Promote, Demote and Restore go to every
/// shard; List and Export gather the shards' answers. A shard that fails is restarted and its leases are reloaded from
/// the store (a lease fault never stops the member; the keys and records are safe in the backend). The store tells
/// this actor (never a shard directly) about every lease change, so a reload and the applies stay in one order. Why shards and not an
/// actor per lease, and how many: docs/architecture.md, "Leases".
/// </summary>
public sealed class LessorActor : ReceiveActor
{
    private readonly IActorRef[] _shards;
    private readonly HashSet<int> _reloading = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Props of the lessor.</summary>
    public static Props Props(LessorActorSetup setup) => Akka.Actor.Props.Create(() => new LessorActor(setup));

    /// <summary>Creates the lessor and its shards; use <see cref="Props(LessorActorSetup)"/>.</summary>
    public LessorActor(LessorActorSetup setup)
    {
        if (setup.Shards < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(setup), setup.Shards, "a lessor needs at least one shard");
        }
        _shards = new IActorRef[setup.Shards];
        var rate = Math.Max(1, LessorOptions.RevokeRatePerSecond / setup.Shards);
        for (var i = 0; i < setup.Shards; i++)
        {
            var shard = new LeaseActorSetup(
                new LessorOptions { MinTtlSeconds = setup.MinTtlSeconds, RevokeRate = rate, CheckpointIntervalMs = setup.CheckpointIntervalMs },
                i, setup.Shards, setup.RaftPath, setup.RequestIds)
            {
                TickIntervalMs = setup.TickIntervalMs,
            };
            _shards[i] = Context.ActorOf(LeaseActor.Props(shard), "shard-" + i);
        }

        Receive<LeaseProtocol.ApplyGrant>(m => ShardOf(m.Id).Forward(m));
        Receive<LeaseProtocol.ApplyRevoke>(m => ShardOf(m.Id).Forward(m));
        Receive<LeaseProtocol.ApplyAttach>(m => ShardOf(m.Id).Forward(m));
        Receive<LeaseProtocol.ApplyDetach>(m => ShardOf(m.Id).Forward(m));
        Receive<LeaseProtocol.KeepAlive>(m => ShardOf(m.Id).Forward(m));
        Receive<LeaseProtocol.TimeToLive>(m => ShardOf(m.Id).Forward(m));
        Receive<LeaseProtocol.Lookup>(m => ShardOf(m.Id).Forward(m));
        Receive<LeaseProtocol.ApplyCheckpoint>(m =>
        {
            foreach (var group in m.Checkpoints.GroupBy(c => c.ID))
            {
                ShardOf(group.Key).Tell(new LeaseProtocol.ApplyCheckpoint(group.ToList()));
            }
        });
        Receive<LeaseProtocol.Promote>(Broadcast);
        Receive<LeaseProtocol.Demote>(Broadcast);
        Receive<LeaseProtocol.Restore>(Broadcast);
        Receive<LeaseProtocol.ShardRestarted>(restarted =>
        {
            // Asked through the store's own queue and answered to this actor, the reload is ordered with the
            // apply messages the store sends here: nothing applied before it is missing, nothing after it is lost.
            _reloading.Add(restarted.Shard);
            Context.ActorSelection(setup.StorePath).Tell(new StoreProtocol.RunQuery(0, StoreProtocol.LoadLeases.Instance));
        });
        Receive<StoreProtocol.LeasesLoaded>(loaded =>
        {
            var restore = new LeaseProtocol.Restore(loaded.Leases, loaded.Attachments);
            foreach (var shard in _reloading)
            {
                _shards[shard].Tell(restore);
                if (setup.Status.IsLeader)
                {
                    _shards[shard].Tell(new LeaseProtocol.Promote(setup.ElectionTimeoutMs));
                }
            }
            _reloading.Clear();
        });
        Receive<LeaseProtocol.List>(m => Gather(m, static answers =>
            new LeaseProtocol.LeaseIds(answers.Cast<LeaseProtocol.LeaseIds>().SelectMany(a => a.Ids).Order().ToList())));
        Receive<LeaseProtocol.Export>(m => Gather(m, static answers =>
            new LeaseProtocol.Exported(answers.Cast<LeaseProtocol.Exported>().SelectMany(a => a.Leases).OrderBy(l => l.Id).ToList())));
    }

    /// <inheritdoc />
    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason);
        // Restarted by the member: the new shards are empty until every one is reloaded from the store.
        for (var i = 0; i < _shards.Length; i++)
        {
            Self.Tell(new LeaseProtocol.ShardRestarted(i));
        }
    }

    /// <summary>Shards are restarted on failure (they reload from the store); anything else stops the shard.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        localOnlyDecider: ex =>
        {
            _log.Error(ex, "lease shard failed; restarting it from the backend");
            return Directive.Restart;
        });

    private IActorRef ShardOf(long id) => _shards[(int)((ulong)id % (ulong)_shards.Length)];

    private void Broadcast(object message)
    {
        foreach (var shard in _shards)
        {
            shard.Tell(message);
        }
    }

    private void Gather(object question, Func<IReadOnlyList<object>, object> combine) =>
        Context.ActorOf(Akka.Actor.Props.Create(() => new Gathering(_shards, question, combine, Sender)));

    /// <summary>Asks every shard one question and answers the asker with the combined answers, then stops.</summary>
    private sealed class Gathering : ReceiveActor
    {
        private readonly List<object> _answers = new();

        public Gathering(IReadOnlyList<IActorRef> shards, object question, Func<IReadOnlyList<object>, object> combine, IActorRef replyTo)
        {
            foreach (var shard in shards)
            {
                shard.Tell(question);
            }
            Context.SetReceiveTimeout(TimeSpan.FromSeconds(30));
            Receive<ReceiveTimeout>(_ =>
            {
                replyTo.Tell(new Status.Failure(new TimeoutException("a lease shard did not answer")));
                Context.Stop(Self);
            });
            ReceiveAny(answer =>
            {
                _answers.Add(answer);
                if (_answers.Count == shards.Count)
                {
                    replyTo.Tell(combine(_answers));
                    Context.Stop(Self);
                }
            });
        }
    }
}
