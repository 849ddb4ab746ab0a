using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Operations;

/// <summary>What a <see cref="CorruptionCheckActor"/> is built from.</summary>
/// <param name="Interval">Time between checks (<c>--experimental-corrupt-check-time</c>, &gt; 0).</param>
/// <param name="Status">The member's read model (is this member the leader).</param>
/// <param name="Store">The MvccStoreActor (local hashes).</param>
/// <param name="Raft">The RaftActor (the linearizable hash and the CORRUPT alarm proposal).</param>
/// <param name="Peers">How the other members are asked for their hashes.</param>
/// <param name="RequestIds">Proposal IDs.</param>
/// <param name="Logger">Where etcd's corruption check lines go.</param>
public sealed record CorruptionCheckSetup(
    TimeSpan Interval,
    ServerStatus Status,
    IActorRef Store,
    IActorRef Raft,
    IPeerHashKV Peers,
    RequestIdGenerator RequestIds,
    ILogger Logger)
{
    /// <summary>How long one check may take before it is given up (etcd bounds each peer call by the request timeout).</summary>
    public TimeSpan CheckTimeout { get; init; } = TimeSpan.FromSeconds(7);
}

/// <summary>
/// etcd 3.4's periodic corruption check (etcdserver/corrupt.go <c>monitorKVHash</c> and <c>checkHashKV</c>) on an Akka
/// timer: every interval, on the leader only, it hashes the local keyspace (h1 at revision r1), asks every peer for its
/// HashKV at r1 (<see cref="IPeerHashKV"/>), hashes again after a linearizable read (h2, r2), and raises the CORRUPT alarm
/// through the log (member ID 0, as etcd 3.4.23) when the local hashes differ at one revision, a follower is ahead of the
/// leader in revision or compact revision, or a follower with the leader's compact revision has another hash. One check
/// runs at a time; a failed step is logged ("failed to check hash KV") and the next interval tries again.
/// </summary>
public sealed class CorruptionCheckActor : ReceiveActor, IWithTimers
{
    private readonly CorruptionCheckSetup _setup;
    private readonly ILogger _logger;
    private int _check;
    private HashKVResponse? _first;
    private IReadOnlyList<PeerHashKV>? _peers;
    private CancellationTokenSource? _peerCall;

    /// <summary>Props of the actor.</summary>
    public static Props Props(CorruptionCheckSetup setup) => Akka.Actor.Props.Create(() => new CorruptionCheckActor(setup));

    /// <summary>Creates the actor; use <see cref="Props(CorruptionCheckSetup)"/>.</summary>
    public CorruptionCheckActor(CorruptionCheckSetup setup)
    {
        _setup = setup;
        _logger = setup.Logger;
        Idle();
    }

