using System.Runtime.InteropServices;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Mvcc.Index;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;

namespace Akka.Etcd.Storage.Mvcc;

/// <summary>
/// etcd's multi-version key-value store (mvcc/kvstore.go, kvstore_txn.go) on a SQLite <see cref="SqliteBackend"/> and an
/// in-memory <see cref="KeyIndex"/>. It speaks MVCC terms (keys, ranges, revisions, leases; mvccpb KeyValue and Event):
/// the KV requests of the API are applied on top of it by the member's applier (Akka.Etcd.Actors.Store.Apply, etcd's
/// applierV3backend).
/// <para>Revision: 1 on an empty store, +1 per write request or txn that changes something. Each write is applied at a
/// raft index, recorded as <see cref="ConsistentIndex"/> in the same backend batch as its changes. Writes are batched;
/// the owner calls <see cref="Commit"/> when idle or every 100 ms (etcd's backend batch interval).</para>
/// <para>Read path choice: the index keeps only revisions, never values, to keep RSS small (about 72 bytes + key length
/// per key with one revision, vs ~150 in etcd); a read of the latest revision of one key is one index lookup plus one
/// SQLite primary-key read (a few µs), which SQLite's page cache serves from memory for hot keys.</para>
/// <para>NOT thread-safe: the owner (MvccStoreActor) calls it from one thread. Errors that reach clients are
/// <see cref="Protos.Errors.EtcdException"/>s from <see cref="Protos.Errors.EtcdErrors"/>; a write that fails with one
/// before changing anything leaves the data unchanged (the consistent index still moves to the entry's index). Any other exception during a write
/// faults the store (<see cref="IsFaulted"/>): nothing more is committed, further writes and commits throw
/// InvalidOperationException; dispose it and open it again (the raft WAL replays the uncommitted tail).</para>
/// </summary>
public sealed partial class MvccStore : IDisposable
{
    internal const string MetaScheduledCompact = "scheduled_compact_rev";
    internal const string MetaFinishedCompact = "finished_compact_rev";

    readonly SqliteBackend _backend;
    readonly KeyIndex _index = new();
    readonly MvccStoreOptions _options;
    readonly ILogger _logger;
    long _currentRevision = 1;
    long _compactRevision = -1;
    bool _faulted;

    // state of the write being applied (etcd's storeTxnWrite)
    long _beginRevision;
    int _changes;
    List<Event>? _events;
    IReadOnlyList<Event> _lastEvents = [];

    MvccStore(SqliteBackend backend, MvccStoreOptions options, ILogger logger)
    {
        _backend = backend;
        _options = options;
        _logger = logger;
    }

