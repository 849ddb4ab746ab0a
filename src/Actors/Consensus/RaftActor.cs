using Akka.Actor;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Snap;
using Akka.Event;
using Raftpb;

namespace Akka.Etcd.Actors.Consensus;

/// <summary>What a <see cref="RaftActor"/> is built from (the MemberActor fills it at start-up).</summary>
/// <param name="Node">The Raft core over <paramref name="Storage"/>.</param>
/// <param name="Storage">The in-memory Raft log, filled from the WAL and the newest snapshot file.</param>
/// <param name="Status">The read model this actor publishes <see cref="RaftView"/> to.</param>
/// <param name="Options">Member options (snapshot count, catch-up entries, heartbeat and election times in ms).</param>
/// <param name="Snapshots">Raft snapshot files (<c>member/snap/*.snap</c>).</param>
/// <param name="Transport">The peer transport (null for a member without peers).</param>
/// <param name="Journal">The Raft log's journal plugin (Akka.Persistence), with the log's persistence id and sequence numbers.</param>
/// <param name="Store">The MvccStoreActor.</param>
/// <param name="Lessor">The LessorActor (told Promote/Demote on leader change).</param>
public sealed record RaftActorSetup(
    RawNode Node,
    MemoryRaftLogStorage Storage,
    ServerStatus Status,
    ServerOptions Options,
    SnapshotFiles Snapshots,
    IRaftTransport? Transport,
    RaftLogJournal Journal,
    IActorRef Store,
    IActorRef Lessor);

