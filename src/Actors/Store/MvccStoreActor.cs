using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Membership;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Actors.Watch;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc;
using Akka.Event;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Store;

/// <summary>What an <see cref="MvccStoreActor"/> is built from.</summary>
/// <param name="Store">The opened store; the actor owns it and closes it when it stops.</param>
/// <param name="Status">The read model this actor publishes <see cref="StoreView"/> to.</param>
/// <param name="Leases">The apply-side lease table, loaded from the backend (the store's LeaseExists hook reads it).</param>
/// <param name="Membership">The cluster membership, changed here when ConfChange entries are applied.</param>
/// <param name="MinLeaseTtlSeconds">etcd's minimum lease TTL: shorter grants are raised to it.</param>
/// <param name="Lessor">The LessorActor, told about every grant, revoke and key attachment in apply order.</param>
/// <param name="Reopen">Opens the store at a path (after a backend install).</param>
/// <param name="BackendPath">Path of the live backend file.</param>
public sealed record MvccStoreActorSetup(
    MvccStore Store,
    ServerStatus Status,
    LeaseTable Leases,
    ClusterMembership Membership,
    long MinLeaseTtlSeconds,
    IActorRef Lessor,
    Func<string, MvccStore> Reopen,
    string BackendPath)
{
    /// <summary>How often (ms) the backend batch is committed (etcd's backend batch interval: 100 ms).</summary>
    public int CommitIntervalMs { get; init; } = 100;

    /// <summary>
    /// <c>--experimental-enable-lease-checkpoint-persist</c>: applied lease checkpoints are written to the lease
    /// bucket (the remaining TTL survives a restart); otherwise they are kept in memory only, as etcd 3.4.
    /// </summary>
    public bool PersistLeaseCheckpoints { get; init; }

    /// <summary>The replicated auth store, loaded from <see cref="Store"/>'s backend; null: loaded here with simple tokens.</summary>
    public Auth.AuthStore? Auth { get; init; }
}

/// <summary>
/// Owns the <see cref="MvccStore"/> (etcd's applier plus the mvcc store it writes): applies committed entries one by
/// one (the only writer of the store), answers the proposers waiting on them, serves reads in order with applies
/// (a read whose read index is not applied yet waits here), and publishes every applied revision's events to the
/// registered WatcherActors.
/// </summary>
/// <remarks>
/// A failure while applying or committing fails the actor, and its supervisor stops the member (etcd panics): a
/// member whose store diverged from its log must not serve. A failing query only fails that query.
/// </remarks>
public sealed partial class MvccStoreActor : ReceiveActor, IWithTimers
{
    private readonly ServerStatus _status;
    private readonly LeaseTable _leases;
    private readonly ClusterMembership _membership;
    private readonly long _minLeaseTtlSeconds;
    private readonly IActorRef _lessor;
    private readonly Func<string, MvccStore> _reopen;
    private readonly string _backendPath;
    private readonly int _commitIntervalMs;
    private readonly bool _persistLeaseCheckpoints;
    private readonly List<(StoreProtocol.RunQuery Query, IActorRef ReplyTo)> _parked = new();
    private readonly List<IActorRef> _watchStreams = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private MvccStore _store;
    private IActorRef[] _watchStreamsSnapshot = Array.Empty<IActorRef>();
    private ulong _applied;
    private int _prevKvWatchers;

    /// <summary>Props of the actor.</summary>
    public static Props Props(MvccStoreActorSetup setup) => Akka.Actor.Props.Create(() => new MvccStoreActor(setup));