    /// <summary>The actor's timers (the check interval and a check's deadline).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        EtcdLog.Write(_logger, LogLevel.Information, "enabled corruption checking",
            ("local-member-id", _setup.Status.MemberId.ToString("x16")), ("interval", _setup.Interval));
        Timers.StartSingleTimer("check", Check.Instance, _setup.Interval);
    }

    /// <inheritdoc />
    protected override void PostStop() => _peerCall?.Cancel();

    private void Idle()
    {
        Receive<Check>(_ =>
        {
            if (!_setup.Status.IsLeader)
            {
                Timers.StartSingleTimer("check", Check.Instance, _setup.Interval);
                return;
            }
            _check++;
            _first = null;
            _peers = null;
            Timers.StartSingleTimer("deadline", new Deadline(_check), _setup.CheckTimeout);
            _setup.Store.Tell(new StoreProtocol.RunQuery(0, new StoreProtocol.HashKV(new HashKVRequest())));
            Become(Checking);
        });
        IgnoreStaleAnswers();
    }

    private void Checking()
    {
        Receive<HashKVResponse>(hash =>
        {
            if (_first is null)
            {
                _first = hash;
                var revision = hash.Header.Revision;
                var check = _check;
                _peerCall = new CancellationTokenSource(_setup.CheckTimeout);
                _setup.Peers.HashKVOfPeersAsync(revision, _setup.CheckTimeout, _peerCall.Token)
                    .PipeTo(Self, success: peers => new PeersAnswered(check, peers), failure: ex => new Failed(check, ex));
                return;
            }
            Compare(_first, hash, _peers!);
            Done();
        });
        Receive<PeersAnswered>(answered =>
        {
            if (answered.Check != _check)
            {
                return;
            }
            _peers = answered.Peers;
            _setup.Raft.Tell(new RaftProtocol.LinearizableRead(new StoreProtocol.HashKV(new HashKVRequest())));
        });
        Receive<Failed>(failed =>
        {
            if (failed.Check == _check)
            {
                Fail(failed.Error);
            }
        });
        Receive<Status.Failure>(failure => Fail(failure.Cause));
        Receive<Deadline>(deadline =>
        {
            if (deadline.Check == _check)
            {
                Fail(new TimeoutException("the corruption check took longer than " + _setup.CheckTimeout));
            }
        });
        Receive<Check>(_ => { }); // a check is running; the next one is scheduled when it ends
        IgnoreStaleAnswers();
    }

    private void IgnoreStaleAnswers()
    {
        Receive<AlarmResponse>(_ => { });
        Receive<PeersAnswered>(_ => { });
        Receive<Failed>(_ => { });
        Receive<Deadline>(_ => { });
        Receive<Status.Failure>(_ => { });
    }

    private void Fail(Exception error)
    {
        EtcdLog.Write(_logger, LogLevel.Warning, "failed to check hash KV", ("error", error.Message));
        Done();
    }

    private void Done()
    {
        _peerCall?.Dispose();
        _peerCall = null;
        Timers.Cancel("deadline");
        _check++; // answers of this check that are still on their way are stale now
        Become(Idle);
        Timers.StartSingleTimer("check", Check.Instance, _setup.Interval);
    }

    /// <summary>etcd's checkHashKV comparison; raises CORRUPT (once per check) on any mismatch.</summary>
    private void Compare(HashKVResponse first, HashKVResponse second, IReadOnlyList<PeerHashKV> peers)
    {
        var alarmed = false;
        void Mismatch()
        {
            if (!alarmed)
            {
                alarmed = true;
                RaiseCorrupt();
            }
        }

        long rev = first.Header.Revision, rev2 = second.Header.Revision;
        long crev = first.CompactRevision, crev2 = second.CompactRevision;
        if (second.Hash != first.Hash && rev2 == rev && crev == crev2)
        {
            EtcdLog.Write(_logger, LogLevel.Warning, "found hash mismatch",
                ("revision-1", rev), ("compact-revision-1", crev), ("hash-1", first.Hash),
                ("revision-2", rev2), ("compact-revision-2", crev2), ("hash-2", second.Hash));
            Mismatch();
        }
        var checkedCount = 0;
        foreach (var peer in peers)
        {
            if (peer.Response is not { } response)
            {
                continue;
            }
            checkedCount++;
            var peerId = peer.MemberId.ToString("x16");
            if (response.Header.Revision > rev2)
            {
                EtcdLog.Write(_logger, LogLevel.Warning, "revision from follower must be less than or equal to leader's",
                    ("leader-revision", rev2), ("follower-revision", response.Header.Revision), ("follower-peer-id", peerId));
                Mismatch();
            }
            if (response.CompactRevision > crev2)
            {
                EtcdLog.Write(_logger, LogLevel.Warning, "compact revision from follower must be less than or equal to leader's",
                    ("leader-compact-revision", crev2), ("follower-compact-revision", response.CompactRevision), ("follower-peer-id", peerId));
                Mismatch();
            }
            if (response.CompactRevision == crev && response.Hash != first.Hash)
            {
                EtcdLog.Write(_logger, LogLevel.Warning, "same compact revision then hashes must match",
                    ("leader-compact-revision", crev2), ("leader-hash", first.Hash), ("follower-compact-revision", response.CompactRevision),
                    ("follower-hash", response.Hash), ("follower-peer-id", peerId));
                Mismatch();
            }
        }
        EtcdLog.Write(_logger, LogLevel.Information, "finished peer corruption check", ("number-of-peers-checked", checkedCount));
    }

    /// <summary>
    /// Proposes the CORRUPT alarm for member 0 (etcd 3.4.23 cannot tell which member is corrupt, so it names none); every
    /// member then refuses writes at apply. The answer comes back here and is dropped.
    /// </summary>
    private void RaiseCorrupt()
    {
        var id = _setup.RequestIds.Next();
        var request = new InternalRaftRequest
        {
            ID = id,
            Header = new RequestHeader { ID = id },
            Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, MemberID = 0, Alarm = AlarmType.Corrupt },
        };
        _setup.Raft.Tell(new RaftProtocol.Propose(id, request.ToByteString()));
    }

    private sealed record Check
    {
        public static readonly Check Instance = new();
    }

    private sealed record Deadline(int Check);

    private sealed record PeersAnswered(int Check, IReadOnlyList<PeerHashKV> Peers);

    private sealed record Failed(int Check, Exception Error);
}
