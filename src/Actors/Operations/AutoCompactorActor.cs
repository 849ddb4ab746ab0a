using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Operations;

/// <summary>What an <see cref="AutoCompactorActor"/> is built from.</summary>
/// <param name="Options">Mode and retention (<see cref="OperationsOptions.AutoCompactionEnabled"/> must be true).</param>
/// <param name="Status">The member's read model: the current revision, and whether this member leads.</param>
/// <param name="Raft">Where compactions are proposed (the RaftActor).</param>
/// <param name="RequestIds">Proposal IDs (unique across members and restarts).</param>
/// <param name="Logger">Where etcd's compactor lines go (<c>starting/completed/failed auto ... compaction</c>).</param>
public sealed record AutoCompactorSetup(
    OperationsOptions Options,
    ServerStatus Status,
    IActorRef Raft,
    RequestIdGenerator RequestIds,
    ILogger Logger);

/// <summary>
/// etcd 3.4's auto-compactor (etcdserver/api/v3compactor), one actor per member, driven by Akka timers on the
/// scheduler's monotonic clock (so TestKit drives it with a virtual clock). It compacts only while this member leads
/// (etcd pauses the compactor on followers), by proposing a <c>CompactionRequest</c> through the log like a client.
/// <para><b>Periodic</b> (retention <c>P</c>): every <c>min(P, 1h) / 10</c> it records the current revision, keeping
/// the last <c>P / (min(P, 1h) / 10) + 1</c>; once <c>P</c> has passed since the start (then every <c>min(P, 1h)</c>
/// since the last success) it compacts to the oldest recorded revision, i.e. the revision of about <c>P</c> ago; a
/// failure is retried at the next record.</para>
/// <para><b>Revision</b> (retention <c>R</c>): every 5 minutes (<see cref="OperationsOptions.RevisionCompactionInterval"/>)
/// it compacts to <c>current - R</c> unless that is not positive or was compacted last time.</para>
/// A compaction answered "required revision has been compacted" counts as done, as in etcd.
/// </summary>
public sealed class AutoCompactorActor : ReceiveActor, IWithTimers
{
    private const int RetryDivisor = 10;
    private static readonly TimeSpan MaxCompactInterval = TimeSpan.FromHours(1);

    private readonly AutoCompactorSetup _setup;
    private readonly OperationsOptions _options;
    private readonly ILogger _logger;
    private readonly IScheduler _clock = Context.System.Scheduler;
    private readonly List<long> _revisions = new();
    private TimeSpan _lastSuccess;
    private TimeSpan _baseInterval;
    private TimeSpan _started;
    private long _previous;
    private long _inFlight;

    /// <summary>Props of the actor.</summary>
    public static Props Props(AutoCompactorSetup setup) => Akka.Actor.Props.Create(() => new AutoCompactorActor(setup));

    /// <summary>Creates the actor; use <see cref="Props(AutoCompactorSetup)"/>.</summary>
    public AutoCompactorActor(AutoCompactorSetup setup)
    {
        _setup = setup;
        _options = setup.Options;
        _logger = setup.Logger;
        Receive<Tick>(_ =>
        {
            if (_options.AutoCompactionMode == AutoCompactionMode.Periodic)
            {
                OnPeriodicTick();
            }
            else
            {
                OnRevisionTick();
            }
        });
        Receive<CompactionResponse>(_ => Completed(null));
        Receive<Status.Failure>(failure => Completed(failure.Cause));
    }

    /// <summary>The actor's timers (the compactor's one timer).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Periodic mode: how often a revision is recorded (and a failed compaction retried): min(P, 1h) / 10.</summary>
    public static TimeSpan RetryInterval(TimeSpan period) => Min(period, MaxCompactInterval) / RetryDivisor;

    /// <summary>Periodic mode: how many recorded revisions are kept: P / <see cref="RetryInterval"/> + 1.</summary>
    public static int Retentions(TimeSpan period) => (int)(period.Ticks / RetryInterval(period).Ticks) + 1;

    private TimeSpan Now => _clock.MonotonicClock;

