using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Operations;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Actors.Watch;
using Akka.Event;

namespace Akka.Etcd.Actors.Supervision;

/// <summary>What a <see cref="MemberActor"/> is built from.</summary>
/// <param name="Opened">The opened data dir (Raft log journal, in-memory Raft log, store, leases, membership, Raft core).</param>
/// <param name="Transport">The peer transport (null for a member without peers).</param>
/// <param name="RequestIds">Proposal ID source shared with the member's gateway.</param>
/// <param name="Exit">Completed once, when the member's actors have ended, with why (the process exits non-zero on a fatal one).</param>
/// <param name="PeerHashKV">How the periodic corruption check asks the other members for their HashKV (the same
/// instance as <see cref="LocalMember.PeerHashKV"/>).</param>
public sealed record MemberActorSetup(OpenedMember Opened, IRaftTransport? Transport, RequestIdGenerator RequestIds, TaskCompletionSource<MemberExit> Exit,
    IPeerHashKV PeerHashKV);

/// <summary>
/// The root of one member's actors and their supervisor: it creates the LessorActor (<c>lessor</c>), the
/// MvccStoreActor (<c>store</c>), the RaftActor (<c>raft</c>) and the parent of the WatcherActors (<c>watch</c>), and
/// decides what a failure of each means. The Raft log's journal is an Akka.Persistence plugin (a system actor shared by
/// the ActorSystem, see RaftLogPlugins): the RaftActor writes through it, and the member closes its log there last.
/// </summary>
/// <remarks>
/// <para>
/// Supervision, per actor: a failure of the journal (a write the journal plugin failed or rejected: the WAL cannot
/// be written or fsynced, which fails the RaftActor), of Raft, or of the store (an apply or backend commit failed) is
/// fatal: the member stops every actor, logs the cause at fatal level and
/// completes <see cref="MemberActorSetup.Exit"/> as fatal, so the process exits non-zero, as etcd panics. A member
/// never goes on serving with a log, a store or a journal it cannot trust (a store that stopped applying would
/// leave the leader committing entries nobody applies, and every put would time out). The lessor is restarted and
/// reloads its leases from the store (keep-alives fail for a moment, no lease is lost); the watch parent is
/// restarted (open watch streams end with an error and clients re-watch).
/// </para>
/// <para>
/// Stop: <see cref="MemberProtocol.Stop"/> ends the actors in etcd's order: Raft first (waiters are answered
/// "server stopped"), then the store (a final durable backend commit), then the lessor and the watch streams, and
/// last the member's log is closed in the journal (the WAL journal releases its files and lock); a member removed from
/// the cluster stops the same way on its own.
/// </para>
/// </remarks>
public sealed partial class MemberActor : ReceiveActor, IWithTimers
{
    private readonly MemberActorSetup _setup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RaftLogJournal _journal;
    private readonly IActorRef _lessor;
    private readonly IActorRef _store;
    private readonly IActorRef _raft;
    private readonly IActorRef _watch;
    private readonly MemberRefs _refs;
    private readonly HashSet<IActorRef> _fatalOnFailure;
    private readonly HashSet<IActorRef> _alive;
    private readonly List<IActorRef> _stopRequesters = new();
    private MemberExit? _exit;
    private Exception? _lastFailure;
    private bool _closingJournal;

    /// <summary>How long the stop waits for the journal to close the member's log.</summary>
    private static readonly TimeSpan JournalCloseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Self-sent when the journal did not answer the close in time: the member stops anyway.</summary>
    private sealed record JournalCloseOverdue
    {
        public static readonly JournalCloseOverdue Instance = new();
    }

    /// <summary>The actor's timers (the deadline of the journal's close).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the member.</summary>
    public static Props Props(MemberActorSetup setup) => Akka.Actor.Props.Create(() => new MemberActor(setup));

