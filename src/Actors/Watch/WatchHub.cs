using Etcdserverpb;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// The member's watch entry point (etcd's <c>watchableStore</c> notify side): the store publishes every applied
/// revision here, the hub fans it out by <c>Tell</c> to each open stream's <see cref="WatcherActor"/>, which
/// matches it against its own watchers. Threading: <see cref="Publish"/> and <see cref="Restore"/> are called on
/// the store's thread and never wait (a lock held for a few instructions, then one Tell per stream with a
/// message shared by all streams); <see cref="OpenStream"/> may be called from any thread.
/// </summary>
public sealed class WatchHub
{
    private readonly object _gate = new();
    private readonly IWatchHistory _history;
    private readonly Func<ResponseHeader> _header;
    private readonly WatchStreamOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly HashSet<WatcherActor> _streams = new();
    private WatcherActor[] _snapshot = Array.Empty<WatcherActor>();
    private bool _snapshotStale;
    private long _revision;
    private int _prevKvWatchers;

    /// <summary>Creates the hub.</summary>
    /// <param name="history">The store's history reads, for catch-up.</param>
    /// <param name="currentRevision">The store's current revision when the hub is created.</param>
    /// <param name="header">
    /// Returns a new <see cref="ResponseHeader"/> with cluster_id, member_id and raft_term filled; called on
    /// stream actors' threads for each response, which then set <c>revision</c>.
    /// </param>
    /// <param name="options">Options of every stream opened here (defaults when null).</param>
    /// <param name="loggers">Loggers (none when null).</param>
    public WatchHub(IWatchHistory history, long currentRevision, Func<ResponseHeader> header,
        WatchStreamOptions? options = null, ILoggerFactory? loggers = null)
    {
        _history = history;
        _revision = currentRevision;
        _header = header;
        _options = options ?? new WatchStreamOptions();
        _loggers = loggers ?? NullLoggerFactory.Instance;
    }

    /// <summary>The last revision published (or given at creation / restore).</summary>
    public long CurrentRevision
    {
        get
        {
            lock (_gate)
            {
                return _revision;
            }
        }
    }

    /// <summary>Open streams.</summary>
    public int StreamCount
    {
        get
        {
            lock (_gate)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>
    /// True while some watcher asked for prev_kv: the store should then fill <c>Event.prev_kv</c> on published
    /// events. Optional: an event that needs prev_kv and lacks it makes that watcher catch up from history.
    /// </summary>
    public bool PrevKvWanted => Volatile.Read(ref _prevKvWatchers) > 0;

    /// <summary>
    /// Publishes one applied revision: all its events (a txn's events together), PUT with the new kv, DELETE
    /// with kv = {key, mod_revision}, each optionally with prev_kv. Called on the store's thread, in revision
    /// order; the list and events must not be changed afterwards. Never blocks.
    /// </summary>
    public void Publish(long revision, IReadOnlyList<Event> events)
    {
        WatcherActor[] streams;
        lock (_gate)
        {
            _revision = revision;
            streams = StreamsSnapshot();
        }
        if (streams.Length == 0)
        {
            return;
        }
        var message = new WatcherMessage.Published(revision, events);
        foreach (var stream in streams)
        {
            stream.Tell(message);
        }
    }

    /// <summary>
    /// Tells every stream the store was replaced from a snapshot at <paramref name="revision"/> (etcd's
    /// <c>watchableStore.Restore</c>): every watcher re-syncs from history. Called on the store's thread.
    /// </summary>
    public void Restore(long revision)
    {
        WatcherActor[] streams;
        lock (_gate)
        {
            _revision = revision;
            streams = StreamsSnapshot();
        }
        var message = new WatcherMessage.Restored(revision);
        foreach (var stream in streams)
        {
            stream.Tell(message);
        }
    }

    /// <summary>
    /// Opens the actor of one client Watch stream, registered and started. Feed it the client's requests with
    /// <see cref="WatcherActor.Request"/>, send what <see cref="WatcherActor.Outbox"/> yields, and
    /// <see cref="Mailbox.Actor{TMessage}.Stop"/> it when the stream ends (it then unregisters itself).
    /// </summary>
    public WatcherActor OpenStream()
    {
        var actor = new WatcherActor(this, _history, _header, _options, _loggers.CreateLogger<WatcherActor>());
        actor.Start();
        return actor;
    }

    /// <summary>Adds a stream; returns the revision it starts after (every later revision reaches it).</summary>
    internal long Register(WatcherActor stream)
    {
        lock (_gate)
        {
            _streams.Add(stream);
            _snapshotStale = true;
            return _revision;
        }
    }

    internal void Unregister(WatcherActor stream)
    {
        lock (_gate)
        {
            if (_streams.Remove(stream))
            {
                _snapshotStale = true;
            }
        }
    }

    /// <summary>The streams as an array, rebuilt only after a change (call under the gate).</summary>
    private WatcherActor[] StreamsSnapshot()
    {
        if (_snapshotStale)
        {
            _snapshot = _streams.Count == 0 ? Array.Empty<WatcherActor>() : _streams.ToArray();
            _snapshotStale = false;
        }
        return _snapshot;
    }

    internal void AddPrevKvWatchers(int delta) => Interlocked.Add(ref _prevKvWatchers, delta);
}
