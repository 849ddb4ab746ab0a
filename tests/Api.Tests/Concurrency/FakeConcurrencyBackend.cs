using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Akka.Etcd.Api.Concurrency;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Akka.Etcd.Api.Tests.Concurrency;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// An in-memory MVCC keyspace with leases and watches, enough of etcd's KV semantics for the Lock and Election
/// services: revisions, create/mod revisions and versions, prefix ranges sorted by create revision with limit and
/// max_create_revision, txns with create-revision compares, lease-bound keys deleted in one revision on revoke, and
/// watches replayed from any revision. All state sits behind one lock; watch events are written to unbounded channels.
/// </summary>
internal sealed class FakeConcurrencyBackend : IConcurrencyBackend
{
    private readonly object _gate = new();
    private readonly SortedDictionary<ByteString, KeyValue> _live = new(KeyOrder.Instance);
    private readonly Dictionary<long, long> _leaseTtls = [];
    private readonly List<(long Revision, List<Event> Events)> _history = [];
    private readonly List<ActiveWatch> _active = [];
    private readonly List<WatchRegistration> _registrations = [];
    private readonly List<(Func<WatchRegistration, bool> Match, TaskCompletionSource<WatchRegistration> Done)> _watchWaiters = [];
    private long _revision = 1;
    private long _nextLeaseId = 0x1000;
    private TaskCompletionSource _change = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The current revision.</summary>
    public long Revision
    {
        get { lock (_gate) { return _revision; } }
    }

    /// <summary>Every watch opened so far, in order.</summary>
    public IReadOnlyList<WatchRegistration> Registrations
    {
        get { lock (_gate) { return _registrations.ToList(); } }
    }

    /// <summary>Watches open now.</summary>
    public int ActiveWatchCount
    {
        get { lock (_gate) { return _active.Count; } }
    }

    /// <summary>Grants a lease with a 60 s TTL that never runs down by itself.</summary>
    public void GrantLease(long id)
    {
        lock (_gate) { _leaseTtls[id] = 60; }
    }

    /// <summary>The lease passed its deadline but its revoke is not applied: TTL 0, its keys stay.</summary>
    public void ExpireLease(long id)
    {
        lock (_gate) { _leaseTtls[id] = 0; }
    }

    /// <summary>Leases that exist now.</summary>
    public IReadOnlyList<long> Leases
    {
        get { lock (_gate) { return _leaseTtls.Keys.Order().ToList(); } }
    }

    /// <summary>Revokes a lease: its keys are deleted in one new revision (as etcd's lessor revoke).</summary>
    public void RevokeLease(long id)
    {
        lock (_gate)
        {
            _leaseTtls.Remove(id);
            var attached = _live.Values.Where(kv => kv.Lease == id).Select(kv => kv.Key).ToList();
            if (attached.Count == 0)
            {
                return;
            }
            var revision = _revision + 1;
            var events = attached.Select(key => Delete(key, revision)).ToList();
            Commit(revision, events);
        }
    }

    /// <summary>The live keys starting with <paramref name="prefix"/>, in key order.</summary>
    public IReadOnlyList<KeyValue> Keys(string prefix)
    {
        lock (_gate)
        {
            return _live.Values.Where(kv => kv.Key.ToStringUtf8().StartsWith(prefix, StringComparison.Ordinal)).Select(kv => kv.Clone()).ToList();
        }
    }

    /// <summary>Completes at the next write or watch close after this call (take it before checking a condition).</summary>
    public Task NextChange()
    {
        lock (_gate) { return _change.Task; }
    }