    /// <summary>Creates the member's actors; use <see cref="Props(MemberActorSetup)"/>.</summary>
    public MemberActor(MemberActorSetup setup)
    {
        _setup = setup;
        var opened = setup.Opened;
        var options = opened.Options;
        _journal = opened.Journal;
        var minLeaseTtl = LessorOptions.MinTtlFor(options.ElectionTicks, options.HeartbeatIntervalMs);
        _lessor = Context.ActorOf(LessorActor.Props(new LessorActorSetup(
            options.LessorShards, minLeaseTtl, opened.Status, Self.Path / "raft", Self.Path / "store", setup.RequestIds,
            options.ElectionTimeoutMs)
        {
            CheckpointIntervalMs = options.Operations.LeaseCheckpoint ? (long)options.Operations.LeaseCheckpointInterval.TotalMilliseconds : 0,
        }), "lessor");
        // Before the store exists, so no apply can overtake it.
        _lessor.Tell(new LeaseProtocol.Restore(opened.Leases.Records.ToList(), opened.Leases.Attachments.ToList()));
        _store = Context.ActorOf(MvccStoreActor.Props(new MvccStoreActorSetup(
            opened.Store, opened.Status, opened.Leases, opened.Membership, minLeaseTtl, _lessor, opened.Reopen, opened.BackendPath)
        {
            PersistLeaseCheckpoints = options.Operations.LeaseCheckpointPersist,
            Auth = opened.Auth,
        }), "store");
        _raft = Context.ActorOf(RaftActor.Props(new RaftActorSetup(
            opened.Node, opened.Storage, opened.Status, options, opened.Snapshots, setup.Transport, _journal, _store, _lessor)), "raft");
        _watch = Context.ActorOf(WatchStreamsActor.Props(_store, opened.Status, new WatchStreamOptions()), "watch");
        StartOperations();
        _refs = new MemberRefs(_raft, _store, _lessor, _watch) { Member = Self, Journal = _journal.Journal };
        // Its own gateway over the same actors: peer requests never propose through it, so no admission state is split.
        var gateway = new MemberGateway(opened, _refs, setup.Transport, setup.RequestIds, setup.Exit.Task, CancellationToken.None, opened.Loggers);
        _refs = _refs with { PeerRequests = Context.ActorOf(PeerRequestsActor.Props(gateway), "peer-requests") };
        _fatalOnFailure = new HashSet<IActorRef> { _store, _raft };
        _alive = new HashSet<IActorRef> { _lessor, _store, _raft, _watch };
        foreach (var child in _alive)
        {
            Context.Watch(child);
        }
        // The journal plugin is not a child, but the member cannot go on without it either.
        Context.Watch(_journal.Journal);

        Receive<MemberProtocol.GetRefs>(_ => Sender.Tell(_refs));
        Receive<MemberProtocol.RemovedFromCluster>(_ =>
        {
            _log.Warning("the member has been permanently removed from the cluster");
            BeginStop(new MemberExit("the member has been permanently removed from the cluster", Fatal: false));
        });
        Receive<MemberProtocol.Stop>(_ =>
        {
            _stopRequesters.Add(Sender);
            BeginStop(new MemberExit("stopped", Fatal: false));
        });
        Receive<Terminated>(OnTerminated);
        Receive<WalJournal.Closed>(_ => Context.Stop(Self));
        Receive<JournalCloseOverdue>(_ =>
        {
            _log.Warning("the journal did not close the Raft log within {0}; stopping anyway", JournalCloseTimeout);
            Context.Stop(Self);
        });
    }

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new PerChildStrategy(this);

    /// <inheritdoc />
    protected override void PostStop()
    {
        _setup.Exit.TrySetResult(_exit ?? new MemberExit("stopped", Fatal: false));
        foreach (var requester in _stopRequesters)
        {
            requester.Tell(MemberProtocol.Stopped.Instance);
        }
    }

    private void OnTerminated(Terminated terminated)
    {
        var child = terminated.ActorRef;
        if (child.Equals(_journal.Journal))
        {
            if (_exit is null)
            {
                _log.Error("the Raft log journal {0} stopped; the member stops", _journal.PluginId);
                BeginStop(new MemberExit($"the Raft log journal ({_journal.PluginId}) stopped", Fatal: true));
            }
            else if (_closingJournal)
            {
                Context.Stop(Self);
            }
            return;
        }
        _alive.Remove(child);
        if (_exit is null)
        {
            // An actor the member cannot serve without has gone (stopped by the strategy after a failure).
            var name = child.Path.Name;
            var cause = _lastFailure;
            _log.Error(cause, "{0} actor failed; the member stops: {1}", name, cause?.Message ?? "stopped");
            BeginStop(new MemberExit($"the {name} actor failed: {cause?.Message ?? "stopped"}", Fatal: true, cause));
        }
        ContinueStop();
    }

    private void BeginStop(MemberExit exit)
    {
        if (_exit is not null)
        {
            return;
        }
        _exit = exit;
        Context.Stop(_raft);
        ContinueStop();
    }

    /// <summary>Stops the next actor once the ones before it in etcd's order have ended; the member last.</summary>
    private void ContinueStop()
    {
        if (_exit is null || _alive.Contains(_raft))
        {
            return;
        }
        if (_alive.Contains(_store))
        {
            Context.Stop(_store);
            return;
        }
        foreach (var rest in _alive)
        {
            Context.Stop(rest);
        }
        if (_alive.Count == 0 && !_closingJournal)
        {
            _closingJournal = true;
            if (_journal.KeepsLogOpen)
            {
                _journal.Journal.Tell(new WalJournal.Close(_journal.PersistenceId));
                Timers.StartSingleTimer("journal-close", JournalCloseOverdue.Instance, JournalCloseTimeout);
            }
            else
            {
                Context.Stop(Self);
            }
        }
    }

    /// <summary>
    /// Stop for Raft and the store (fatal: the member stops, see the type's remarks); restart for the lessor and the
    /// watch parent.
    /// </summary>
    private sealed class PerChildStrategy(MemberActor member) : OneForOneStrategy(maxNrOfRetries: 10, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: _ => Directive.Restart)
    {
        protected override Directive Handle(IActorRef child, Exception exception)
        {
            if (member._fatalOnFailure.Contains(child))
            {
                member._lastFailure = exception;
                return Directive.Stop;
            }
            return Directive.Restart;
        }
    }
}
