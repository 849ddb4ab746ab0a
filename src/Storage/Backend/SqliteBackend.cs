using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SQLitePCL;

namespace Akka.Etcd.Storage.Backend;

/// <summary>One row of the <c>kv</c> table as the key index sees it; <paramref name="key"/> is valid only during the call.</summary>
/// <param name="main">Main revision.</param>
/// <param name="sub">Sub revision.</param>
/// <param name="tombstone">True for a delete marker.</param>
/// <param name="key">The key bytes (SQLite's buffer: copy to keep).</param>
/// <param name="createRevision">Main revision that created the key's generation (0 for a tombstone).</param>
/// <param name="version">Puts in the key's generation so far (0 for a tombstone).</param>
internal delegate void IndexRowVisitor(long main, int sub, bool tombstone, ReadOnlySpan<byte> key, long createRevision, long version);

/// <summary>
/// The SQLite file behind the MVCC store (etcd's bbolt backend, mvcc/backend): <c>&lt;data-dir&gt;/member/snap/db</c>.
/// Tables: <c>kv</c> (one row per key version, primary key (main, sub) revision, like etcd's "key" bucket),
/// <c>meta</c> (named integers: consistent index, scheduled/finished compact revision), and <c>bucket</c>
/// (generic (bucket, key) → value rows for members, leases, auth, ...).
/// <para>Writes are batched: one SQLite transaction stays open and is committed every <see cref="BatchLimit"/> ops
/// (checked by <see cref="CommitIfBatchFull"/>) or when the owner calls <see cref="Commit"/> (etcd's 100 ms batch interval).
/// <see cref="ConsistentIndex"/> is written in the same transaction as the changes it describes, so a committed state is
/// always consistent; a crash loses only the uncommitted tail, which the raft WAL replays.
/// journal_mode=WAL, synchronous=NORMAL: commits are not fsynced; <see cref="ForceCommit"/> with durable=true is.</para>
/// <para>NOT thread-safe: one owner thread uses the single connection. Commands are prepared once and reused.</para>
/// </summary>
public sealed partial class SqliteBackend : IDisposable
{
    /// <summary>Default number of write ops after which the batch transaction is committed (etcd: 10,000).</summary>
    public const int DefaultBatchLimit = 10_000;

    const string MetaConsistentIndex = "consistent_index";

    readonly ILogger _logger;
    // Not readonly: a defragmentation swaps the file under the backend and opens them again (SqliteBackend.Defrag.cs).
    SqliteConnection _connection = null!;
    SqliteCommand _begin = null!, _commit = null!;
    SqliteCommand _deleteKv = null!;
    // The two statements on every put and every read of a value, stepped through SQLite's C API: Microsoft.Data.Sqlite
    // re-binds parameters by name (a UTF-8 conversion per parameter) and re-enumerates statements on every execution,
    // which was a quarter of the CPU of a large delete (perf). Bound by position; finalized in Close.
    sqlite3_stmt _insertKv = null!, _readKv = null!;
    SqliteCommand _readMeta = null!, _writeMeta = null!;
    SqliteCommand _putBucket = null!, _getBucket = null!, _deleteBucket = null!, _readBucket = null!;
    SqliteCommand _scanRevisions = null!, _scanRange = null!;
    bool _inTransaction;
    bool _consistentIndexDirty;
    ulong _consistentIndex;
    bool _disposed;

    SqliteBackend(string path, int batchLimit, ILogger logger)
    {
        Path = path;
        BatchLimit = batchLimit;
        _logger = logger;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        OpenConnection();
        _consistentIndex = (ulong)(ReadMeta(MetaConsistentIndex) ?? 0);
    }

