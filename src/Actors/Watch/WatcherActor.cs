using Akka.Actor;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Event;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Actors.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// The server side of one client gRPC Watch stream (etcd 3.4's <c>serverWatchStream</c> plus the
/// <c>watchStream</c>/<c>watchableStore</c> logic for its watchers). It handles the client's create, cancel and
/// progress requests, matches every revision the MvccStoreActor publishes to it against its watchers
/// (<see cref="WatcherIndex"/>), catches unsynced watchers up from the store's history
/// (<see cref="StoreProtocol.History"/>), and writes responses to its bounded <see cref="Outbox"/> without ever
/// waiting for the client.
/// </summary>
/// <remarks>
/// Guarantees per watcher: the created response comes first; events arrive in revision order, without gaps or
/// duplicates; a revision's events are never split except by fragmenting; nothing follows a canceled response.
/// When the outbox is full, watchers that would get events become victims: they stop taking live events and
/// catch up from history (in batches of up to <see cref="WatchStreamOptions.HistoryBatchRevisions"/>
/// revisions, one response per batch whose header revision is the batch's last revision) once the gRPC writer
/// has drained the outbox to half. Control responses (created, canceled) are never dropped: while the outbox
/// is full they wait, in order, in an internal queue, and the request that caused them keeps its
/// <see cref="WatchIntake"/> permit until they are out, which bounds that queue.
/// Coalescing: the revisions published before a self-sent <see cref="WatcherProtocol.FlushBatches"/> comes back
/// (one burst of the mailbox) reach each synced watcher as one response carrying
/// all its events of those revisions (header revision = the last revision included), like etcd's catch-up of
/// slow watchers; it is cut at a revision boundary at <see cref="WatchStreamOptions.CoalesceMaxEvents"/> events
/// or <see cref="WatchStreamOptions.CoalesceMaxBytes"/> bytes, and written before any other message of the burst
/// is handled, so responses keep the order of the messages that caused them.
/// </remarks>
public sealed class WatcherActor : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>etcd's <c>clientv3.InvalidWatchID</c>: the watch id of stream-wide and failed-create responses.</summary>
    public const long InvalidWatchId = -1;

    /// <summary>etcd's <c>clientv3.AutoWatchID</c>: a create request with this id gets the next free id.</summary>
    public const long AutoWatchId = 0;

    /// <summary>Cancel reason of a create request reusing a live watch id (etcd's <c>ErrWatcherDuplicateID</c>).</summary>
    public const string DuplicateWatchIdReason = "mvcc: duplicate watch ID provided on the WatchStream";

    /// <summary>Cancel reason of a create request whose range_end &lt;= key (etcd's <c>ErrEmptyWatcherRange</c>).</summary>
    public const string EmptyWatcherRangeReason = "mvcc: watcher range is empty";

    private readonly IActorRef _store;
    private readonly ServerStatus _status;
    private readonly WatchStreamOptions _options;
    private readonly WatchIntake _intake;
    private readonly Dictionary<long, Watcher> _watchers = new();
    private readonly WatcherIndex _index = new();
    private readonly List<Watcher> _matches = new();
    private readonly List<Watcher> _touched = new();
    private readonly List<Watcher> _batched = new();
    private readonly List<Watcher> _unsynced = new();
    private readonly Queue<WatchResponse> _overflow = new();
    private long _revision;
    private long _nextAutoId;
    private int _unsyncedCount;
    private long _readGeneration;
    private List<Watcher>? _readBatch;
    private bool _progressDeferred;
    private bool _flushQueued;
    private int _owedPermits;
    private int _prevKvWatchers;

    /// <summary>Props of one stream's actor.</summary>
    /// <param name="store">The MvccStoreActor: revisions are published from it, history is read from it.</param>
    /// <param name="status">The member's read model (response headers).</param>
    /// <param name="options">Limits and timings of the stream.</param>
    /// <param name="outbox">Where responses go (read by the gRPC writer).</param>
    /// <param name="intake">The requests' admission control (permits are given back here).</param>
    public static Props Props(IActorRef store, ServerStatus status, WatchStreamOptions options, WatchOutbox outbox, WatchIntake intake) =>
        Akka.Actor.Props.Create(() => new WatcherActor(store, status, options, outbox, intake));

    /// <summary>Creates the actor; use <see cref="Props"/>.</summary>
    public WatcherActor(IActorRef store, ServerStatus status, WatchStreamOptions options, WatchOutbox outbox, WatchIntake intake)
    {
        _store = store;
        _status = status;
        _options = options;
        _intake = intake;
        Outbox = outbox;
        Receive<StoreProtocol.WatchStreamRegistered>(registered =>
        {
            _revision = registered.Revision;
            Become(Registered);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    /// <summary>The responses for the client, in order; the gRPC writer task reads it (single reader).</summary>
    public WatchOutbox Outbox { get; }

    /// <summary>The actor's timers (progress notifications).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Requests that arrive before the store confirmed the registration wait here.</summary>
    public IStash Stash { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        Metrics.EtcdMetrics.WatchStreams.Inc();
        var self = Self;
        Outbox.OnRoom(() => self.Tell(WatcherProtocol.OutboxHasRoom.Instance));
        _store.Tell(StoreProtocol.RegisterWatchStream.Instance);
        var interval = _options.ProgressNotifyInterval;
        if (interval > TimeSpan.Zero && interval != Timeout.InfiniteTimeSpan)
        {
            // etcd adds up to 10% jitter so streams created together do not notify together.
            var period = interval + TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * interval.Ticks / 10));
            Timers.StartPeriodicTimer("progress", WatcherProtocol.ProgressTick.Instance, period, period);
        }
    }

    /// <summary>The behaviour once the store has confirmed the registration.</summary>
    private void Registered()
    {
        Receive<WatcherProtocol.Published>(published =>
        {
            OnPublished(published.Revision, published.Events);
            if (_batched.Count > 0 && !_flushQueued)
            {
                // Coalesce every revision published before this marker comes back into one response per watcher.
                _flushQueued = true;
                Self.Tell(WatcherProtocol.FlushBatches.Instance);
            }
        });
        Receive<WatcherProtocol.FlushBatches>(_ =>
        {
            _flushQueued = false;
            FlushBatches();
        });
        Receive<WatcherProtocol.ClientRequest>(request =>
        {
            FlushBatches(); // responses stay in the order of the messages that caused them
            if (request.DeniedReason is { } denied && request.Request.CreateRequest is not null)
            {
                Write(FailedCreate(denied)); // refused by auth (etcd's isWatchPermitted)
            }
            else
            {
                OnClientRequest(request.Request);
            }
            if (_overflow.Count == 0)
            {
                _intake.Release();
            }
            else
            {
                _owedPermits++;
            }
        });
        Receive<HistoryResult>(result =>
        {
            FlushBatches();
            OnHistoryRead(result);
        });
        Receive<Status.Failure>(failure =>
        {
            // A history read failed on the store: the unsynced watchers stay unsynced and are read again.
            FlushBatches();
            OnHistoryReadFailed(failure.Cause);
        });
        Receive<WatcherProtocol.OutboxHasRoom>(_ =>
        {
            FlushBatches();
            OnOutboxHasRoom();
        });
        Receive<WatcherProtocol.ProgressTick>(_ =>
        {
            FlushBatches();
            OnProgressTick();
        });
        Receive<WatcherProtocol.Restored>(restored =>
        {
            FlushBatches();
            OnRestored(restored.Revision);
        });
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_prevKvWatchers > 0)
        {
            _store.Tell(new StoreProtocol.PrevKvWatchers(-_prevKvWatchers));
        }
        foreach (var watcher in _watchers.Values)
        {
            watcher.Canceled = true;
        }
        Metrics.EtcdMetrics.Watchers.Dec(_watchers.Count);
        Metrics.EtcdMetrics.SlowWatchers.Dec(_unsyncedCount);
        Metrics.EtcdMetrics.WatchStreams.Dec();
        _watchers.Clear();
        Outbox.Complete();
    }

    private void AddPrevKvWatchers(int delta)
    {
        _prevKvWatchers += delta;
        _store.Tell(new StoreProtocol.PrevKvWatchers(delta));
    }

    private void OnClientRequest(WatchRequest request)
    {
        switch (request.RequestUnionCase)
        {
            case WatchRequest.RequestUnionOneofCase.CreateRequest:
                Create(request.CreateRequest);
                break;
            case WatchRequest.RequestUnionOneofCase.CancelRequest:
                CancelByClient(request.CancelRequest.WatchId);
                break;
            case WatchRequest.RequestUnionOneofCase.ProgressRequest:
                if (_unsyncedCount == 0)
                {
                    SendStreamProgress();
                }
                else
                {
                    // etcd 3.4 answers at once with the store's revision, which can overtake events still queued
                    // for unsynced watchers (fixed in 3.5 by deferring): answer once every watcher is synced.
                    _progressDeferred = true;
                }
                break;
        }
    }

    private void Create(WatchCreateRequest request)
    {
        if (!WatchRange.TryCreate(request.Key, request.RangeEnd, out var range))
        {
            Write(FailedCreate(EmptyWatcherRangeReason));
            return;
        }
        var id = request.WatchId;
        if (id == AutoWatchId)
        {
            while (_watchers.ContainsKey(_nextAutoId))
            {
                _nextAutoId++;
            }
            id = _nextAutoId++;
        }
        else if (_watchers.ContainsKey(id))
        {
            Write(FailedCreate(DuplicateWatchIdReason));
            return;
        }

        var start = request.StartRevision == 0 ? _revision + 1 : request.StartRevision;
        var watcher = new Watcher(id, range, request, start);
        _watchers.Add(id, watcher);
        _index.Add(watcher);
        Metrics.EtcdMetrics.Watchers.Inc();
        if (watcher.WantsPrevKv)
        {
            AddPrevKvWatchers(1);
        }
        Write(new WatchResponse { Header = Header(_revision), WatchId = id, Created = true });
        if (start <= _revision)
        {
            MarkUnsynced(watcher);
            ScheduleCatchUp();
        }
    }

    private WatchResponse FailedCreate(string reason) => new()
    {
        Header = Header(_revision),
        WatchId = InvalidWatchId,
        Created = true,
        Canceled = true,
        CancelReason = reason,
    };

    private void CancelByClient(long id)
    {
        if (!_watchers.TryGetValue(id, out var watcher))
        {
            return; // etcd ignores a cancel of an unknown id (no response)
        }
        Remove(watcher);
        Write(new WatchResponse { Header = Header(_revision), WatchId = id, Canceled = true });
        SendDeferredProgressIfSynced();
    }

    private void Remove(Watcher watcher)
    {
        if (_watchers.Remove(watcher.Id))
            Metrics.EtcdMetrics.Watchers.Dec();
        _index.Remove(watcher);
        watcher.Canceled = true;
        watcher.Pending = null;
        watcher.Batch = null;
        if (watcher.Sync == WatcherSync.Unsynced)
        {
            _unsyncedCount--;
            Metrics.EtcdMetrics.SlowWatchers.Dec();
        }
        if (watcher.WantsPrevKv)
        {
            AddPrevKvWatchers(-1);
        }
    }

    private void OnPublished(long revision, IReadOnlyList<Event> events)
    {
        if (revision > _revision)
        {
            _revision = revision;
        }
        if (_index.Count == 0 || events.Count == 0)
        {
            return;
        }
        foreach (var ev in events)
        {
            _index.CollectMatches(ev.Kv.Key, _matches);
            long eventBytes = -1;
            foreach (var watcher in _matches)
            {
                if (watcher.Sync != WatcherSync.Synced || revision < watcher.NextRevision || watcher.Filters(ev))
                {
                    continue;
                }
                if (!watcher.Dispatching)
                {
                    watcher.Dispatching = true;
                    _touched.Add(watcher);
                    if (watcher.Batch is null)
                    {
                        watcher.Batch = new WatchResponse { WatchId = watcher.Id };
                        watcher.BatchFirstRevision = revision;
                        watcher.BatchBytes = 0;
                        _batched.Add(watcher);
                    }
                    watcher.RevisionStartCount = watcher.Batch.Events.Count;
                    watcher.RevisionStartBytes = watcher.BatchBytes;
                }
                if (watcher.WantsPrevKv && ev.PrevKv is null && HasPrevious(ev))
                {
                    watcher.MissingPrevKv = true;
                }
                if (eventBytes < 0)
                {
                    eventBytes = 1 + CodedOutputStream.ComputeMessageSize(ev); // tag of field 11 + length-prefixed event
                }
                watcher.Batch!.Events.Add(EventFor(watcher, ev));
                watcher.BatchBytes += eventBytes;
            }
            _matches.Clear();
        }
        if (_touched.Count == 0)
        {
            return;
        }
        var victims = false;
        foreach (var watcher in _touched)
        {
            watcher.Dispatching = false;
            if (watcher.MissingPrevKv)
            {
                // Catch up from history from the first revision not yet written, this burst's earlier ones included.
                watcher.MissingPrevKv = false;
                var firstUndelivered = watcher.BatchFirstRevision;
                watcher.Batch = null;
                MakeVictim(watcher, firstUndelivered);
                victims = true;
                continue;
            }
            if (watcher.RevisionStartCount > 0 && OverCap(watcher.Batch!.Events.Count, watcher.BatchBytes))
            {
                // This revision would push the batch over a cap: send the earlier revisions alone first.
                var batch = watcher.Batch!;
                var rest = new WatchResponse { WatchId = watcher.Id };
                for (var i = watcher.RevisionStartCount; i < batch.Events.Count; i++)
                {
                    rest.Events.Add(batch.Events[i]);
                }
                while (batch.Events.Count > watcher.RevisionStartCount)
                {
                    batch.Events.RemoveAt(batch.Events.Count - 1);
                }
                var restBytes = watcher.BatchBytes - watcher.RevisionStartBytes;
                if (!TrySendBatch(watcher))
                {
                    victims = true;
                    continue;
                }
                watcher.Batch = rest;
                watcher.BatchFirstRevision = revision;
                watcher.BatchBytes = restBytes; // still listed in _batched since its first batch of this burst
            }
            watcher.BatchLastRevision = revision;
            if (ReachedCap(watcher.Batch!.Events.Count, watcher.BatchBytes) && !TrySendBatch(watcher))
            {
                victims = true;
            }
        }
        _touched.Clear();
        if (victims)
        {
            ScheduleCatchUp();
        }
    }

    private bool OverCap(int events, long bytes) => events > _options.CoalesceMaxEvents || bytes > _options.CoalesceMaxBytes;

    private bool ReachedCap(int events, long bytes) => events >= _options.CoalesceMaxEvents || bytes >= _options.CoalesceMaxBytes;

    /// <summary>
    /// Writes every coalesced response of the burst (in the order the watchers first got events); watchers whose
    /// response does not fit become victims. Runs before any non-publish message and when the mailbox is drained.
    /// </summary>
    private void FlushBatches()
    {
        if (_batched.Count == 0)
        {
            return;
        }
        var victims = false;
        foreach (var watcher in _batched)
        {
            if (watcher.Batch is not null && !TrySendBatch(watcher))
            {
                victims = true;
            }
        }
        _batched.Clear();
        if (victims)
        {
            ScheduleCatchUp();
        }
    }

    /// <summary>
    /// Writes the watcher's <see cref="Watcher.Batch"/> with header revision <see cref="Watcher.BatchLastRevision"/>
    /// and clears it. False when the outbox cannot take it: the watcher is then a victim from the batch's first
    /// revision (the caller schedules the catch-up).
    /// </summary>
    private bool TrySendBatch(Watcher watcher)
    {
        var response = watcher.Batch!;
        watcher.Batch = null;
        response.Header = Header(watcher.BatchLastRevision);
        if (TrySendEvents(watcher, response))
        {
            watcher.NextRevision = watcher.BatchLastRevision + 1;
            watcher.ProgressDue = false;
            return true;
        }
        MakeVictim(watcher, watcher.BatchFirstRevision);
        return false;
    }

    private void MakeVictim(Watcher watcher, long firstUndelivered)
    {
        watcher.NextRevision = firstUndelivered;
        MarkUnsynced(watcher);
    }

    private void MarkUnsynced(Watcher watcher)
    {
        if (watcher.Sync != WatcherSync.Unsynced)
        {
            watcher.Sync = WatcherSync.Unsynced;
            _unsyncedCount++;
            Metrics.EtcdMetrics.SlowWatchers.Inc();
        }
        _unsynced.Add(watcher);
    }

    /// <summary>Starts one history read for every unsynced watcher not yet in one, when the outbox has room.</summary>
    private void ScheduleCatchUp()
    {
        if (_readBatch is not null || _unsynced.Count == 0)
        {
            return;
        }
        if (_overflow.Count > 0 || !Outbox.HasRoomToResume)
        {
            Outbox.RequestRoomSignal();
            return;
        }
        var generation = ++_readGeneration;
        var batch = new List<Watcher>(_unsynced.Count);
        var from = long.MaxValue;
        var withPrevKv = false;
        foreach (var watcher in _unsynced)
        {
            if (watcher.Canceled || watcher.Sync != WatcherSync.Unsynced || watcher.ReadGeneration == generation)
            {
                continue;
            }
            watcher.ReadGeneration = generation;
            batch.Add(watcher);
            from = Math.Min(from, watcher.NextRevision);
            withPrevKv |= watcher.WantsPrevKv;
        }
        _unsynced.Clear();
        if (batch.Count == 0)
        {
            return;
        }
        _readBatch = batch;
        // The store reads on its own thread in order with applies: every revision published before the read precedes
        // the answer in this mailbox, every later one follows it.
        var request = new HistoryRequest(from, _options.HistoryBatchRevisions, batch.Count == 1 ? batch[0].Range : null, withPrevKv);
        _store.Tell(new StoreProtocol.RunQuery(0, new StoreProtocol.History(request)));
    }

    private void OnHistoryReadFailed(Exception cause)
    {
        var batch = _readBatch;
        _readBatch = null;
        if (batch is null)
        {
            return;
        }
        Context.GetLogger().Error(cause, "watch history read failed; retrying");
        foreach (var watcher in batch)
        {
            if (IsWaitingFor(watcher, _readGeneration))
            {
                watcher.ReadGeneration = 0;
                _unsynced.Add(watcher);
            }
        }
        ScheduleCatchUp();
    }

    private void OnHistoryRead(HistoryResult result)
    {
        var batch = _readBatch;
        _readBatch = null;
        if (batch is null)
        {
            return;
        }
        var generation = _readGeneration;
        var upTo = result.UpToRevision;
        foreach (var watcher in batch)
        {
            if (IsWaitingFor(watcher, generation) && watcher.NextRevision < result.CompactRevision)
            {
                Remove(watcher);
                // etcd 3.4 sends this with header revision 0 and no cancel_reason; clients derive the error.
                Write(new WatchResponse
                {
                    Header = Header(0),
                    WatchId = watcher.Id,
                    CompactRevision = result.CompactRevision,
                    Canceled = true,
                });
            }
        }

        foreach (var ev in result.Events)
        {
            var revision = ev.Kv.ModRevision;
            if (revision > upTo)
            {
                break;
            }
            _index.CollectMatches(ev.Kv.Key, _matches);
            foreach (var watcher in _matches)
            {
                if (!IsWaitingFor(watcher, generation) || revision < watcher.NextRevision || watcher.Filters(ev))
                {
                    continue;
                }
                watcher.Pending ??= new WatchResponse { WatchId = watcher.Id };
                watcher.Pending.Events.Add(EventFor(watcher, ev));
            }
            _matches.Clear();
        }

        // Synced again only when the read reaches every revision published to this stream so far: all later
        // revisions are then still to come in the mailbox (the store publishes and reads on one thread).
        var complete = upTo >= _revision;
        foreach (var watcher in batch)
        {
            if (!IsWaitingFor(watcher, generation))
            {
                continue;
            }
            watcher.ReadGeneration = 0;
            var pending = watcher.Pending;
            watcher.Pending = null;
            if (pending is not null)
            {
                pending.Header = Header(upTo);
                if (!TrySendEvents(watcher, pending))
                {
                    _unsynced.Add(watcher); // outbox full again: retry this batch once it drains
                    continue;
                }
                watcher.ProgressDue = false;
            }
            if (watcher.NextRevision <= upTo)
            {
                watcher.NextRevision = upTo + 1;
            }
            if (complete)
            {
                watcher.Sync = WatcherSync.Synced;
                _unsyncedCount--;
                Metrics.EtcdMetrics.SlowWatchers.Dec();
            }
            else
            {
                _unsynced.Add(watcher);
            }
        }
        SendDeferredProgressIfSynced();
        ScheduleCatchUp();
    }

    private static bool IsWaitingFor(Watcher watcher, long generation) =>
        !watcher.Canceled && watcher.Sync == WatcherSync.Unsynced && watcher.ReadGeneration == generation;

    private void OnOutboxHasRoom()
    {
        while (_overflow.Count > 0 && Outbox.TryWrite(_overflow.Peek()))
        {
            _overflow.Dequeue();
        }
        if (_overflow.Count > 0)
        {
            Outbox.RequestRoomSignal();
            return;
        }
        // Every answer that waited is in the outbox: the requests behind them may come in now.
        for (; _owedPermits > 0; _owedPermits--)
        {
            _intake.Release();
        }
        ScheduleCatchUp();
    }

    private void OnProgressTick()
    {
        foreach (var watcher in _watchers.Values)
        {
            if (!watcher.ProgressNotify)
            {
                continue;
            }
            // Like etcd: only a synced watcher that got no events since the last tick is notified, and only if
            // the outbox has room (a full outbox means events are flowing anyway).
            if (watcher.ProgressDue && watcher.Sync == WatcherSync.Synced && _overflow.Count == 0)
            {
                Outbox.TryWrite(new WatchResponse { Header = Header(_revision), WatchId = watcher.Id });
            }
            watcher.ProgressDue = true;
        }
    }

    private void OnRestored(long revision)
    {
        var previous = _revision;
        _revision = revision;
        foreach (var watcher in _watchers.Values)
        {
            if (watcher.Sync == WatcherSync.Synced)
            {
                watcher.NextRevision = Math.Max(watcher.NextRevision, previous + 1);
                MarkUnsynced(watcher);
            }
        }
        ScheduleCatchUp();
    }

    private void SendDeferredProgressIfSynced()
    {
        if (_progressDeferred && _unsyncedCount == 0)
        {
            _progressDeferred = false;
            SendStreamProgress();
        }
    }

    private void SendStreamProgress() =>
        Write(new WatchResponse { Header = Header(_revision), WatchId = InvalidWatchId });

    /// <summary>
    /// Writes an event response, fragmenting it when the watcher asked for it. Returns false (nothing written)
    /// when the outbox cannot take it now; once the first fragment is written, the rest are guaranteed.
    /// </summary>
    private bool TrySendEvents(Watcher watcher, WatchResponse response)
    {
        if (_overflow.Count > 0)
        {
            return false;
        }
        if (!watcher.Fragment || response.Events.Count < 2 || response.CalculateSize() < _options.MaxResponseBytes)
        {
            return Outbox.TryWrite(response);
        }
        var fragments = WatchFragments.Split(response, _options.MaxResponseBytes);
        if (!Outbox.TryWrite(fragments[0]))
        {
            return false;
        }
        for (var i = 1; i < fragments.Count; i++)
        {
            Write(fragments[i]);
        }
        return true;
    }

    /// <summary>Writes a response that must not be dropped, after any already waiting.</summary>
    private void Write(WatchResponse response)
    {
        if (_overflow.Count == 0 && Outbox.TryWrite(response))
        {
            return;
        }
        _overflow.Enqueue(response);
        Outbox.RequestRoomSignal();
    }

    private ResponseHeader Header(long revision) => ResponseHeaders.Create(_status, revision);

    /// <summary>The event as this watcher sees it: prev_kv only when asked for (the shared event is never changed).</summary>
    private static Event EventFor(Watcher watcher, Event ev) =>
        watcher.WantsPrevKv || ev.PrevKv is null ? ev : new Event { Type = ev.Type, Kv = ev.Kv };

    /// <summary>False for a creation (PUT with create_revision == mod_revision), which has no prev_kv (etcd's <c>isCreateEvent</c>).</summary>
    private static bool HasPrevious(Event ev) =>
        ev.Type == Event.Types.EventType.Delete || ev.Kv.CreateRevision != ev.Kv.ModRevision;
}
