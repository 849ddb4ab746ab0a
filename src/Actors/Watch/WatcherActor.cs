using Akka.Etcd.Actors.Mailbox;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Mvccpb;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// The server side of one client gRPC Watch stream (etcd 3.4's <c>serverWatchStream</c> plus the
/// <c>watchStream</c>/<c>watchableStore</c> logic for its watchers). It handles the client's create, cancel and
/// progress requests, matches every revision the <see cref="WatchHub"/> publishes against its watchers
/// (<see cref="WatcherIndex"/>), catches unsynced watchers up from <see cref="IWatchHistory"/>, and writes
/// responses to its bounded <see cref="Outbox"/> without ever waiting for the client.
/// </summary>
/// <remarks>
/// Guarantees per watcher: the created response comes first; events arrive in revision order, without gaps or
/// duplicates; a revision's events are never split except by fragmenting; nothing follows a canceled response.
/// When the outbox is full, watchers that would get events become victims: they stop taking live events and
/// catch up from history (in batches of up to <see cref="WatchStreamOptions.HistoryBatchRevisions"/>
/// revisions, one response per batch whose header revision is the batch's last revision) once the gRPC writer
/// has drained the outbox to half. Control responses (created, canceled) are never dropped: while the outbox
/// is full they wait, in order, in an internal queue. Threading: all state lives on the actor's loop; the
/// public methods only enqueue.
/// Coalescing: the revisions published in one mailbox burst reach each synced watcher as one response carrying
/// all its events of those revisions (header revision = the last revision included), like etcd's catch-up of
/// slow watchers; it is cut at a revision boundary at <see cref="WatchStreamOptions.CoalesceMaxEvents"/> events
/// or <see cref="WatchStreamOptions.CoalesceMaxBytes"/> bytes, and written before any other message of the burst
/// is handled, so responses keep the order of the messages that caused them.
/// </remarks>
public sealed class WatcherActor : Actor<WatcherMessage>
{
    /// <summary>etcd's <c>clientv3.InvalidWatchID</c>: the watch id of stream-wide and failed-create responses.</summary>
    public const long InvalidWatchId = -1;

    /// <summary>etcd's <c>clientv3.AutoWatchID</c>: a create request with this id gets the next free id.</summary>
    public const long AutoWatchId = 0;

    /// <summary>Cancel reason of a create request reusing a live watch id (etcd's <c>ErrWatcherDuplicateID</c>).</summary>
    public const string DuplicateWatchIdReason = "mvcc: duplicate watch ID provided on the WatchStream";

    /// <summary>Cancel reason of a create request whose range_end &lt;= key (etcd's <c>ErrEmptyWatcherRange</c>).</summary>
    public const string EmptyWatcherRangeReason = "mvcc: watcher range is empty";

    private readonly WatchHub _hub;
    private readonly IWatchHistory _history;
    private readonly Func<ResponseHeader> _header;
    private readonly WatchStreamOptions _options;
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
    private bool _readInFlight;
    private bool _progressDeferred;
    private Timer? _progressTimer;

    internal WatcherActor(WatchHub hub, IWatchHistory history, Func<ResponseHeader> header, WatchStreamOptions options, ILogger logger)
        : base("watch-stream", logger)
    {
        _hub = hub;
        _history = history;
        _header = header;
        _options = options;
        Outbox = new WatchOutbox(options.OutboxCapacity, () => Tell(WatcherMessage.OutboxHasRoom.Instance));
        _revision = hub.Register(this);
    }

    /// <summary>The responses for the client, in order; the gRPC writer task reads it (single reader).</summary>
    public WatchOutbox Outbox { get; }

    /// <summary>Hands over a request read from the client's stream. Any thread; never blocks.</summary>
    public void Request(WatchRequest request) => Tell(new WatcherMessage.ClientRequest(request));