    /// <summary>Creates the actor; use <see cref="Props(MvccStoreActorSetup)"/>.</summary>
    public MvccStoreActor(MvccStoreActorSetup setup)
    {
        _store = setup.Store;
        _status = setup.Status;
        _leases = setup.Leases;
        _membership = setup.Membership;
        _minLeaseTtlSeconds = setup.MinLeaseTtlSeconds;
        _lessor = setup.Lessor;
        _reopen = setup.Reopen;
        _backendPath = setup.BackendPath;
        _commitIntervalMs = setup.CommitIntervalMs;
        _persistLeaseCheckpoints = setup.PersistLeaseCheckpoints;
        _applied = _store.ConsistentIndex;
        _alarms.Load(_store.Backend);
        _auth = OpenAuth(setup);
        PublishView();

        Receive<StoreProtocol.Apply>(apply =>
        {
            // Each proposer is answered once, by the first entry carrying its request ID (etcd's wait.Trigger removes
            // the waiter): a proposal appended twice is applied twice, and the second application's result (a delete
            // that deleted nothing, a failed compare) must not reach the client, nor a second answer at all.
            var replies = apply.Replies is null ? null : new Dictionary<ulong, IActorRef>(apply.Replies);
            foreach (var entry in apply.Entries)
            {
                ApplyEntry(entry, replies);
            }
            PublishView();
            RunParkedQueries();
            Sender.Tell(new RaftProtocol.Applied(_applied));
        });
        Receive<StoreProtocol.RunQuery>(query =>
        {
            if (query.MinAppliedIndex <= _applied)
            {
                RunQuery(query.Query, Sender);
            }
            else
            {
                _parked.Add((query, Sender));
            }
        });
        Receive<StoreProtocol.CommitBatch>(_ =>
        {
            CommitBatch();
            PublishView();
        });
        Receive<StoreProtocol.InstallBackend>(install =>
        {
            InstallBackendFile(install.DbPath);
            Sender.Tell(new StoreProtocol.BackendInstalled(_applied));
        });
        Receive<StoreProtocol.PersistForSnapshot>(_ =>
        {
            _store.ForceCommit(durable: true);
            Sender.Tell(new StoreProtocol.PersistedForSnapshot(_applied));
        });
        Receive<StoreProtocol.RegisterWatchStream>(_ =>
        {
            _watchStreams.Add(Sender);
            _watchStreamsSnapshot = _watchStreams.ToArray();
            Context.Watch(Sender);
            Sender.Tell(new StoreProtocol.WatchStreamRegistered(_store.CurrentRevision));
        });
        Receive<DefragStepDone>(OnDefragStepDone);
        Receive<StoreProtocol.PrevKvWatchers>(change => _prevKvWatchers = Math.Max(0, _prevKvWatchers + change.Delta));
        Receive<Terminated>(terminated =>
        {
            if (_watchStreams.Remove(terminated.ActorRef))
            {
                _watchStreamsSnapshot = _watchStreams.ToArray();
            }
        });
    }

    /// <summary>The actor's timers (the backend batch commit).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart() =>
        Timers.StartPeriodicTimer("commit", StoreProtocol.CommitBatch.Instance, TimeSpan.FromMilliseconds(_commitIntervalMs));

    /// <inheritdoc />
    protected override void PostStop()
    {
        foreach (var (_, replyTo) in _parked)
        {
            replyTo.Tell(new Status.Failure(EtcdErrors.Stopped));
        }
        _parked.Clear();
        FinishDefragment(Protos.Errors.EtcdErrors.Stopped);
        try
        {
            _store.ForceCommit(durable: true);
        }
        catch (Exception ex)
        {
            _log.Warning("final backend commit failed; the WAL replays it on restart: {0}", ex.Message);
        }
        _store.Dispose();
    }

    /// <summary>The periodic backend commit, timed into etcd_disk_backend_commit_duration_seconds when it commits anything.</summary>
    private void CommitBatch()
    {
        var pending = _store.Backend.PendingOps > 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _store.Commit();
        if (pending)
        {
            Metrics.EtcdMetrics.BackendCommitDuration.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            Metrics.EtcdMetrics.DbTotalSizeInUse.Set(_store.DbSizeInUseBytes);
        }
        Metrics.EtcdMetrics.Keys.Set(_store.IndexedKeyCount);
        Metrics.EtcdMetrics.CompactRevision.Set(_store.CompactRevision);
        Metrics.EtcdMetrics.Leases.Set(_leases.Count);
    }

    private void PublishView() => _status.Publish(new StoreView(_applied, _store.CurrentRevision, _store.DbSizeBytes));

