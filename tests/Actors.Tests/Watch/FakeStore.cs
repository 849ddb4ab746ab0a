using Akka.Actor;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Watch;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Actors.Tests.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// Stands in for the MvccStoreActor on the watch side, speaking <see cref="StoreProtocol"/>: answers
/// <see cref="StoreProtocol.RegisterWatchStream"/> with <see cref="StoreProtocol.WatchStreamRegistered"/> (and
/// watches the stream), counts <see cref="StoreProtocol.PrevKvWatchers"/>, answers
/// <see cref="StoreProtocol.RunQuery"/> of <see cref="StoreProtocol.History"/> with a <see cref="HistoryResult"/>, and
/// publishes every revision the test writes as <see cref="WatcherProtocol.Published"/> to the registered streams. Writes,
/// publishes and reads all run in this actor's handlers, one at a time, so a read's answer is ordered with the
/// published revisions exactly as the real store orders them. Reads are answered at once, or kept until the test sends
/// <see cref="AnswerPendingReads"/> (a store busy with other work); each kept read is reported to the read observer.
/// Driven through <see cref="FakeStoreDriver"/>.
/// </summary>
internal sealed class FakeStore : ReceiveActor
{
    private readonly List<(long Revision, List<Event> Events)> _history = new();
    private readonly Dictionary<ByteString, List<(long Revision, KeyValue? Kv)>> _versions = new();
    private readonly Queue<(HistoryRequest Request, IActorRef ReplyTo)> _pending = new();
    private readonly List<HistoryRequest> _reads = new();
    private readonly List<IActorRef> _streams = new();
    private long _revision;
    private long _compactRevision;
    private int _prevKvWatchers;
    private FakeStoreSettings _settings;

    public static Props Props(FakeStoreSettings settings, IActorRef readObserver) =>
        Akka.Actor.Props.Create(() => new FakeStore(settings, readObserver));

    public FakeStore(FakeStoreSettings settings, IActorRef readObserver)
    {
        _settings = settings;
        Receive<StoreProtocol.RegisterWatchStream>(_ =>
        {
            _streams.Add(Sender);
            Context.Watch(Sender);
            Sender.Tell(new StoreProtocol.WatchStreamRegistered(_revision));
        });
        Receive<Terminated>(terminated => _streams.Remove(terminated.ActorRef));
        Receive<StoreProtocol.PrevKvWatchers>(change => _prevKvWatchers += change.Delta);
        Receive<StoreProtocol.RunQuery>(query =>
        {
            if (query.Query is not StoreProtocol.History history)
            {
                Sender.Tell(new Status.Failure(new NotSupportedException("the fake store only reads history")));
                return;
            }
            _reads.Add(history.Request);
            if (_settings.FailReads > 0)
            {
                _settings = _settings with { FailReads = _settings.FailReads - 1 };
                Sender.Tell(new Status.Failure(new IOException("injected history read failure")));
            }
            else if (_settings.AnswerReadsAtOnce)
            {
                Sender.Tell(Read(history.Request));
            }
            else
            {
                _pending.Enqueue((history.Request, Sender));
                readObserver.Tell(new ReadQueued(history.Request));
            }
        });
        Receive<Write>(write =>
        {
            foreach (var ops in write.Revisions)
            {
                Apply(ops);
            }
            Sender.Tell(new Written(_revision));
        });
        Receive<Compact>(compact =>
        {
            _compactRevision = compact.Revision;
            _history.RemoveAll(h => h.Revision < compact.Revision);
            Sender.Tell(Done.Instance);
        });
        Receive<AnswerPendingReads>(_ =>
        {
            while (_pending.TryDequeue(out var read))
            {
                read.ReplyTo.Tell(Read(read.Request));
            }
            Sender.Tell(Done.Instance);
        });
        Receive<Restore>(_ =>
        {
            foreach (var stream in _streams)
            {
                stream.Tell(new WatcherProtocol.Restored(_revision));
            }
            Sender.Tell(Done.Instance);
        });
        Receive<FakeStoreSettings>(settings =>
        {
            _settings = settings;
            Sender.Tell(Done.Instance);
        });
        Receive<GetState>(_ => Sender.Tell(new State(_revision, _reads.ToList(), _pending.Count, _streams.Count, _prevKvWatchers)));
    }

    /// <summary>Writes revisions, one per entry (a PUT per (key, value), a DELETE per (key, null) of a live key); answered <see cref="Written"/>.</summary>
    public sealed record Write(IReadOnlyList<(string Key, string? Value)[]> Revisions);

    /// <summary>The store's revision after a <see cref="Write"/>.</summary>
    public sealed record Written(long Revision);

    /// <summary>Compacts history below <paramref name="Revision"/>; answered <see cref="Done"/>.</summary>
    public sealed record Compact(long Revision);

