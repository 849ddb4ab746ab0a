using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Akka.Etcd.Storage.Backend;

/// <summary>Visits one <c>kv</c> row with its value; the spans are SQLite's buffers, valid only during the call.</summary>
/// <param name="main">Main revision.</param>
/// <param name="sub">Sub revision.</param>
/// <param name="tombstone">True for a delete marker (then create revision, version and lease are 0 and the value empty).</param>
/// <param name="key">Key bytes.</param>
/// <param name="createRevision">Main revision that created the key's generation.</param>
/// <param name="version">Puts in the generation so far.</param>
/// <param name="lease">Attached lease ID (0 = none).</param>
/// <param name="value">Value bytes.</param>
public delegate void RevisionRowVisitor(long main, long sub, bool tombstone, ReadOnlySpan<byte> key, long createRevision,
    long version, long lease, ReadOnlySpan<byte> value);

/// <summary>
/// A point-in-time, read-only view of a <see cref="SqliteBackend"/> file on its own connection: a SQLite read
/// transaction pinned at <see cref="Open"/> (the database is in WAL mode, so the owner keeps writing and committing
/// while the view reads the state of the moment it was opened, and nobody waits on anybody). Open it right after the
/// owner committed, on the owner's thread, to get exactly the state of the last applied entry (see
/// the MvccStoreActor's <c>OpenReadView</c> query); everything else may run on any one thread.
/// <para>Hold it briefly: while it is open SQLite cannot checkpoint past it, so the backend's <c>-wal</c> file grows
/// with the writes meanwhile. Not thread-safe.</para>
/// </summary>
public sealed class SqliteReadView : IDisposable
{
    readonly SqliteConnection _connection;
    bool _disposed;

    SqliteReadView(SqliteConnection connection) => _connection = connection;

    /// <summary>
    /// Opens the backend file at <paramref name="path"/> read-only and pins its committed state (a deferred read
    /// transaction only takes its snapshot at the first read, so one is done here).
    /// </summary>
    /// <exception cref="SqliteException">The file cannot be opened or is not a backend (no <c>kv</c>/<c>meta</c>/<c>bucket</c> tables).</exception>
    public static SqliteReadView Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = false,
            Mode = SqliteOpenMode.ReadOnly,
        }.ToString());
        try
        {
            connection.Open();
            var view = new SqliteReadView(connection);
            view.Execute("BEGIN");
            view.ConsistentIndex = (ulong)(view.ReadMeta("consistent_index") ?? 0);
            return view;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The last applied raft index in the view (the backend's consistent index).</summary>
    public ulong ConsistentIndex { get; private set; }

    /// <summary>Number of stored key versions (rows of <c>kv</c>, tombstones included) in the view; counts them (O(rows)).</summary>
    public long CountRevisions()
    {
        ThrowIfDisposed();
        return Scalar("SELECT COUNT(*) FROM kv");
    }

    /// <summary>A named integer of the <c>meta</c> table, or null.</summary>
    public long? ReadMeta(string name)
    {
        ThrowIfDisposed();
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE name = $n";
        command.Parameters.AddWithValue("$n", name);
        var result = command.ExecuteScalar();
        return result is null or DBNull ? null : (long)result;
    }

    /// <summary>Names of the buckets of the generic <c>bucket</c> table that hold at least one key, in ordinal order.</summary>
    public IReadOnlyList<string> BucketNames()
    {
        ThrowIfDisposed();
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT bucket FROM bucket ORDER BY bucket";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read()) names.Add(reader.GetString(0));
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Every (key, value) of <paramref name="bucket"/> in unsigned key order.</summary>
    public IReadOnlyList<KeyValuePair<byte[], byte[]>> ReadBucket(string bucket)
    {
        ThrowIfDisposed();
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT key, value FROM bucket WHERE bucket = $b ORDER BY key";
        command.Parameters.AddWithValue("$b", bucket);
        using var reader = command.ExecuteReader();
        var result = new List<KeyValuePair<byte[], byte[]>>();
        while (reader.Read())
            result.Add(new(reader.IsDBNull(0) ? [] : (byte[])reader.GetValue(0), reader.IsDBNull(1) ? [] : (byte[])reader.GetValue(1)));
        return result;
    }

    /// <summary>
    /// Streams every <c>kv</c> row in revision order (main, then sub) with its value, straight from SQLite's row buffers
    /// (no per-row allocation).
    /// </summary>
    /// <exception cref="SqliteException">SQLite fails to step the scan.</exception>
    public void ForEachRevision(RevisionRowVisitor visit)
    {
        ThrowIfDisposed();
        var db = _connection.Handle!;
        var rc = raw.sqlite3_prepare_v2(db,
            "SELECT main, sub, tombstone, key, create_rev, version, lease, value FROM kv ORDER BY main, sub", out var statement);
        SqliteException.ThrowExceptionForRC(rc, db);
        using (statement)
        {
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                visit(raw.sqlite3_column_int64(statement, 0), raw.sqlite3_column_int64(statement, 1),
                    raw.sqlite3_column_int64(statement, 2) != 0, raw.sqlite3_column_blob(statement, 3),
                    raw.sqlite3_column_int64(statement, 4), raw.sqlite3_column_int64(statement, 5),
                    raw.sqlite3_column_int64(statement, 6), raw.sqlite3_column_blob(statement, 7));
            }
            if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>Ends the read transaction and closes the connection (the writer may checkpoint past it again).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _connection.Dispose();
    }

    void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    long Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L);
    }

    void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