    private void InstallBackendFile(string dbPath)
    {
        _backendGeneration++;
        _store.ForceCommit(durable: true);
        _store.Dispose();
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(_backendPath + suffix))
            {
                File.Delete(_backendPath + suffix);
            }
        }
        File.Move(dbPath, _backendPath, overwrite: true);
        _store = _reopen(_backendPath);
        _leases.LoadWithAttachments(_store);
        _membership.Load(_store.Backend);
        _alarms.Load(_store.Backend);
        _auth.Load(_store.Backend);
        _applied = _store.ConsistentIndex;
        PublishView();
        foreach (var stream in _watchStreamsSnapshot)
        {
            stream.Tell(new WatcherProtocol.Restored(_store.CurrentRevision));
        }
        _lessor.Tell(new LeaseProtocol.Restore(_leases.Records.ToList(), _leases.Attachments.ToList()));
        _log.Info("installed the backend received with a snapshot: consistent index {0}, revision {1}", _applied, _store.CurrentRevision);
        RunParkedQueries();
    }

    private void RunParkedQueries()
    {
        if (_parked.Count == 0)
        {
            return;
        }
        for (var i = 0; i < _parked.Count;)
        {
            if (_parked[i].Query.MinAppliedIndex <= _applied)
            {
                var (query, replyTo) = _parked[i];
                _parked.RemoveAt(i);
                RunQuery(query.Query, replyTo);
            }
            else
            {
                i++;
            }
        }
    }

    private void RunQuery(StoreProtocol.Query query, IActorRef replyTo)
    {
        if (query is StoreProtocol.Defragment)
        {
            StartDefragment(replyTo); // answered when the swap is done
            return;
        }
        object answer;
        try
        {
            answer = Answer(query);
        }
        catch (Exception ex)
        {
            if (ex is not EtcdException)
            {
                _log.Error(ex, "store query {0} failed", query.GetType().Name);
            }
            answer = new Status.Failure(ex);
        }
        replyTo.Tell(answer);
    }

    private object Answer(StoreProtocol.Query query)
    {
        switch (query)
        {
            case StoreProtocol.Range range:
            {
                var response = KvApplier.Range(_store, range.Request);
                ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), _status);
                return response;
            }
            case StoreProtocol.ReadTxn txn:
            {
                var response = KvApplier.Txn(_store, txn.Request);
                ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), _status);
                return response;
            }
            case StoreProtocol.GetStatus:
                return new StoreProtocol.StoreStatus(_store.CurrentRevision, _store.DbSizeBytes, _store.DbSizeInUseBytes)
                {
                    Alarms = _alarms.Get(AlarmType.None),
                };
            case StoreProtocol.Barrier:
                return new StoreProtocol.BarrierPassed(_applied);
            case StoreProtocol.HashKV hashKv:
            {
                var hash = _store.HashKV(hashKv.Request.Revision, out var compactRevision);
                return new HashKVResponse
                {
                    Header = ResponseHeaders.Create(_status, _store.CurrentRevision),
                    Hash = hash,
                    CompactRevision = compactRevision,
                };
            }
            case StoreProtocol.Backup backup:
                _store.ForceCommit(durable: false);
                _store.BackupTo(backup.Path);
                return new StoreProtocol.BackupWritten(backup.Path);
            case StoreProtocol.OpenReadView:
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                _store.Commit();
                var view = Storage.Backend.SqliteReadView.Open(_store.Backend.Path);
                _log.Info("opened a backend snapshot at consistent index {0}, revision {1}; the store paused {2}",
                    view.ConsistentIndex, _store.CurrentRevision, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                return view;
            }
            case StoreProtocol.History history:
                return ReadHistory(_store, history.Request);
            case StoreProtocol.LoadLeases:
                return new StoreProtocol.LeasesLoaded(_leases.Records.ToList(), _leases.Attachments.ToList());
            default:
                throw new ArgumentException($"unknown store query {query.GetType().Name}", nameof(query));
        }
    }

    private static HistoryResult ReadHistory(MvccStore store, HistoryRequest request)
    {
        var compact = Math.Max(0, store.CompactRevision);
        var current = store.CurrentRevision;
        // From the compact revision on even when asked from below it: one read serves a batch of watchers, and only
        // those behind the compact revision are canceled; the others need every event from where they stopped.
        var from = Math.Max(request.FromRevision, Math.Max(compact, 1));
        var to = Math.Min(current, from + Math.Max(1, request.MaxRevisions) - 1);
        if (from > to)
        {
            return new HistoryResult(Array.Empty<Mvccpb.Event>(), current, compact);
        }
        var key = request.KeyHint?.Key.ToByteArray() ?? new byte[] { 0 };
        byte[]? rangeEnd = request.KeyHint?.Kind switch
        {
            null or WatchRangeKind.FromKey => new byte[] { 0 },
            WatchRangeKind.SingleKey => null,
            _ => request.KeyHint.RangeEnd.ToByteArray(),
        };
        var read = store.EventsBetween(from, to, key, rangeEnd);
        var events = read as IReadOnlyList<Mvccpb.Event> ?? read.ToList();
        if (request.WithPrevKv)
        {
            FillPrevKvs(store, events);
        }
        return new HistoryResult(events, to, compact);
    }

    private static void FillPrevKvs(MvccStore store, IReadOnlyList<Mvccpb.Event> events)
    {
        foreach (var ev in events)
        {
            var isCreation = ev.Type == Mvccpb.Event.Types.EventType.Put && ev.Kv.CreateRevision == ev.Kv.ModRevision;
            if (!isCreation && ev.PrevKv is null && ev.Kv.ModRevision - 1 >= store.CompactRevision)
            {
                // As etcd: a previous version lost to compaction is simply left out.
                ev.PrevKv = store.Get(ev.Kv.Key.ToByteArray(), ev.Kv.ModRevision - 1);
            }
        }
    }

    /// <summary>Publishes the last applied revision's events to the lessor (key attachments) and every watch stream.</summary>
    private void PublishLastEvents()
    {
        var events = _store.LastEvents;
        if (events.Count == 0)
        {
            return;
        }
        _leases.Track(events, (oldLease, newLease, key) =>
        {
            if (oldLease != 0)
            {
                _lessor.Tell(new LeaseProtocol.ApplyDetach(oldLease, key));
            }
            if (newLease != 0)
            {
                _lessor.Tell(new LeaseProtocol.ApplyAttach(newLease, key));
            }
        });
        var streams = _watchStreamsSnapshot;
        if (streams.Length == 0)
        {
            return;
        }
        if (_prevKvWatchers > 0)
        {
            FillPrevKvs(_store, events);
        }
        var published = new WatcherProtocol.Published(_store.CurrentRevision, events);
        foreach (var stream in streams)
        {
            stream.Tell(published);
        }
    }
}