    /// <summary>
    /// Opens the store at <paramref name="dbPath"/> (normally <c>SqliteBackend.DefaultPath(dataDir)</c>): rebuilds the key
    /// index from the backend rows, restores revision, compact revision and consistent index, and finishes a compaction
    /// that was scheduled but not finished before a crash.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A batch limit in <paramref name="options"/> is not positive.</exception>
    public static MvccStore Open(string dbPath, MvccStoreOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.CompactionBatchLimit);
        logger ??= NullLogger.Instance;
        var backend = SqliteBackend.Open(dbPath, options.BatchLimit, logger);
        var store = new MvccStore(backend, options, logger);
        try
        {
            store.Restore();
        }
        catch
        {
            backend.DisposeWithoutCommit();
            throw;
        }
        return store;
    }

    /// <summary>The store revision: 1 when empty, the revision of the last change otherwise.</summary>
    public long CurrentRevision => _currentRevision;

    /// <summary>The last compaction revision; -1 when never compacted (etcd's initial compactMainRev).</summary>
    public long CompactRevision => _compactRevision;

    /// <summary>The raft index of the last applied entry (0 on a new store).</summary>
    public ulong ConsistentIndex => _backend.ConsistentIndex;

    /// <summary>Number of keys that exist at the current revision or still have history in the index.</summary>
    public int IndexedKeyCount => _index.Count;

    /// <summary>
    /// The events of the last write: PUT with the new KeyValue, DELETE with the key and mod_revision = the delete's revision,
    /// in sub-revision order. Empty after an entry that changed nothing (failed request, no-op, compaction); reads leave it as is. A new list per write.
    /// </summary>
    public IReadOnlyList<Event> LastEvents => _lastEvents;

    /// <summary>
    /// The backend, for other services that keep their state (members, leases, auth) in the same file and batch through
    /// its bucket API. Use it only from the store's thread.
    /// </summary>
    public SqliteBackend Backend => _backend;

    /// <summary>True after a backend failure in the middle of a write: the store refuses further use and must be reopened.</summary>
    public bool IsFaulted => _faulted;

    /// <summary>Commits the pending backend batch with the consistent index (not fsynced). Call when idle / every 100 ms.</summary>
    /// <exception cref="InvalidOperationException">The store is faulted (<see cref="IsFaulted"/>).</exception>
    public void Commit()
    {
        ThrowIfFaulted();
        _backend.Commit();
    }

    /// <summary>Commits the batch; with <paramref name="durable"/> also fsyncs it (before raft log compaction drops WAL).</summary>
    /// <exception cref="InvalidOperationException">The store is faulted (<see cref="IsFaulted"/>).</exception>
    public void ForceCommit(bool durable)
    {
        ThrowIfFaulted();
        _backend.ForceCommit(durable);
    }

    /// <summary>Records an applied raft entry that changes no key (moves <see cref="ConsistentIndex"/> only).</summary>
    public void ApplyNoop(ulong index)
    {
        ThrowIfFaulted();
        _lastEvents = [];
        _backend.ConsistentIndex = index;
        _backend.CommitIfBatchFull();
    }

    /// <summary>Commits the pending batch and closes the backend (a faulted store is closed without committing).</summary>
    public void Dispose()
    {
        if (_faulted) _backend.DisposeWithoutCommit();
        else _backend.Dispose();
    }

    /// <summary>Closes the backend without committing, as a crash would (tests).</summary>
    internal void DisposeWithoutCommit() => _backend.DisposeWithoutCommit();

    void Restore()
    {
        var finished = _backend.ReadMeta(MetaFinishedCompact);
        var scheduled = _backend.ReadMeta(MetaScheduledCompact);
        if (finished is { } f) _compactRevision = f;

        long lastMain = 0;
        _backend.ForEachIndexRow((main, sub, tombstone, key, createRevision, version) =>
        {
            lastMain = main;
            if (tombstone)
            {
                if (_index.Find(key) is { IsLive: true } entry) entry.AddTombstone(main, sub);
                return;
            }
            _index.GetOrAdd(key).AddPut(main, sub, createRevision, version);
        });
        _currentRevision = Math.Max(1, lastMain);
        if (_currentRevision < _compactRevision) _currentRevision = _compactRevision;

        if (scheduled is { } s && s > _compactRevision)
        {
            _logger.LogInformation("resuming scheduled compaction at revision {Revision}", s);
            CompactCore(s);
            _backend.Commit();
        }
        _logger.LogInformation(
            "mvcc store restored: revision {Revision}, compact revision {CompactRevision}, consistent index {Index}, {Keys} keys",
            _currentRevision, _compactRevision, _backend.ConsistentIndex, _index.Count);
    }

    // ----- transactions (etcd's storeTxnRead / storeTxnWrite) -----

    /// <summary>
    /// Runs one raft entry's write transaction (etcd's <c>s.Write()</c> ... <c>End()</c>): <paramref name="apply"/> gets a
    /// <see cref="MvccTxn"/> whose writes all land in one new revision (none when it writes nothing), then the entry's
    /// <paramref name="index"/> is recorded as <see cref="ConsistentIndex"/> in the same backend batch and
    /// <see cref="LastEvents"/> is set. An <see cref="EtcdException"/> thrown before any write still records the index and
    /// is rethrown (the request failed, the store is unchanged); any other exception, or one after a write, faults the
    /// store (<see cref="IsFaulted"/>) so a partial write is never committed.
    /// </summary>
    /// <typeparam name="TState">What <paramref name="apply"/> needs (e.g. the request), passed without a closure.</typeparam>
    /// <typeparam name="TResult">What <paramref name="apply"/> returns (e.g. the response).</typeparam>
    /// <exception cref="InvalidOperationException">The store is faulted.</exception>
    public TResult Write<TState, TResult>(ulong index, TState state, Func<MvccTxn, TState, TResult> apply)
    {
        ThrowIfFaulted();
        BeginWrite();
        TResult result;
        try
        {
            result = apply(new MvccTxn(this, writable: true), state);
        }
        catch (EtcdException) when (_changes == 0)
        {
            EndWrite(index);
            throw;
        }
        catch
        {
            Fault();
            throw;
        }
        EndWrite(index);
        return result;
    }

    /// <summary>
    /// A read transaction at the current revision (etcd's <c>s.Read()</c>), for reads outside the raft log (ranges,
    /// serializable and read-only txns). Valid until the next <see cref="Write{TState, TResult}"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The store is faulted.</exception>
    public MvccTxn Read()
    {
        ThrowIfFaulted();
        BeginWrite();
        return new MvccTxn(this, writable: false);
    }

    /// <summary>
    /// True when the lease exists in the lessor given as <see cref="MvccStoreOptions.LeaseExists"/> (false without one).
    /// Writers check it before putting a key with a lease, as etcd's applier asks its lessor.
    /// </summary>
    public bool LeaseExists(long lease) => _options.LeaseExists?.Invoke(lease) ?? false;

    internal long TxnBeginRevision => _beginRevision;

    internal long TxnRevision => WriteReadRevision;

    internal bool TxnHasChanges => _changes > 0;

    void Fault()
    {
        _faulted = true;
        _logger.LogError("mvcc store faulted during a write; it must be reopened (the raft WAL replays the uncommitted tail)");
    }

    void ThrowIfFaulted()
    {
        if (_faulted) throw new InvalidOperationException("mvcc store faulted during a write; dispose it and open it again");
    }

    void BeginWrite()
    {
        _beginRevision = _currentRevision;
        _changes = 0;
        _events = null;
    }

    void EndWrite(ulong index)
    {
        if (_changes > 0) _currentRevision++;
        _lastEvents = _changes > 0 ? _events! : [];
        _events = null;
        _backend.ConsistentIndex = index;
        _backend.CommitIfBatchFull();
    }

    /// <summary>Revision a read inside the current write sees (etcd: beginRev, +1 once something changed).</summary>
    long WriteReadRevision => _changes > 0 ? _beginRevision + 1 : _beginRevision;

    void PutCore(ReadOnlySpan<byte> key, ByteString value, long lease)
    {
        var revision = _beginRevision + 1;
        var sub = _changes;
        var entry = _index.GetOrAdd(key);
        var created = entry.IsLive ? entry.CreatedMain : revision;
        var version = entry.IsLive ? entry.Version + 1 : 1;
        _backend.WriteRevision(revision, sub, tombstone: false, entry.Key, created, version, lease, ArrayOf(value));
        entry.AddPut(revision, sub, created, version);
        _changes++;
        (_events ??= []).Add(new Event
        {
            Type = Event.Types.EventType.Put,
            Kv = new KeyValue
            {
                Key = UnsafeByteOperations.UnsafeWrap(entry.Key),
                Value = value,
                CreateRevision = created,
                ModRevision = revision,
                Version = version,
                Lease = lease,
            },
        });
    }

    void TombstoneCore(KeyEntry entry)
    {
        var revision = _beginRevision + 1;
        var sub = _changes;
        _backend.WriteRevision(revision, sub, tombstone: true, entry.Key, 0, 0, 0, null);
        entry.AddTombstone(revision, sub);
        _changes++;
        (_events ??= []).Add(new Event
        {
            Type = Event.Types.EventType.Delete,
            Kv = new KeyValue { Key = UnsafeByteOperations.UnsafeWrap(entry.Key), ModRevision = revision },
        });
    }

    // ----- reads shared by the paths -----

    /// <summary>Reads the stored version of <paramref name="entry"/> at <paramref name="revision"/> as a KeyValue.</summary>
    KeyValue ReadKeyValue(KeyEntry entry, IndexedRevision revision)
    {
        if (!_backend.TryReadRevision(revision.Main, revision.Sub, out var row))
            throw new InvalidOperationException(
                $"mvcc: backend has no row for revision {revision} of key {Convert.ToHexString(entry.Key)} (index and backend disagree)");
        return new KeyValue
        {
            Key = UnsafeByteOperations.UnsafeWrap(entry.Key),
            Value = UnsafeByteOperations.UnsafeWrap(row.Value),
            CreateRevision = row.CreateRevision,
            ModRevision = revision.Main,
            Version = row.Version,
            Lease = row.Lease,
        };
    }

    /// <summary>The KeyValue of a key visible at <paramref name="atRevision"/>, or null; no compaction checks.</summary>
    KeyValue? ReadVisible(ReadOnlySpan<byte> key, long atRevision)
    {
        var entry = _index.Find(key);
        return entry is not null && entry.TryGetVisible(atRevision, out var revision) ? ReadKeyValue(entry, revision) : null;
    }

    /// <summary>A byte[] holding exactly the ByteString's bytes, without copying when possible.</summary>
    static byte[] ArrayOf(ByteString bytes)
    {
        if (bytes.Length == 0) return [];
        return MemoryMarshal.TryGetArray(bytes.Memory, out var segment) && segment.Offset == 0 &&
               segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToByteArray();
    }
}