    /// <summary>Triggers one progress-notify round now (what the stream's timer does). Any thread.</summary>
    public void ProgressTick() => Tell(WatcherMessage.ProgressTick.Instance);

    /// <inheritdoc />
    protected override ValueTask PreStartAsync()
    {
        var interval = _options.ProgressNotifyInterval;
        if (interval > TimeSpan.Zero && interval != Timeout.InfiniteTimeSpan)
        {
            // etcd adds up to 10% jitter so streams created together do not notify together.
            var period = interval + TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * interval.Ticks / 10));
            _progressTimer = new Timer(_ => Tell(WatcherMessage.ProgressTick.Instance), null, period, period);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override ValueTask OnReceiveAsync(WatcherMessage message)
    {
        if (message is not WatcherMessage.Published)
        {
            FlushBatches(); // responses stay in the order of the messages that caused them
        }
        switch (message)
        {
            case WatcherMessage.Published published:
                OnPublished(published.Revision, published.Events);
                break;
            case WatcherMessage.ClientRequest request:
                OnClientRequest(request.Request);
                break;
            case WatcherMessage.HistoryRead read:
                OnHistoryRead(read.Generation, read.Watchers, read.Result);
                break;
            case WatcherMessage.OutboxHasRoom:
                OnOutboxHasRoom();
                break;
            case WatcherMessage.ProgressTick:
                OnProgressTick();
                break;
            case WatcherMessage.Restored restored:
                OnRestored(restored.Revision);
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override ValueTask OnMailboxDrainedAsync()
    {
        FlushBatches();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override ValueTask PostStopAsync()
    {
        _progressTimer?.Dispose();
        _hub.Unregister(this);
        foreach (var watcher in _watchers.Values)
        {
            if (watcher.WantsPrevKv)
            {
                _hub.AddPrevKvWatchers(-1);
            }
            watcher.Canceled = true;
        }
        _watchers.Clear();
        Outbox.Complete();
        return ValueTask.CompletedTask;
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
        if (watcher.WantsPrevKv)
        {
            _hub.AddPrevKvWatchers(1);
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
        _watchers.Remove(watcher.Id);
        _index.Remove(watcher);
        watcher.Canceled = true;
        watcher.Pending = null;
        watcher.Batch = null;
        if (watcher.Sync == WatcherSync.Unsynced)
        {
            _unsyncedCount--;
        }
        if (watcher.WantsPrevKv)
        {
            _hub.AddPrevKvWatchers(-1);
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
        }
        _unsynced.Add(watcher);
    }

    /// <summary>Starts one history read for every unsynced watcher not yet in one, when the outbox has room.</summary>
    private void ScheduleCatchUp()
    {
        if (_readInFlight || _unsynced.Count == 0)
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
        _readInFlight = true;
        var request = new HistoryRequest(from, _options.HistoryBatchRevisions, batch.Count == 1 ? batch[0].Range : null, withPrevKv);
        _history.ReadEvents(request, result => Tell(new WatcherMessage.HistoryRead(generation, batch, result)));
    }

    private void OnHistoryRead(long generation, IReadOnlyList<Watcher> batch, HistoryResult result)
    {
        _readInFlight = false;
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

    private ResponseHeader Header(long revision)
    {
        var header = _header();
        header.Revision = revision;
        return header;
    }

    /// <summary>The event as this watcher sees it: prev_kv only when asked for (the shared event is never changed).</summary>
    private static Event EventFor(Watcher watcher, Event ev) =>
        watcher.WantsPrevKv || ev.PrevKv is null ? ev : new Event { Type = ev.Type, Kv = ev.Kv };

    /// <summary>False for a creation (PUT with create_revision == mod_revision), which has no prev_kv (etcd's <c>isCreateEvent</c>).</summary>
    private static bool HasPrevious(Event ev) =>
        ev.Type == Event.Types.EventType.Delete || ev.Kv.CreateRevision != ev.Kv.ModRevision;
}