    /// <summary>Completes with the first watch (open now or later) that <paramref name="match"/> accepts.</summary>
    public Task<WatchRegistration> WatchOpened(Func<WatchRegistration, bool> match)
    {
        lock (_gate)
        {
            var open = _active.Select(a => a.Registration).FirstOrDefault(match);
            if (open is not null)
            {
                return Task.FromResult(open);
            }
            var done = new TaskCompletionSource<WatchRegistration>(TaskCreationOptions.RunContinuationsAsynchronously);
            _watchWaiters.Add((match, done));
            return done.Task;
        }
    }

    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var response = Range(request);
            response.Header = Header();
            return Task.FromResult(response);
        }
    }

    public Task<DeleteRangeResponse> DeleteRangeAsync(DeleteRangeRequest request, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        if (request.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey;
        }
        lock (_gate)
        {
            var revision = _revision + 1;
            var events = new List<Event>();
            var response = DeleteRange(request, revision, events);
            Commit(revision, events);
            response.Header = Header();
            return Task.FromResult(response);
        }
    }

    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var succeeded = request.Compare.All(Holds);
            var ops = succeeded ? request.Success : request.Failure;
            foreach (var op in ops)
            {
                if (op.RequestCase == RequestOp.RequestOneofCase.RequestPut && op.RequestPut.Lease != 0 && !_leaseTtls.ContainsKey(op.RequestPut.Lease))
                {
                    throw EtcdErrors.LeaseNotFound;
                }
            }
            var revision = _revision + 1;
            var events = new List<Event>();
            var response = new TxnResponse { Succeeded = succeeded };
            foreach (var op in ops)
            {
                response.Responses.Add(op.RequestCase switch
                {
                    RequestOp.RequestOneofCase.RequestRange => new ResponseOp { ResponseRange = Range(op.RequestRange) },
                    RequestOp.RequestOneofCase.RequestPut => new ResponseOp { ResponsePut = Put(op.RequestPut, revision, events) },
                    RequestOp.RequestOneofCase.RequestDeleteRange => new ResponseOp { ResponseDeleteRange = DeleteRange(op.RequestDeleteRange, revision, events) },
                    _ => throw new ArgumentException($"op {op.RequestCase} is not modelled by the fake"),
                });
            }
            Commit(revision, events);
            response.Header = Header();
            return Task.FromResult(response);
        }
    }

    public Task<LeaseGrantResponse> LeaseGrantAsync(LeaseGrantRequest request, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var id = request.ID != 0 ? request.ID : _nextLeaseId++;
            if (_leaseTtls.ContainsKey(id))
            {
                throw EtcdErrors.LeaseExist;
            }
            _leaseTtls[id] = request.TTL;
            return Task.FromResult(new LeaseGrantResponse { Header = Header(), ID = id, TTL = request.TTL });
        }
    }

    public Task<LeaseTimeToLiveResponse> LeaseTimeToLiveAsync(LeaseTimeToLiveRequest request, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var ttl = _leaseTtls.TryGetValue(request.ID, out var left) ? left : -1;
            return Task.FromResult(new LeaseTimeToLiveResponse { Header = Header(), ID = request.ID, TTL = ttl });
        }
    }

    public async IAsyncEnumerable<WatchResponse> WatchAsync(ByteString key, ByteString rangeEnd, long startRevision,
        [EnumeratorCancellation] CancellationToken cancel)
    {
        var watch = new ActiveWatch(new WatchRegistration(key.ToStringUtf8(), rangeEnd.ToStringUtf8(), startRevision), key, rangeEnd);
        lock (_gate)
        {
            foreach (var (revision, events) in _history.Where(h => h.Revision >= startRevision))
            {
                watch.Offer(revision, events);
            }
            _active.Add(watch);
            _registrations.Add(watch.Registration);
            foreach (var waiter in _watchWaiters.Where(w => w.Match(watch.Registration)).ToList())
            {
                _watchWaiters.Remove(waiter);
                waiter.Done.TrySetResult(watch.Registration);
            }
        }
        try
        {
            await foreach (var response in watch.Channel.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
            {
                yield return response;
            }
        }
        finally
        {
            lock (_gate)
            {
                _active.Remove(watch);
                SignalChange();
            }
        }
    }

    private void SignalChange()
    {
        _change.TrySetResult();
        _change = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private ResponseHeader Header() => new() { ClusterId = 1, MemberId = 1, RaftTerm = 1, Revision = _revision };

    private bool Holds(Compare compare)
    {
        if (compare.Target != Compare.Types.CompareTarget.Create || compare.Result != Compare.Types.CompareResult.Equal || !compare.RangeEnd.IsEmpty)
        {
            throw new ArgumentException("only create_revision == compares on one key are modelled by the fake");
        }
        var actual = _live.TryGetValue(compare.Key, out var kv) ? kv.CreateRevision : 0;
        return actual == compare.CreateRevision;
    }

    private IEnumerable<KeyValue> Select(ByteString key, ByteString rangeEnd) => rangeEnd.IsEmpty
        ? (_live.TryGetValue(key, out var kv) ? [kv] : [])
        : _live.Values.Where(kv => KeyOrder.Instance.Compare(kv.Key, key) >= 0 && KeyOrder.Instance.Compare(kv.Key, rangeEnd) < 0);

    private RangeResponse Range(RangeRequest request)
    {
        var kvs = Select(request.Key, request.RangeEnd).Where(kv => request.MaxCreateRevision == 0 || kv.CreateRevision <= request.MaxCreateRevision);
        kvs = (request.SortTarget, request.SortOrder) switch
        {
            (RangeRequest.Types.SortTarget.Create, RangeRequest.Types.SortOrder.Ascend) => kvs.OrderBy(kv => kv.CreateRevision),
            (RangeRequest.Types.SortTarget.Create, RangeRequest.Types.SortOrder.Descend) => kvs.OrderByDescending(kv => kv.CreateRevision),
            (RangeRequest.Types.SortTarget.Key, RangeRequest.Types.SortOrder.None) => kvs,
            _ => throw new ArgumentException("only create-revision sorting is modelled by the fake"),
        };
        var all = kvs.ToList();
        var response = new RangeResponse { Count = all.Count };
        var taken = request.Limit > 0 ? all.Take((int)request.Limit).ToList() : all;
        response.More = taken.Count < all.Count;
        response.Kvs.AddRange(taken.Select(kv => kv.Clone()));
        return response;
    }

    private PutResponse Put(PutRequest request, long revision, List<Event> events)
    {
        var kv = _live.TryGetValue(request.Key, out var previous)
            ? new KeyValue { Key = request.Key, CreateRevision = previous.CreateRevision, Version = previous.Version + 1 }
            : new KeyValue { Key = request.Key, CreateRevision = revision, Version = 1 };
        kv.ModRevision = revision;
        kv.Value = request.Value;
        kv.Lease = request.Lease;
        _live[request.Key] = kv;
        events.Add(new Event { Type = Event.Types.EventType.Put, Kv = kv.Clone() });
        return new PutResponse();
    }

    private DeleteRangeResponse DeleteRange(DeleteRangeRequest request, long revision, List<Event> events)
    {
        var keys = Select(request.Key, request.RangeEnd).Select(kv => kv.Key).ToList();
        events.AddRange(keys.Select(key => Delete(key, revision)));
        return new DeleteRangeResponse { Deleted = keys.Count };
    }

    private Event Delete(ByteString key, long revision)
    {
        _live.Remove(key);
        return new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = key, ModRevision = revision } };
    }

    private void Commit(long revision, List<Event> events)
    {
        if (events.Count == 0)
        {
            return;
        }
        _revision = revision;
        _history.Add((revision, events));
        SignalChange();
        foreach (var watch in _active)
        {
            watch.Offer(revision, events);
        }
    }

    /// <summary>One watch opened through <see cref="WatchAsync"/>: its key (and range end, empty for one key) as text.</summary>
    public sealed record WatchRegistration(string Key, string RangeEnd, long StartRevision);

    private sealed class ActiveWatch(WatchRegistration registration, ByteString key, ByteString rangeEnd)
    {
        public WatchRegistration Registration { get; } = registration;

        public Channel<WatchResponse> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<WatchResponse>();

        public void Offer(long revision, List<Event> events)
        {
            var matching = events.Where(Matches).Select(e => e.Clone()).ToList();
            if (matching.Count == 0)
            {
                return;
            }
            var response = new WatchResponse { Header = new ResponseHeader { ClusterId = 1, MemberId = 1, RaftTerm = 1, Revision = revision } };
            response.Events.AddRange(matching);
            Channel.Writer.TryWrite(response);
        }

        private bool Matches(Event e) => rangeEnd.IsEmpty
            ? e.Kv.Key == key
            : KeyOrder.Instance.Compare(e.Kv.Key, key) >= 0 && KeyOrder.Instance.Compare(e.Kv.Key, rangeEnd) < 0;
    }

    private sealed class KeyOrder : IComparer<ByteString>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare(ByteString? x, ByteString? y) => x!.Span.SequenceCompareTo(y!.Span);
    }
}