/// <summary>
/// Drives the pure Raft core (<see cref="RawNode"/>) for one member, as etcd's raftNode does. Every burst of input
/// (proposals, peer messages, ticks) is stepped into the core and turned into at most one <see cref="Ready"/> per
/// round: the first input of a burst sends this actor a <see cref="RaftProtocol.ProcessReady"/>, which runs once the
/// rest of the burst has been stepped. A round persists HardState and entries through the Akka.Persistence journal
/// plugin (one WriteMessages, one fsync for the whole burst) before anything is acknowledged, hands committed entries to the MvccStoreActor, answers
/// ReadIndex rounds, and every <see cref="ServerOptions.SnapshotCount"/> applied entries takes a Raft snapshot that
/// releases old WAL segments.
/// </summary>
/// <remarks>
/// While it waits for the journal (or for the store to install a snapshot's backend or commit before a snapshot)
/// the actor steps nothing: every other message is stashed until the answer arrives. That is what makes it safe for
/// a leader to send its MsgApp before its own fsync (Raft thesis 10.2.1): every MsgAppResp that could commit the
/// entries is stepped after they are durable here too.
/// The proposers' replies are kept here by request ID (etcd's wait registry) and handed to the store with the
/// committed entries that carry those IDs; a waiter not answered within the request timeout gets "request timed
/// out". A failure of this actor stops the member (its supervisor decides; see MemberActor).
/// </remarks>
public sealed partial class RaftActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    private readonly RawNode _node;
    private readonly MemoryRaftLogStorage _storage;
    private readonly ServerStatus _status;
    private readonly ServerOptions _options;
    private readonly SnapshotFiles _snapshots;
    private readonly IRaftTransport? _transport;
    private readonly RaftLogJournal _journal;
    private readonly IActorRef _store;
    private readonly IActorRef _lessor;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly long _requestTimeoutTicks;
    private ConfState _confState;
    private long _ticks;
    private TimeSpan? _lastTickAt;
    private ulong _appliedIndex;
    /// <summary>The index of the last committed entry handed to the store (applied, or queued in the store's mailbox).</summary>
    private ulong _handedIndex;
    private ulong _snapshotIndex;
    private bool _processQueued;

    /// <summary>Props of the actor.</summary>
    public static Props Props(RaftActorSetup setup) => Akka.Actor.Props.Create(() => new RaftActor(setup));

    /// <summary>Creates the actor; use <see cref="Props(RaftActorSetup)"/>.</summary>
    public RaftActor(RaftActorSetup setup)
    {
        _node = setup.Node;
        _storage = setup.Storage;
        _status = setup.Status;
        _options = setup.Options;
        _snapshots = setup.Snapshots;
        _transport = setup.Transport;
        _journal = setup.Journal;
        _store = setup.Store;
        _lessor = setup.Lessor;
        _snapshotIndex = _storage.Snapshot().Metadata?.Index ?? 0;
        _appliedIndex = _status.AppliedIndex;
        _handedIndex = _appliedIndex;
        _confState = _storage.InitialState().ConfState;
        _readIds = new RequestIdGenerator(_status.MemberId);
        var tickMs = Math.Max(1, _options.HeartbeatIntervalMs);
        _readIndexRetryTicks = Math.Max(1, (ReadIndexRetryMs + tickMs - 1) / tickMs);
        _requestTimeoutTicks = Math.Max(1, ((long)RequestTimeout(_options).TotalMilliseconds + tickMs - 1) / tickMs);
        Active();
    }

    /// <summary>The actor's timers (the Raft tick).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The stash holding input that arrives while a round waits for the journal or the store.</summary>
    public IStash Stash { get; set; } = null!;

    /// <summary>
    /// etcd's request timeout (<c>ReqTimeout()</c>): 5 s + 2 election timeouts. A proposal not applied within it is
    /// answered "etcdserver: request timed out".
    /// </summary>
    public static TimeSpan RequestTimeout(ServerOptions options) => TimeSpan.FromMilliseconds(5000 + 2L * options.ElectionTimeoutMs);

    /// <inheritdoc />
    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("tick", RaftProtocol.Tick.Instance, TimeSpan.FromMilliseconds(Math.Max(1, _options.HeartbeatIntervalMs)));
        PublishStatus();
        // A restarted member has committed entries to (re-)apply, and a fresh single-voter cluster elects itself.
        ScheduleReady();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        FailAllWaiters(EtcdErrors.Stopped);
        FailPendingReads(EtcdErrors.Stopped);
    }

    /// <summary>The normal behaviour: step input, schedule a round.</summary>
    private void Active()
    {
        Receive<RaftProtocol.Propose>(OnPropose);
        Receive<RaftProtocol.Step>(step =>
        {
            try
            {
                _node.Step(step.Message);
            }
            catch (ArgumentException ex)
            {
                // A local-only message type from the network: drop it rather than stop the member.
                _log.Warning("dropped {0} from {1:x16}: {2}", step.Message.Type, step.Message.From, ex.Message);
            }
            ScheduleReady();
        });
        Receive<RaftProtocol.LinearizableRead>(read =>
        {
            _readsWaitingForRound.Add(new PendingRead(read.Query, Sender));
            ScheduleReady();
        });
        Receive<RaftProtocol.ProcessReady>(_ =>
        {
            _processQueued = false;
            RunRounds();
        });
        Receive<RaftProtocol.Tick>(_ =>
        {
            if (IsBurstTick())
            {
                return;
            }
            _ticks++;
            _node.Tick();
            RetryOverdueReads();
            ExpireWaiters();
            ScheduleReady();
        });
        Receive<RaftProtocol.Applied>(applied =>
        {
            _appliedIndex = Math.Max(_appliedIndex, applied.Index);
            MaybeSnapshot();
        });
        Receive<RaftProtocol.ProposeConfChange>(OnProposeConfChange);
        Receive<RaftProtocol.SnapshotArrived>(arrived =>
        {
            KeepReceivedSnapshot(arrived.Message, arrived.DbPath);
            _node.Step(arrived.Message);
            ScheduleReady();
        });
        Receive<RaftProtocol.TransferLeadership>(transfer =>
        {
            _node.TransferLeader(transfer.Transferee);
            ScheduleReady();
        });
        Receive<RaftProtocol.Unreachable>(unreachable => _node.ReportUnreachable(unreachable.PeerId));
        Receive<RaftProtocol.SnapshotStatus>(snapshotStatus =>
        {
            _node.ReportSnapshot(snapshotStatus.PeerId, snapshotStatus.Succeeded);
            ScheduleReady();
        });
        Receive<RaftProtocol.GetStatus>(_ => Sender.Tell(_node.Status));
        ReceiveJournalAnswers();
    }

    /// <summary>
    /// True for a tick that arrives less than half a heartbeat interval after the last one counted: one of the ticks
    /// Akka's scheduler fires in a burst when it catches up after a stall of its thread or of the whole process (a GC
    /// pause, CPU starvation). Counted, a burst would run a follower's election timeout out before it could step the
    /// heartbeats waiting in its mailbox, and make a leader's check quorum find no follower active: an election after
    /// every long enough pause. etcd's Go ticker drops the ticks a busy receiver missed; this does the same. Reads the
    /// scheduler's monotonic clock, so virtual time in tests spaces ticks as real time does.
    /// </summary>
    private bool IsBurstTick()
    {
        var now = Context.System.Scheduler.MonotonicClock;
        if (_lastTickAt is { } last && now - last < TimeSpan.FromMilliseconds(Math.Max(1, _options.HeartbeatIntervalMs) / 2.0))
        {
            return true;
        }
        _lastTickAt = now;
        return false;
    }

    /// <summary>Queues one <see cref="RaftProtocol.ProcessReady"/> behind the input already in the mailbox.</summary>
    private void ScheduleReady()
    {
        if (!_processQueued)
        {
            _processQueued = true;
            Self.Tell(RaftProtocol.ProcessReady.Instance);
        }
    }

    private void OnPropose(RaftProtocol.Propose propose)
    {
        try
        {
            _node.Propose(propose.Data);
        }
        catch (ProposalDroppedException dropped)
        {
            Sender.Tell(new Status.Failure(DroppedError(dropped)));
            return;
        }
        _waiters[propose.Id] = new Waiter(Sender, _ticks + _requestTimeoutTicks);
        ScheduleReady();
    }

    private void OnProposeConfChange(RaftProtocol.ProposeConfChange propose)
    {
        try
        {
            _node.ProposeConfChange(propose.Change);
        }
        catch (ProposalDroppedException dropped)
        {
            Sender.Tell(new Status.Failure(DroppedError(dropped)));
            return;
        }
        _waiters[propose.Change.ID] = new Waiter(Sender, _ticks + _requestTimeoutTicks);
        ScheduleReady();
    }

    private EtcdException DroppedError(ProposalDroppedException dropped) =>
        dropped.UncommittedLimit ? EtcdErrors.RequestTooManyRequests
        : _status.HasLeader ? EtcdErrors.LeaderChanged : EtcdErrors.NoLeader;

    /// <summary>
    /// A member that is the only voter elects itself at once instead of waiting an election timeout (etcd
    /// fast-forwards its election ticks on a fresh start for the same reason).
    /// </summary>
    private void CampaignIfSoleVoter()
    {
        if (_confState.Voters.Count == 1 && _confState.Voters[0] == _status.MemberId
            && _confState.Learners.Count == 0 && _node.Status.State == RaftState.Follower)
        {
            _node.Campaign();
        }
    }

    private void PublishStatus()
    {
        var status = _node.Status;
        _status.Publish(new RaftView(status.Term, status.Lead, status.Commit, _storage.LastIndex()));
    }

    /// <summary>A proposer waiting for its entry to be applied, and the tick after which it is told "request timed out".</summary>
    private readonly record struct Waiter(IActorRef ReplyTo, long DeadlineTick);

    private readonly Dictionary<ulong, Waiter> _waiters = new();

    private void ExpireWaiters()
    {
        if (_waiters.Count == 0)
        {
            return;
        }
        List<ulong>? expired = null;
        foreach (var (id, waiter) in _waiters)
        {
            if (waiter.DeadlineTick <= _ticks)
            {
                (expired ??= new List<ulong>()).Add(id);
            }
        }
        if (expired is null)
        {
            return;
        }
        foreach (var id in expired)
        {
            if (_waiters.Remove(id, out var waiter))
            {
                waiter.ReplyTo.Tell(new Status.Failure(EtcdErrors.Timeout));
            }
        }
    }

    private void FailAllWaiters(EtcdException error)
    {
        foreach (var waiter in _waiters.Values)
        {
            waiter.ReplyTo.Tell(new Status.Failure(error.Clone()));
        }
        _waiters.Clear();
    }
}
