using System.Buffers.Binary;
using System.Diagnostics;
using Akka.Etcd.Storage.FileSystem;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Storage.Wal;

/// <summary>
/// The write-ahead log of raft HardStates and entries (the behaviour of etcd's wal package, in our own format; see
/// <see cref="WalRecord"/>). A directory of segment files <c>%016x-%016x.wal</c> (sequence, first raft index), each
/// preallocated to <see cref="WalOptions.SegmentSizeBytes"/> and made by the temp-file, fsync, rename, fsync-dir
/// pipeline. The directory is locked (file <c>wal.lock</c>) while open.
/// <para>Threading: NOT thread-safe. Its owner (the WalJournal plugin) calls it from one thread at a time.</para>
/// <para>Errors: any <see cref="IOException"/> from a write or fsync is rethrown to the caller and leaves the log
/// unusable (later calls throw <see cref="IOException"/>), as etcd treats WAL errors as fatal.</para>
/// </summary>
public sealed class WriteAheadLog : IDisposable
{
    /// <summary>Name of the lock file inside the WAL directory.</summary>
    public const string LockFileName = "wal.lock";

    private const string TempSuffix = ".tmp";

    private readonly IStorageFileSystem _fs;
    private readonly string _dir;
    private readonly WalOptions _options;
    private readonly ILogger _logger;
    private readonly List<WalSegmentName> _segments = new();
    private readonly List<long> _segmentFirstSequenceNrs = new();
    private readonly IDisposable _lock;
    private IStorageFile? _file;
    private long _offset;
    private long _segmentDataStart;
    private byte[] _buffer = new byte[64 * 1024];
    private HardState? _hardState;
    private long _nextSequenceNr = 1;
    private bool _unsynced;
    private Exception? _failure;
    private bool _disposed;

    private WriteAheadLog(string dir, WalOptions options, IDisposable dirLock, ulong memberId, ulong clusterId)
    {
        if (options.SegmentSizeBytes < 4096)
            throw new ArgumentOutOfRangeException(nameof(options), "SegmentSizeBytes must be at least 4096 bytes.");
        _fs = options.FileSystem;
        _dir = dir;
        _options = options;
        _logger = options.Logger;
        _lock = dirLock;
        MemberId = memberId;
        ClusterId = clusterId;
    }

    /// <summary>Member ID recorded in every segment.</summary>
    public ulong MemberId { get; }

    /// <summary>Cluster ID recorded in every segment.</summary>
    public ulong ClusterId { get; }

    /// <summary>Raft index of the last entry appended, or of the last snapshot marker when that is higher; 0 when empty.</summary>
    public ulong LastIndex { get; private set; }

    /// <summary>Raft index of the last snapshot marker (0 = none).</summary>
    public ulong SnapshotIndex { get; private set; }

    /// <summary>Raft term of the last snapshot marker (0 = none).</summary>
    public ulong SnapshotTerm { get; private set; }

    /// <summary>
    /// The journal sequence number the next event gets (Akka.Persistence numbering: every HardState, Entry and
    /// snapshot marker record is one event). 1 for a new WAL.
    /// </summary>
    public long NextSequenceNr => _nextSequenceNr;

    /// <summary>The highest journal sequence number used (0 when none); a deletion never lowers it.</summary>
    public long HighestSequenceNr => _nextSequenceNr - 1;

    /// <summary>Events up to this journal sequence number are deleted (<see cref="DeleteTo"/>); 0 when none.</summary>
    public long DeletedToSequenceNr { get; private set; }

    /// <summary>True when something was written since the last <see cref="Sync"/>.</summary>
    public bool HasUnsyncedWrites => _unsynced;

    /// <summary>How long the last <see cref="Sync"/> spent in fdatasync (for etcd_disk_wal_fsync_duration_seconds).</summary>
    public TimeSpan LastSyncDuration { get; private set; }

    /// <summary>Number of segment files currently in the directory.</summary>
    public int SegmentCount => _segments.Count;

    /// <summary>The WAL directory etcd uses by default: <c>&lt;dataDir&gt;/member/wal</c>.</summary>
    public static string DefaultDirectory(string dataDir) => Path.Combine(dataDir, "member", "wal");

    /// <summary>True when <paramref name="dir"/> holds at least one WAL segment file (real file system).</summary>
    public static bool Exists(string dir) => Exists(dir, PhysicalFileSystem.Instance);