    /// <summary>Opens the connection on <see cref="Path"/>, creates the tables if missing and prepares the statements.</summary>
    void OpenConnection()
    {
        var path = Path;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = false,
            Mode = SqliteOpenMode.ReadWriteCreate,
        }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("PRAGMA synchronous=NORMAL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS kv (
                main INTEGER NOT NULL,
                sub INTEGER NOT NULL,
                tombstone INTEGER NOT NULL,
                key BLOB NOT NULL,
                create_rev INTEGER NOT NULL,
                version INTEGER NOT NULL,
                lease INTEGER NOT NULL,
                value BLOB,
                PRIMARY KEY (main, sub)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS meta (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS bucket (
                bucket TEXT NOT NULL, key BLOB NOT NULL, value BLOB,
                PRIMARY KEY (bucket, key)) WITHOUT ROWID;
            """);

        _begin = Prepare("BEGIN");
        _commit = Prepare("COMMIT");
        _insertKv = PrepareRaw(
            "INSERT OR REPLACE INTO kv (main, sub, tombstone, key, create_rev, version, lease, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        _readKv = PrepareRaw("SELECT tombstone, key, create_rev, version, lease, value FROM kv WHERE main = ?1 AND sub = ?2");
        _deleteKv = Prepare("DELETE FROM kv WHERE main = $m AND sub = $s", ("$m", SqliteType.Integer), ("$s", SqliteType.Integer));
        _readMeta = Prepare("SELECT value FROM meta WHERE name = $n", ("$n", SqliteType.Text));
        _writeMeta = Prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ($n, $v)", ("$n", SqliteType.Text), ("$v", SqliteType.Integer));
        _putBucket = Prepare("INSERT OR REPLACE INTO bucket (bucket, key, value) VALUES ($b, $k, $v)",
            ("$b", SqliteType.Text), ("$k", SqliteType.Blob), ("$v", SqliteType.Blob));
        _getBucket = Prepare("SELECT value FROM bucket WHERE bucket = $b AND key = $k", ("$b", SqliteType.Text), ("$k", SqliteType.Blob));
        _deleteBucket = Prepare("DELETE FROM bucket WHERE bucket = $b AND key = $k", ("$b", SqliteType.Text), ("$k", SqliteType.Blob));
        _readBucket = Prepare("SELECT key, value FROM bucket WHERE bucket = $b ORDER BY key", ("$b", SqliteType.Text));
        _scanRevisions = Prepare(
            "SELECT main, sub, tombstone, key FROM kv WHERE (main, sub) > ($m, $s) AND main <= $max ORDER BY main, sub LIMIT $n",
            ("$m", SqliteType.Integer), ("$s", SqliteType.Integer), ("$max", SqliteType.Integer), ("$n", SqliteType.Integer));
        _scanRange = Prepare(
            "SELECT main, sub, tombstone, key, create_rev, version, lease, value FROM kv WHERE main >= $from AND main <= $to ORDER BY main, sub",
            ("$from", SqliteType.Integer), ("$to", SqliteType.Integer));
    }

    /// <summary>
    /// Opens (creating if missing, with its directory) the SQLite backend at <paramref name="path"/>.
    /// </summary>
    /// <param name="path">The db file, normally <see cref="DefaultPath"/> of the data dir.</param>
    /// <param name="batchLimit">Write ops per batch transaction before <see cref="CommitIfBatchFull"/> commits (&gt; 0).</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchLimit"/> is not positive.</exception>
    public static SqliteBackend Open(string path, int batchLimit = DefaultBatchLimit, ILogger? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchLimit);
        return new SqliteBackend(path, batchLimit, logger ?? NullLogger.Instance);
    }

    /// <summary>The backend file of a data dir, as etcd lays it out: <c>&lt;dataDir&gt;/member/snap/db</c>.</summary>
    public static string DefaultPath(string dataDir) => System.IO.Path.Combine(dataDir, "member", "snap", "db");

    /// <summary>The db file path.</summary>
    public string Path { get; }

    /// <summary>Write ops per batch transaction (rows written or deleted, meta writes).</summary>
    public int BatchLimit { get; }

    /// <summary>Write ops in the open (uncommitted) batch transaction.</summary>
    public int PendingOps { get; private set; }

    /// <summary>
    /// The last applied raft index (etcd's consistent index). Setting it is free; the value is written into the open batch
    /// transaction at the next commit, i.e. atomically with the changes applied so far. Reads return the in-memory value.
    /// </summary>
    public ulong ConsistentIndex
    {
        get => _consistentIndex;
        set
        {
            if (value == _consistentIndex) return;
            _consistentIndex = value;
            _consistentIndexDirty = true;
        }
    }

    /// <summary>Total bytes on disk: the db file plus SQLite's own <c>-wal</c> file.</summary>
    public long SizeBytes => FileLength(Path) + FileLength(Path + "-wal");

    /// <summary>Bytes of pages in use: (page_count - freelist_count) × page_size.</summary>
    public long SizeInUseBytes
    {
        get
        {
            var pageCount = ScalarLong("PRAGMA page_count;");
            var freeList = ScalarLong("PRAGMA freelist_count;");
            var pageSize = ScalarLong("PRAGMA page_size;");
            return (pageCount - freeList) * pageSize;
        }
    }

    /// <summary>Commits the open batch transaction (and the consistent index) if anything is pending. Not fsynced.</summary>
    public void Commit()
    {
        ThrowIfDisposed();
        if (_consistentIndexDirty)
        {
            BeginIfNeeded();
            WriteMetaCore(MetaConsistentIndex, unchecked((long)_consistentIndex));
            _consistentIndexDirty = false;
        }
        if (!_inTransaction) return;
        var started = Stopwatch.GetTimestamp();
        _commit.ExecuteNonQuery();
        _inTransaction = false;
        var ops = PendingOps;
        PendingOps = 0;
        if (_logger.IsEnabled(LogLevel.Trace))
            _logger.LogTrace("backend committed {Ops} ops in {Elapsed}", ops, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Commits when the batch holds at least <see cref="BatchLimit"/> ops; returns whether it committed.</summary>
    public bool CommitIfBatchFull()
    {
        if (PendingOps < BatchLimit) return false;
        Commit();
        return true;
    }

    /// <summary>
    /// Commits the batch; with <paramref name="durable"/> also checkpoints SQLite's WAL into the db file with fsync
    /// (<c>wal_checkpoint(TRUNCATE)</c>), so every commit so far survives power loss (used before raft log compaction).
    /// </summary>
    public void ForceCommit(bool durable)
    {
        Commit();
        if (durable) CheckpointDurably();
    }

    /// <summary>Commits, then rebuilds the file with <c>VACUUM</c> to return free pages to the file system.</summary>
    public void Vacuum()
    {
        Commit();
        Execute("VACUUM;");
        Execute("PRAGMA wal_checkpoint(TRUNCATE);");
    }

    /// <summary>Commits, then copies the whole database to <paramref name="destinationPath"/> with SQLite's online backup API.</summary>
    public void BackupTo(string destinationPath)
    {
        Commit();
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(destinationPath));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        using var destination = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = destinationPath,
            Pooling = false,
        }.ToString());
        destination.Open();
        _connection.BackupDatabase(destination);
        using var toDelete = destination.CreateCommand();
        toDelete.CommandText = "PRAGMA journal_mode=DELETE;";
        toDelete.ExecuteNonQuery();
    }

    /// <summary>Reads a named integer from the <c>meta</c> table (null when absent); sees uncommitted writes.</summary>
    public long? ReadMeta(string name)
    {
        ThrowIfDisposed();
        _readMeta.Parameters[0].Value = name;
        var result = _readMeta.ExecuteScalar();
        return result is null or DBNull ? null : (long)result;
    }

    /// <summary>Writes a named integer into the <c>meta</c> table inside the batch transaction.</summary>
    public void WriteMeta(string name, long value)
    {
        ThrowIfDisposed();
        BeginIfNeeded();
        WriteMetaCore(name, value);
    }

    /// <summary>Puts <paramref name="value"/> under (<paramref name="bucket"/>, <paramref name="key"/>) inside the batch transaction.</summary>
    public void PutBucketValue(string bucket, byte[] key, byte[] value)
    {
        ThrowIfDisposed();
        BeginIfNeeded();
        _putBucket.Parameters[0].Value = bucket;
        _putBucket.Parameters[1].Value = key;
        _putBucket.Parameters[2].Value = value;
        _putBucket.ExecuteNonQuery();
        PendingOps++;
    }

    /// <summary>Reads the value under (<paramref name="bucket"/>, <paramref name="key"/>), or null.</summary>
    public byte[]? GetBucketValue(string bucket, byte[] key)
    {
        ThrowIfDisposed();
        _getBucket.Parameters[0].Value = bucket;
        _getBucket.Parameters[1].Value = key;
        using var reader = _getBucket.ExecuteReader();
        return reader.Read() ? ReadBlob(reader, 0) : null;
    }

    /// <summary>Deletes (<paramref name="bucket"/>, <paramref name="key"/>) inside the batch transaction; returns whether it existed.</summary>
    public bool DeleteBucketValue(string bucket, byte[] key)
    {
        ThrowIfDisposed();
        BeginIfNeeded();
        _deleteBucket.Parameters[0].Value = bucket;
        _deleteBucket.Parameters[1].Value = key;
        PendingOps++;
        return _deleteBucket.ExecuteNonQuery() > 0;
    }

    /// <summary>All (key, value) pairs of a bucket in unsigned key order.</summary>
    public List<KeyValuePair<byte[], byte[]>> ReadBucket(string bucket)
    {
        ThrowIfDisposed();
        _readBucket.Parameters[0].Value = bucket;
        var result = new List<KeyValuePair<byte[], byte[]>>();
        using var reader = _readBucket.ExecuteReader();
        while (reader.Read()) result.Add(new(ReadBlob(reader, 0), ReadBlob(reader, 1)));
        return result;
    }

    /// <summary>Writes one key version row (insert; an existing row at the same revision is replaced).</summary>
    internal void WriteRevision(long main, int sub, bool tombstone, byte[] key, long createRevision, long version, long lease, byte[]? value)
    {
        BeginIfNeeded();
        var statement = _insertKv;
        raw.sqlite3_bind_int64(statement, 1, main);
        raw.sqlite3_bind_int64(statement, 2, sub);
        raw.sqlite3_bind_int64(statement, 3, tombstone ? 1L : 0L);
        BindBlob(statement, 4, key);
        raw.sqlite3_bind_int64(statement, 5, createRevision);
        raw.sqlite3_bind_int64(statement, 6, version);
        raw.sqlite3_bind_int64(statement, 7, lease);
        if (value is null) raw.sqlite3_bind_null(statement, 8);
        else BindBlob(statement, 8, value);
        var rc = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
        PendingOps++;
    }

    /// <summary>Point read of the row at (<paramref name="main"/>, <paramref name="sub"/>); false when absent.</summary>
    internal bool TryReadRevision(long main, int sub, out KvRow row)
    {
        var statement = _readKv;
        raw.sqlite3_bind_int64(statement, 1, main);
        raw.sqlite3_bind_int64(statement, 2, sub);
        try
        {
            var rc = raw.sqlite3_step(statement);
            if (rc == raw.SQLITE_DONE)
            {
                row = default;
                return false;
            }
            if (rc != raw.SQLITE_ROW) SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
            // A NULL blob reads as an empty span, as ReadBlob maps NULL to an empty array.
            row = new KvRow(main, sub, raw.sqlite3_column_int64(statement, 0) != 0,
                raw.sqlite3_column_blob(statement, 1).ToArray(), raw.sqlite3_column_blob(statement, 5).ToArray(),
                raw.sqlite3_column_int64(statement, 2), raw.sqlite3_column_int64(statement, 3), raw.sqlite3_column_int64(statement, 4));
            return true;
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    /// <summary>Deletes the row at (<paramref name="main"/>, <paramref name="sub"/>) inside the batch transaction.</summary>
    internal void DeleteRevision(long main, int sub)
    {
        BeginIfNeeded();
        _deleteKv.Parameters[0].Value = main;
        _deleteKv.Parameters[1].Value = sub;
        _deleteKv.ExecuteNonQuery();
        PendingOps++;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> rows after (<paramref name="afterMain"/>, <paramref name="afterSub"/>) with main &lt;=
    /// <paramref name="maxMain"/>, in revision order, without their values (key, tombstone flag and revision only).
    /// </summary>
    internal List<KvRow> ScanRevisions(long afterMain, int afterSub, long maxMain, int limit)
    {
        var p = _scanRevisions.Parameters;
        p[0].Value = afterMain;
        p[1].Value = (long)afterSub;
        p[2].Value = maxMain;
        p[3].Value = (long)limit;
        var rows = new List<KvRow>(Math.Min(limit, 1024));
        using var reader = _scanRevisions.ExecuteReader();
        while (reader.Read())
            rows.Add(new KvRow(reader.GetInt64(0), (int)reader.GetInt64(1), reader.GetInt64(2) != 0, ReadBlob(reader, 3), [], 0, 0, 0));
        return rows;
    }

    /// <summary>Streams every row with <paramref name="fromMain"/> &lt;= main &lt;= <paramref name="toMain"/> in revision order,
    /// with values when <paramref name="withValues"/>. The callback must not write to the backend.</summary>
    internal void ForEachRevision(long fromMain, long toMain, bool withValues, Action<KvRow> visit)
    {
        _scanRange.Parameters[0].Value = fromMain;
        _scanRange.Parameters[1].Value = toMain;
        using var reader = _scanRange.ExecuteReader();
        while (reader.Read())
        {
            visit(new KvRow(reader.GetInt64(0), (int)reader.GetInt64(1), reader.GetInt64(2) != 0, ReadBlob(reader, 3),
                withValues ? ReadBlob(reader, 7) : [], reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6)));
        }
    }

    /// <summary>
    /// Visits every row of <c>kv</c> in revision order with what the key index needs (no value, no lease), straight from
    /// SQLite's row buffers: the key span is only valid during the call (copy it to keep it). Used at start-up to rebuild
    /// the index, where Microsoft.Data.Sqlite's per-column overhead and per-row key arrays dominated (1M rows: ~2.5 s).
    /// The callback must not use the backend.
    /// </summary>
    /// <exception cref="SqliteException">SQLite fails to prepare or step the scan.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void ForEachIndexRow(IndexRowVisitor visit)
    {
        ThrowIfDisposed();
        var db = _connection.Handle!;
        using (var statement = PrepareRaw("SELECT main, sub, tombstone, key, create_rev, version FROM kv ORDER BY main, sub"))
        {
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                visit(raw.sqlite3_column_int64(statement, 0), (int)raw.sqlite3_column_int64(statement, 1),
                    raw.sqlite3_column_int64(statement, 2) != 0, raw.sqlite3_column_blob(statement, 3),
                    raw.sqlite3_column_int64(statement, 4), raw.sqlite3_column_int64(statement, 5));
            }
            if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>Number of rows in <c>kv</c> (all stored key versions, tombstones included).</summary>
    internal long CountRevisions() => ScalarLong("SELECT COUNT(*) FROM kv;");

    /// <summary>Closes the connection after committing the pending batch.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        try
        {
            Commit();
        }
        finally
        {
            Close();
        }
    }

    /// <summary>Closes the connection WITHOUT committing: the open batch is rolled back, as after a crash.</summary>
    internal void DisposeWithoutCommit()
    {
        if (_disposed) return;
        Close();
    }

    void Close()
    {
        _disposed = true;
        CloseConnection();
    }

    /// <summary>Finalizes the prepared statements and closes the connection (SQLite then checkpoints unless told not to).</summary>
    void CloseConnection()
    {
        foreach (var command in new[]
                 {
                     _begin, _commit, _deleteKv, _readMeta, _writeMeta, _putBucket, _getBucket,
                     _deleteBucket, _readBucket, _scanRevisions, _scanRange,
                 })
            command.Dispose();
        _insertKv.Dispose();
        _readKv.Dispose();
        _connection.Dispose();
    }

    void WriteMetaCore(string name, long value)
    {
        _writeMeta.Parameters[0].Value = name;
        _writeMeta.Parameters[1].Value = value;
        _writeMeta.ExecuteNonQuery();
        PendingOps++;
    }

    void BeginIfNeeded()
    {
        if (_inTransaction) return;
        _begin.ExecuteNonQuery();
        _inTransaction = true;
    }

    /// <summary>Binds a blob by position; an empty one as a zero-length blob (not NULL: NULL marks a tombstone's value).</summary>
    static void BindBlob(sqlite3_stmt statement, int index, ReadOnlySpan<byte> blob)
    {
        if (blob.IsEmpty) raw.sqlite3_bind_zeroblob(statement, index, 0);
        else raw.sqlite3_bind_blob(statement, index, blob);
    }

    /// <summary>Prepares a statement on the connection (the caller disposes it); throws <see cref="SqliteException"/> on bad SQL.</summary>
    sqlite3_stmt PrepareRaw(string sql)
    {
        var db = _connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        SqliteException.ThrowExceptionForRC(rc, db);
        return statement;
    }

    static byte[] ReadBlob(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? [] : (byte[])reader.GetValue(ordinal);

    SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters) command.Parameters.Add(name, type);
        command.Prepare();
        return command;
    }

    void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    long ScalarLong(string sql)
    {
        ThrowIfDisposed();
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L);
    }

    static long FileLength(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? info.Length : 0;
    }

    void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
