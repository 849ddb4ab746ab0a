using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Actors.Tests.Watch;

/// <summary>
/// An in-memory MVCC history standing in for the MvccStoreActor: writes and history reads run under one lock
/// (its "store thread"), each write publishes its revision to the hub inside that lock, so a read's reply is
/// ordered with the published revisions exactly as the real store guarantees. Reads are answered at once, or
/// queued until the test calls <see cref="AnswerPendingReads"/> (a store thread the test controls).
/// </summary>
internal sealed class FakeStore : IWatchHistory
{
    private readonly object _gate = new();
    private readonly List<(long Revision, List<Event> Events)> _history = new();
    private readonly Dictionary<ByteString, List<(long Revision, KeyValue? Kv)>> _versions = new();
    private readonly Queue<(HistoryRequest Request, Action<HistoryResult> Reply)> _pending = new();
    private readonly SemaphoreSlim _readQueued = new(0);

    public FakeStore(WatchStreamOptions? options = null)
    {
        Hub = new WatchHub(this, 0, NewHeader, options);
    }

    /// <summary>
    /// When set and closed, a stream actor building a response header waits for it to open: the test then queues
    /// messages behind that response and they reach the actor as one mailbox burst.
    /// </summary>
    public ManualResetEventSlim? HeaderGate { get; set; }

    private ResponseHeader NewHeader()
    {
        if (HeaderGate is { } gate && !gate.Wait(StreamProbe.Deadline))
        {
            throw new TimeoutException("the test never opened the header gate");
        }
        return new ResponseHeader { ClusterId = 11, MemberId = 22, RaftTerm = 3 };
    }

    public WatchHub Hub { get; }

    public long Revision { get; private set; }

    public long CompactRevision { get; private set; }

    /// <summary>False: reads wait for <see cref="AnswerPendingReads"/>.</summary>
    public bool AnswerReadsAtOnce { get; set; } = true;

    /// <summary>False: published events never carry prev_kv (history reads still fill it when asked).</summary>
    public bool PublishPrevKv { get; set; } = true;

    /// <summary>False: writes are not published (revisions installed by a snapshot restore).</summary>
    public bool Publishing { get; set; } = true;

    public List<HistoryRequest> Reads { get; } = new();

    public int PendingReads
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    public long Put(string key, string value) => Txn((key, value));

    public long Delete(string key) => Txn((key, null));

    /// <summary>One revision: a PUT per (key, value), a DELETE per (key, null) of an existing key.</summary>
    public long Txn(params (string Key, string? Value)[] ops)
    {
        lock (_gate)
        {
            var revision = Revision + 1;
            var events = new List<Event>(ops.Length);
            foreach (var (keyText, value) in ops)
            {
                var key = ByteString.CopyFromUtf8(keyText);
                var previous = Latest(key);
                Event ev;
                if (value is null)
                {
                    if (previous is null)
                    {
                        continue;
                    }
                    ev = new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = key, ModRevision = revision } };
                    Record(key, revision, null);
                }
                else
                {
                    var kv = new KeyValue
                    {
                        Key = key,
                        Value = ByteString.CopyFromUtf8(value),
                        CreateRevision = previous?.CreateRevision ?? revision,
                        ModRevision = revision,
                        Version = (previous?.Version ?? 0) + 1,
                    };
                    ev = new Event { Type = Event.Types.EventType.Put, Kv = kv };
                    Record(key, revision, kv);
                }
                events.Add(ev);
            }
            if (events.Count == 0)
            {
                return Revision;
            }
            Revision = revision;
            _history.Add((revision, events));
            var published = events.Select(e => PublishPrevKv && PrevKv(e.Kv.Key, revision) is { } prev
                ? new Event { Type = e.Type, Kv = e.Kv, PrevKv = prev }
                : e).ToList();
            if (Publishing)
            {
                Hub.Publish(revision, published);
            }
            return revision;
        }
    }

    public void Compact(long revision)
    {
        lock (_gate)
        {
            CompactRevision = revision;
            _history.RemoveAll(h => h.Revision < revision);
        }
    }

    public void ReadEvents(HistoryRequest request, Action<HistoryResult> reply)
    {
        lock (_gate)
        {
            Reads.Add(request);
            if (AnswerReadsAtOnce)
            {
                reply(Read(request));
            }
            else
            {
                _pending.Enqueue((request, reply));
                _readQueued.Release();
            }
        }
    }

    /// <summary>Completes when one more read was queued (reads answered at once are not counted).</summary>
    public async Task ReadQueuedAsync()
    {
        Assert.True(await _readQueued.WaitAsync(StreamProbe.Deadline), "no history read was queued before the deadline");
    }

    public void AnswerPendingReads()
    {
        lock (_gate)
        {
            while (_pending.TryDequeue(out var read))
            {
                read.Reply(Read(read.Request));
            }
        }
    }

    private HistoryResult Read(HistoryRequest request)
    {
        var from = Math.Max(Math.Max(request.FromRevision, CompactRevision), 1);
        var upTo = Math.Min(Revision, from + request.MaxRevisions - 1);
        var events = new List<Event>();
        foreach (var (revision, revisionEvents) in _history)
        {
            if (revision < from || revision > upTo)
            {
                continue;
            }
            foreach (var ev in revisionEvents)
            {
                if (request.KeyHint is { } hint && !hint.Contains(ev.Kv.Key.Span))
                {
                    continue;
                }
                events.Add(request.WithPrevKv && PrevKv(ev.Kv.Key, revision) is { } prev
                    ? new Event { Type = ev.Type, Kv = ev.Kv, PrevKv = prev }
                    : ev);
            }
        }
        return new HistoryResult(events, upTo, CompactRevision);
    }

    private KeyValue? Latest(ByteString key) =>
        _versions.TryGetValue(key, out var list) && list.Count > 0 ? list[^1].Kv : null;

    private KeyValue? PrevKv(ByteString key, long revision)
    {
        if (!_versions.TryGetValue(key, out var list))
        {
            return null;
        }
        for (var i = list.Count - 1; i >= 0; i--)
        {
            if (list[i].Revision < revision)
            {
                return list[i].Kv;
            }
        }
        return null;
    }

    private void Record(ByteString key, long revision, KeyValue? kv)
    {
        if (!_versions.TryGetValue(key, out var list))
        {
            list = new List<(long, KeyValue?)>();
            _versions.Add(key, list);
        }
        list.Add((revision, kv));
    }
}