    /// <summary>True when <paramref name="dir"/> holds at least one WAL segment file.</summary>
    public static bool Exists(string dir, IStorageFileSystem fileSystem) =>
        fileSystem.ListFiles(dir).Any(n => WalSegmentName.TryParse(n, out _));

    /// <summary>
    /// Creates a new WAL in <paramref name="dir"/> (created when missing) with segment 0 at index 0 holding the metadata,
    /// durable on return. Throws <see cref="IOException"/> when a WAL already exists there and
    /// <see cref="StorageLockedException"/> when the directory is locked.
    /// </summary>
    public static WriteAheadLog Create(string dir, WalOptions options, ulong memberId, ulong clusterId)
    {
        var fs = options.FileSystem;
        fs.CreateDirectory(dir);
        var dirLock = fs.Lock(Path.Combine(dir, LockFileName));
        try
        {
            if (Exists(dir, fs))
                throw new IOException($"a WAL already exists in {dir}");
            DeleteTempFiles(fs, dir);
            var wal = new WriteAheadLog(dir, options, dirLock, memberId, clusterId);
            wal.CreateSegment(new WalSegmentName(0, 0));
            return wal;
        }
        catch
        {
            dirLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the WAL in <paramref name="dir"/>, reads it all into <paramref name="state"/> and positions for appending
    /// after the last valid record. A torn tail in the last segment is zero-filled (warning logged with the offset).
    /// Throws <see cref="WalCorruptException"/> for damage that is not a torn tail, <see cref="StorageLockedException"/>
    /// when the directory is locked, and <see cref="FileNotFoundException"/> when there is no WAL.
    /// </summary>
    public static WriteAheadLog Open(string dir, WalOptions options, out WalReadResult state)
    {
        var fs = options.FileSystem;
        if (!Exists(dir, fs))
            throw new FileNotFoundException($"no WAL segment files in {dir}", dir);
        var dirLock = fs.Lock(Path.Combine(dir, LockFileName));
        try
        {
            DeleteTempFiles(fs, dir);
            var reader = new WalReader(fs, dir, options.Logger);
            reader.ReadAll();
            var wal = new WriteAheadLog(dir, options, dirLock, reader.MemberId, reader.ClusterId);
            wal._segments.AddRange(reader.Segments);
            wal._segmentFirstSequenceNrs.AddRange(reader.SegmentFirstSequenceNrs);
            wal._nextSequenceNr = reader.NextSequenceNr;
            wal.DeletedToSequenceNr = reader.DeletedToSequenceNr;
            wal._hardState = reader.HardState;
            wal.SnapshotIndex = reader.SnapshotIndex;
            wal.SnapshotTerm = reader.SnapshotTerm;
            wal.LastIndex = Math.Max(reader.SnapshotIndex, reader.Entries.Count > 0 ? reader.Entries[^1].Index : 0);
            wal._file = fs.OpenFile(Path.Combine(dir, reader.Segments[^1].FileName));
            wal._offset = reader.TailOffset;
            wal._segmentDataStart = reader.TailSegmentDataStart;
            state = new WalReadResult(reader.MemberId, reader.ClusterId, reader.HardState ?? new HardState(),
                reader.SnapshotIndex, reader.SnapshotTerm, reader.Entries, new WalReadResult.JournalSequence
                {
                    Highest = reader.NextSequenceNr - 1,
                    DeletedTo = reader.DeletedToSequenceNr,
                    HardState = reader.HardStateSequenceNr,
                    Snapshot = reader.SnapshotSequenceNr,
                    Entries = reader.EntrySequenceNrs,
                });
            return wal;
        }
        catch
        {
            dirLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends an optional HardState and entries (consecutive indexes; the first may be at or below
    /// <see cref="LastIndex"/> to overwrite an uncommitted suffix, never above <c>LastIndex + 1</c> nor at or below
    /// <see cref="SnapshotIndex"/>) as the next events (<see cref="NextSequenceNr"/> on). One write call, no fsync:
    /// durable only after <see cref="Sync"/>. Cuts a new segment first when the batch would overflow the current one.
    /// Throws <see cref="ArgumentException"/> for bad indexes and <see cref="IOException"/> on write errors.
    /// </summary>
    public void Append(HardState? hardState, IReadOnlyList<Entry> entries)
    {
        if (hardState is null && entries.Count == 0)
        {
            ThrowIfUnusable();
            return;
        }
        AppendBatch(_nextSequenceNr, new EventBatch(hardState, entries, null));
    }

    /// <summary>
    /// Appends Raft log events, each a <see cref="HardState"/>, an <see cref="Entry"/> or a <see cref="SnapshotMarker"/>,
    /// numbered <paramref name="firstSequenceNr"/>, +1, ... (an Akka.Persistence AtomicWrite). All or nothing: every
    /// event is checked before anything is written, then they go out in one write call (no fsync; durable only after
    /// <see cref="Sync"/>). Entries follow Raft's rules: an entry's index is above the last snapshot marker and at most
    /// one past the index before it, a lower one overwriting the suffix from there; a snapshot marker is not below the
    /// last one. A <paramref name="firstSequenceNr"/> past <see cref="NextSequenceNr"/> is recorded as such.
    /// </summary>
    /// <exception cref="ArgumentException">An event of another type, an index that breaks the rules above, or
    /// <paramref name="firstSequenceNr"/> below <see cref="NextSequenceNr"/>; nothing was written.</exception>
    /// <exception cref="IOException">The write failed; the log is unusable from now on.</exception>
    public void AppendEvents(long firstSequenceNr, IReadOnlyList<object> events) =>
        AppendBatch(firstSequenceNr, new EventBatch(null, Array.Empty<Entry>(), events));

    /// <summary>A batch of events seen as one list without copying: either a HardState and entries, or any events.</summary>
    private readonly struct EventBatch(HardState? hardState, IReadOnlyList<Entry> entries, IReadOnlyList<object>? events)
    {
        public int Count => events?.Count ?? (hardState is null ? 0 : 1) + entries.Count;

        public object this[int i] => events is not null ? events[i]
            : hardState is null ? entries[i]
            : i == 0 ? hardState : entries[i - 1];
    }

    private void AppendBatch(long firstSequenceNr, EventBatch events)
    {
        ThrowIfUnusable();
        if (firstSequenceNr < _nextSequenceNr)
            throw new ArgumentException($"sequence number {firstSequenceNr} is not after the last one written ({_nextSequenceNr - 1})", nameof(firstSequenceNr));
        if (events.Count == 0)
            return;
        var firstIndexIfCut = ValidateEvents(events, out var lastIndex, out var snapshot);
        var length = 0;
        if (firstSequenceNr != _nextSequenceNr)
            length = EncodePair(length, WalRecordType.EventSequence, (ulong)firstSequenceNr, 0);
        HardState? hardState = null;
        for (var i = 0; i < events.Count; i++)
        {
            switch (events[i])
            {
                case HardState state:
                    length = Encode(length, WalRecordType.HardState, state);
                    hardState = state;
                    break;
                case Entry entry:
                    length = Encode(length, WalRecordType.Entry, entry);
                    break;
                case SnapshotMarker marker:
                    length = EncodePair(length, WalRecordType.SnapshotMarker, marker.Index, marker.Term);
                    break;
            }
        }
        WriteBatch(length, firstIndexIfCut);
        if (hardState is not null)
            _hardState = hardState.Clone();
        if (snapshot is { } marked)
        {
            SnapshotIndex = marked.Index;
            SnapshotTerm = marked.Term;
        }
        LastIndex = lastIndex;
        _nextSequenceNr = firstSequenceNr + events.Count;
    }

    /// <summary>Flushes and fdatasyncs the current segment: the durability point (group commit = many
    /// <see cref="Append"/> calls, one Sync). A no-op when nothing was written since the last Sync.
    /// Updates <see cref="LastSyncDuration"/>. Throws <see cref="IOException"/> on failure.</summary>
    public void Sync()
    {
        ThrowIfUnusable();
        if (!_unsynced)
            return;
        var started = Stopwatch.GetTimestamp();
        try
        {
            _file!.Sync();
        }
        catch (Exception e)
        {
            _failure = e;
            throw;
        }
        LastSyncDuration = Stopwatch.GetElapsedTime(started);
        _unsynced = false;
    }

    /// <summary>Records that a snapshot covers the log up to raft <paramref name="index"/> at <paramref name="term"/>
    /// (entries up to it are dropped on the next <see cref="Open"/>) as the next event, then <see cref="Sync"/>s. Like
    /// etcd, save the snapshot file first. Throws <see cref="ArgumentException"/> when <paramref name="index"/> is below
    /// the last marker.</summary>
    public void SaveSnapshotMarker(ulong index, ulong term)
    {
        AppendEvents(_nextSequenceNr, [new SnapshotMarker(index, term)]);
        Sync();
    }

    /// <summary>
    /// Akka.Persistence's DeleteMessagesTo: events up to <paramref name="toSequenceNr"/> (at most
    /// <see cref="HighestSequenceNr"/>) are deleted. The deletion is recorded and fsynced, then every segment whose
    /// events are all deleted is removed, oldest first, while more than <see cref="WalOptions.MaxSegmentsToKeep"/>
    /// segments exist (0 = keep all; etcd's <c>--max-wals</c>); the current segment is never removed. Replay skips the
    /// deleted entries still on disk. Throws <see cref="IOException"/> on write, fsync or delete errors.
    /// </summary>
    public void DeleteTo(long toSequenceNr)
    {
        ThrowIfUnusable();
        var to = Math.Min(toSequenceNr, HighestSequenceNr);
        if (to > DeletedToSequenceNr)
        {
            var length = EncodePair(0, WalRecordType.DeletedTo, (ulong)to, 0);
            WriteBatch(length, LastIndex + 1);
            DeletedToSequenceNr = to;
        }
        Sync();
        if (_options.MaxSegmentsToKeep == 0)
            return;
        var deleted = false;
        while (_segments.Count > _options.MaxSegmentsToKeep && _segments.Count > 1 && _segmentFirstSequenceNrs[1] - 1 <= DeletedToSequenceNr)
        {
            _fs.DeleteFile(Path.Combine(_dir, _segments[0].FileName));
            _segments.RemoveAt(0);
            _segmentFirstSequenceNrs.RemoveAt(0);
            deleted = true;
        }
        if (deleted)
            _fs.SyncDirectory(_dir);
    }

    /// <summary>
    /// Releases segments no longer needed once raft <paramref name="index"/> is covered by a snapshot: every segment
    /// before the one that contains <paramref name="index"/> (the last with first index &lt;= it) may go; they are
    /// deleted oldest first while more than <see cref="WalOptions.MaxSegmentsToKeep"/> segments exist (0 = keep all).
    /// The current segment is never deleted. Throws <see cref="IOException"/> on delete errors.
    /// </summary>
    public void ReleaseTo(ulong index)
    {
        ThrowIfUnusable();
        if (_options.MaxSegmentsToKeep == 0)
            return;
        var containing = _segments.FindLastIndex(s => s.FirstIndex <= index);
        var deleted = false;
        while (containing > 0 && _segments.Count > _options.MaxSegmentsToKeep)
        {
            _fs.DeleteFile(Path.Combine(_dir, _segments[0].FileName));
            _segments.RemoveAt(0);
            _segmentFirstSequenceNrs.RemoveAt(0);
            containing--;
            deleted = true;
        }
        if (deleted)
            _fs.SyncDirectory(_dir);
    }

    /// <summary>Syncs what was appended (unless the log already failed), closes the segment and releases the lock.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            if (_failure is null && _unsynced)
                _file?.Sync();
        }
        finally
        {
            _file?.Dispose();
            _lock.Dispose();
        }
    }

    /// <summary>Checks a batch of events against the Raft rules without changing anything; returns the first index
    /// of the segment to cut for it, and the <see cref="LastIndex"/> and last snapshot marker once it is written.</summary>
    private ulong ValidateEvents(EventBatch events, out ulong lastIndex, out SnapshotMarker? snapshot)
    {
        lastIndex = LastIndex;
        var snapshotIndex = SnapshotIndex;
        snapshot = null;
        ulong? firstEntry = null;
        for (var i = 0; i < events.Count; i++)
        {
            switch (events[i])
            {
                case HardState:
                    break;
                case Entry entry:
                    if (entry.Index <= snapshotIndex)
                        throw new ArgumentException($"entry index {entry.Index} is at or below the snapshot marker {snapshotIndex}", nameof(events));
                    if (entry.Index > lastIndex + 1)
                        throw new ArgumentException($"entry index {entry.Index} leaves a gap after last index {lastIndex}", nameof(events));
                    firstEntry ??= entry.Index;
                    lastIndex = entry.Index;
                    break;
                case SnapshotMarker marker:
                    if (marker.Index < snapshotIndex)
                        throw new ArgumentException($"snapshot index {marker.Index} is below the last snapshot marker {snapshotIndex}", nameof(events));
                    snapshotIndex = marker.Index;
                    snapshot = marker;
                    lastIndex = Math.Max(lastIndex, marker.Index);
                    break;
                default:
                    throw new ArgumentException(
                        $"the WAL stores Raft log events (HardState, Entry, SnapshotMarker), not {events[i]?.GetType().FullName ?? "null"}", nameof(events));
            }
        }
        return firstEntry is { } first ? Math.Min(first, LastIndex + 1) : LastIndex + 1;
    }

    private void WriteBatch(int length, ulong firstIndexIfCut)
    {
        if (_offset > _segmentDataStart && _offset + length > _options.SegmentSizeBytes)
            Cut(firstIndexIfCut);
        try
        {
            _file!.Write(_offset, _buffer.AsSpan(0, length));
        }
        catch (Exception e)
        {
            _failure = e;
            throw;
        }
        _offset += length;
        _unsynced = true;
    }

    /// <summary>Makes the current segment durable, then creates and switches to the next one (etcd's cut()).</summary>
    private void Cut(ulong firstIndex)
    {
        Sync();
        var next = new WalSegmentName(_segments[^1].Sequence + 1, firstIndex);
        _file!.Dispose();
        _file = null;
        try
        {
            CreateSegment(next);
        }
        catch (Exception e)
        {
            _failure = e;
            throw;
        }
    }

    private void CreateSegment(WalSegmentName name)
    {
        // The header is encoded into its own array: the batch that caused the cut sits in _buffer.
        var batch = _buffer;
        _buffer = new byte[1024];
        int length;
        try
        {
            length = EncodePair(0, WalRecordType.SegmentStart, name.Sequence, name.FirstIndex);
            length = EncodePair(length, WalRecordType.Metadata, MemberId, ClusterId);
            length = EncodePair(length, WalRecordType.SnapshotMarker, SnapshotIndex, SnapshotTerm);
            if (_hardState is not null)
                length = Encode(length, WalRecordType.HardState, _hardState);
            length = EncodePair(length, WalRecordType.EventSequence, (ulong)_nextSequenceNr, 0);
            var finalPath = Path.Combine(_dir, name.FileName);
            var tempPath = finalPath + TempSuffix;
            _fs.DeleteFile(tempPath);
            using (var temp = _fs.CreateFile(tempPath, _options.SegmentSizeBytes))
            {
                temp.Write(0, _buffer.AsSpan(0, length));
                temp.Sync();
            }
            _fs.Rename(tempPath, finalPath);
            _fs.SyncDirectory(_dir);
            _file = _fs.OpenFile(finalPath);
        }
        finally
        {
            _buffer = batch;
        }
        _segments.Add(name);
        _segmentFirstSequenceNrs.Add(_nextSequenceNr);
        _offset = length;
        _segmentDataStart = length;
        _unsynced = false;
    }

    private int Encode(int at, WalRecordType type, IMessage message)
    {
        var payloadLength = message.CalculateSize();
        var framed = WalRecord.FramedSize(payloadLength);
        EnsureCapacity(at + framed);
        var record = _buffer.AsSpan(at, framed);
        message.WriteTo(record.Slice(WalRecord.HeaderSize, payloadLength));
        WalRecord.Seal(record, type, payloadLength);
        return at + framed;
    }

    private int EncodePair(int at, WalRecordType type, ulong first, ulong second)
    {
        var framed = WalRecord.FramedSize(16);
        EnsureCapacity(at + framed);
        var record = _buffer.AsSpan(at, framed);
        BinaryPrimitives.WriteUInt64LittleEndian(record[WalRecord.HeaderSize..], first);
        BinaryPrimitives.WriteUInt64LittleEndian(record[(WalRecord.HeaderSize + 8)..], second);
        WalRecord.Seal(record, type, 16);
        return at + framed;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
            throw new IOException($"the WAL in {_dir} is unusable after an earlier I/O failure: {_failure.Message}", _failure);
    }

    private static void DeleteTempFiles(IStorageFileSystem fs, string dir)
    {
        foreach (var name in fs.ListFiles(dir))
        {
            if (name.EndsWith(TempSuffix, StringComparison.Ordinal))
                fs.DeleteFile(Path.Combine(dir, name));
        }
    }
}