    /// <inheritdoc />
    protected override void PreStart()
    {
        _started = Now;
        if (_options.AutoCompactionMode == AutoCompactionMode.Periodic)
        {
            _lastSuccess = Now;
            _baseInterval = _options.AutoCompactionPeriod;
            Record();
            Timers.StartSingleTimer("tick", Tick.Instance, RetryInterval(_options.AutoCompactionPeriod));
        }
        else
        {
            Timers.StartSingleTimer("tick", Tick.Instance, _options.RevisionCompactionInterval);
        }
    }

    private void OnPeriodicTick()
    {
        var period = _options.AutoCompactionPeriod;
        if (!_setup.Status.IsLeader || Now - _lastSuccess < _baseInterval)
        {
            NextPeriodicRound();
            return;
        }
        if (_baseInterval == period)
        {
            // Waited the whole period once; from now on compact every min(P, 1h).
            _baseInterval = Min(period, MaxCompactInterval);
        }
        var revision = _revisions[0];
        EtcdLog.Write(_logger, LogLevel.Information, "starting auto periodic compaction",
            ("revision", revision), ("compact-period", period));
        Propose(revision);
    }

    private void OnRevisionTick()
    {
        var revision = _setup.Status.Revision - _options.AutoCompactionRevisions;
        if (!_setup.Status.IsLeader || revision <= 0 || revision == _previous)
        {
            Timers.StartSingleTimer("tick", Tick.Instance, _options.RevisionCompactionInterval);
            return;
        }
        EtcdLog.Write(_logger, LogLevel.Information, "starting auto revision compaction",
            ("revision", revision), ("revision-compaction-retention", _options.AutoCompactionRevisions));
        _started = Now;
        Propose(revision);
    }

    private void Propose(long revision)
    {
        _inFlight = revision;
        var id = _setup.RequestIds.Next();
        var request = new InternalRaftRequest
        {
            ID = id,
            Header = new RequestHeader { ID = id },
            Compaction = new CompactionRequest { Revision = revision },
        };
        _setup.Raft.Tell(new RaftProtocol.Propose(id, request.ToByteString()));
    }

    private void Completed(Exception? error)
    {
        var revision = _inFlight;
        var succeeded = error is null || (error is EtcdException etcd && etcd.Message == EtcdErrors.Compacted.Message);
        if (_options.AutoCompactionMode == AutoCompactionMode.Periodic)
        {
            var period = _options.AutoCompactionPeriod;
            if (succeeded)
            {
                EtcdLog.Write(_logger, LogLevel.Information, "completed auto periodic compaction",
                    ("revision", revision), ("compact-period", period), ("took", Now - _lastSuccess));
                _lastSuccess = Now;
            }
            else
            {
                EtcdLog.Write(_logger, LogLevel.Warning, "failed auto periodic compaction",
                    ("revision", revision), ("compact-period", period), ("retry-interval", RetryInterval(period)), ("error", error!.Message));
            }
            NextPeriodicRound();
            return;
        }
        if (succeeded)
        {
            _previous = revision;
            EtcdLog.Write(_logger, LogLevel.Information, "completed auto revision compaction",
                ("revision", revision), ("revision-compaction-retention", _options.AutoCompactionRevisions), ("took", Now - _started));
        }
        else
        {
            EtcdLog.Write(_logger, LogLevel.Warning, "failed auto revision compaction",
                ("revision", revision), ("revision-compaction-retention", _options.AutoCompactionRevisions),
                ("retry-interval", _options.RevisionCompactionInterval), ("error", error!.Message));
        }
        Timers.StartSingleTimer("tick", Tick.Instance, _options.RevisionCompactionInterval);
    }

    /// <summary>etcd's loop head: record the current revision (keeping the last few), then wait one retry interval.</summary>
    private void NextPeriodicRound()
    {
        Record();
        Timers.StartSingleTimer("tick", Tick.Instance, RetryInterval(_options.AutoCompactionPeriod));
    }

    private void Record()
    {
        _revisions.Add(_setup.Status.Revision);
        if (_revisions.Count > Retentions(_options.AutoCompactionPeriod))
        {
            _revisions.RemoveAt(0); // _revisions[0] is always the revision of one period ago
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>The compactor's timer.</summary>
    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}