    /// <summary>Answers every kept read (read now, up to the current revision); answered <see cref="Done"/>.</summary>
    public sealed record AnswerPendingReads
    {
        public static readonly AnswerPendingReads Instance = new();
    }

    /// <summary>Tells every stream the store was restored at its current revision (as after a backend install); answered <see cref="Done"/>.</summary>
    public sealed record Restore
    {
        public static readonly Restore Instance = new();
    }

    public sealed record GetState
    {
        public static readonly GetState Instance = new();
    }

    /// <summary>What the store holds and has seen.</summary>
    public sealed record State(long Revision, IReadOnlyList<HistoryRequest> Reads, int PendingReads, int Streams, int PrevKvWatchers);

    /// <summary>Told to the read observer for every read kept for <see cref="AnswerPendingReads"/>.</summary>
    public sealed record ReadQueued(HistoryRequest Request);

    public sealed record Done
    {
        public static readonly Done Instance = new();
    }

    private void Apply((string Key, string? Value)[] ops)
    {
        var revision = _revision + 1;
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
            return;
        }
        _revision = revision;
        _history.Add((revision, events));
        if (!_settings.Publishing)
        {
            return;
        }
        // As the real store: prev_kv is filled on published events only while some watcher wants it.
        var fillPrevKv = _settings.PublishPrevKv && _prevKvWatchers > 0;
        var published = new WatcherProtocol.Published(revision, events.Select(e => fillPrevKv && PrevKv(e.Kv.Key, revision) is { } prev
            ? new Event { Type = e.Type, Kv = e.Kv, PrevKv = prev }
            : e).ToList());
        foreach (var stream in _streams)
        {
            stream.Tell(published);
        }
    }

    private HistoryResult Read(HistoryRequest request)
    {
        // HistoryResult's contract: the events of [max(from, compact revision), up-to revision].
        var from = Math.Max(Math.Max(request.FromRevision, _compactRevision), 1);
        var upTo = Math.Min(_revision, from + request.MaxRevisions - 1);
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
        return new HistoryResult(events, upTo, _compactRevision);
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

/// <summary>How the <see cref="FakeStore"/> behaves; can be changed while it runs.</summary>
/// <param name="AnswerReadsAtOnce">False: history reads wait for <see cref="FakeStore.AnswerPendingReads"/>.</param>
/// <param name="PublishPrevKv">False: published events never carry prev_kv (history reads still fill it when asked).</param>
/// <param name="Publishing">False: writes are not published (revisions installed by a snapshot restore).</param>
/// <param name="FailReads">The next this many history reads are answered with <c>Status.Failure</c>.</param>
internal sealed record FakeStoreSettings(bool AnswerReadsAtOnce = true, bool PublishPrevKv = true, bool Publishing = true, int FailReads = 0);

/// <summary>The test's side of a <see cref="FakeStore"/>: every call returns once the store has done it.</summary>
internal sealed class FakeStoreDriver(IActorRef store)
{
    public IActorRef Ref { get; } = store;

    public Task<long> PutAsync(string key, string value) => TxnAsync((key, value));

    public Task<long> DeleteAsync(string key) => TxnAsync((key, null));

    /// <summary>One revision; returns the store's revision after it.</summary>
    public Task<long> TxnAsync(params (string Key, string? Value)[] ops) => WriteAsync(new[] { ops });

    /// <summary>Many revisions in one handler of the store (as one apply batch of the real store).</summary>
    public async Task<long> WriteAsync(IReadOnlyList<(string Key, string? Value)[]> revisions) =>
        (await Ref.Ask<FakeStore.Written>(new FakeStore.Write(revisions), StreamProbe.Deadline)).Revision;

    public Task CompactAsync(long revision) => Ref.Ask<FakeStore.Done>(new FakeStore.Compact(revision), StreamProbe.Deadline);

    public Task AnswerPendingReadsAsync() => Ref.Ask<FakeStore.Done>(FakeStore.AnswerPendingReads.Instance, StreamProbe.Deadline);

    public Task RestoreAsync() => Ref.Ask<FakeStore.Done>(FakeStore.Restore.Instance, StreamProbe.Deadline);

    public Task ConfigureAsync(FakeStoreSettings settings) => Ref.Ask<FakeStore.Done>(settings, StreamProbe.Deadline);

    public Task<FakeStore.State> StateAsync() => Ref.Ask<FakeStore.State>(FakeStore.GetState.Instance, StreamProbe.Deadline);

    public async Task<long> RevisionAsync() => (await StateAsync()).Revision;

    public async Task<IReadOnlyList<HistoryRequest>> ReadsAsync() => (await StateAsync()).Reads;
}
