using System.Diagnostics;
using Akka.Etcd.Storage.FileSystem;
using Microsoft.Extensions.Logging;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Akka.Etcd.Storage.Backend;

/// <summary>
/// A compacted copy of a backend file being prepared by a defragmentation, and how far it has caught up with the live
/// file. Immutable; each step returns a new one.
/// </summary>
/// <param name="Path">The copy's file (next to the live one, <c>db.defrag</c>).</param>
/// <param name="ThroughRevision">Every <c>kv</c> row with a main revision up to this one is in the copy (0 when none).</param>
/// <param name="CompactedThrough">Rows deleted by compactions up to this revision are deleted in the copy too (-1: none).</param>
public sealed record BackendCopy(string Path, long ThroughRevision, long CompactedThrough);

/// <summary>
/// Defragmentation without stopping the owner: the live file is copied compacted (<c>VACUUM INTO</c>) from a read-only
/// connection of its own while the owner goes on reading and writing (WAL mode: nobody waits), the copy catches up with
/// what was written meanwhile on that connection too, and only the last, small catch-up and the swap of the files run on
/// the owner's thread (<see cref="TrySwapIn"/>). etcd's bbolt defrag blocks reads and writes for the whole rewrite.
/// <para>Key versions are immutable rows keyed by revision, so catching up is "insert the rows above the copy's
/// revision"; a compaction that ran meanwhile is replayed on the copy by deleting its rows that the live file no
/// longer has; the small <c>meta</c> and <c>bucket</c> tables are copied whole.</para>
/// </summary>
public sealed partial class SqliteBackend
{
    /// <summary>
    /// Writes a compacted copy of the backend at <paramref name="livePath"/> to <paramref name="copyPath"/> (replacing a
    /// leftover one) with <c>VACUUM INTO</c> on a read-only connection: a consistent snapshot of the last commit, taken
    /// without blocking the backend's owner. Runs on any thread; may take seconds for a large file.
    /// </summary>
    /// <exception cref="SqliteException">SQLite failed (e.g. the disk is full).</exception>
    public static BackendCopy CopyCompacted(string livePath, string copyPath)
    {
        DeleteCopy(copyPath);
        using (var source = OpenAux(livePath, SqliteOpenMode.ReadOnly))
        {
            using var vacuum = source.CreateCommand();
            vacuum.CommandText = "VACUUM INTO $path";
            vacuum.Parameters.AddWithValue("$path", copyPath);
            vacuum.ExecuteNonQuery();
        }
        using var copy = OpenAux(copyPath, SqliteOpenMode.ReadWrite);
        AuxExecute(copy, "PRAGMA journal_mode=DELETE;");
        var through = AuxScalar(copy, "SELECT COALESCE(MAX(main), 0) FROM kv") ?? 0;
        var finished = AuxScalar(copy, "SELECT value FROM meta WHERE name = 'finished_compact_rev'") ?? -1;
        return new BackendCopy(copyPath, through, finished);
    }

    /// <summary>
    /// Brings <paramref name="copy"/> up to the last commit of the live file at <paramref name="livePath"/>, in one
    /// transaction on the copy that reads the live file as one snapshot: the <c>kv</c> rows above the copy's revision
    /// are inserted, rows a compaction removed meanwhile are deleted, <c>meta</c> and <c>bucket</c> are replaced.
    /// Runs on any thread; does not block the live file's owner. The copy is flushed to disk before it returns.
    /// </summary>
    /// <exception cref="SqliteException">SQLite failed.</exception>
    public static BackendCopy CatchUp(BackendCopy copy, string livePath)
    {
        var caughtUp = CatchUpCore(copy, livePath);
        // Flushed here, off the owner's thread: the swap's durable commit then only writes what came since.
        using (var handle = File.OpenHandle(copy.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            RandomAccess.FlushToDisk(handle);
        }
        return caughtUp;
    }

    static BackendCopy CatchUpCore(BackendCopy copy, string livePath)
    {
        using var connection = OpenAux(copy.Path, SqliteOpenMode.ReadWrite);
        using (var attach = connection.CreateCommand())
        {
            attach.CommandText = "ATTACH DATABASE $path AS live";
            attach.Parameters.AddWithValue("$path", livePath);
            attach.ExecuteNonQuery();
        }
        AuxExecute(connection, "BEGIN");
        var caughtUp = CopyDelta(connection, source: "live", target: "main", copy);
        AuxExecute(connection, "COMMIT");
        AuxExecute(connection, "DETACH DATABASE live");
        return caughtUp;
    }

    /// <summary>
    /// On the owner's thread: commits, brings <paramref name="copy"/> up to the live state (normally only what was
    /// written since its last <see cref="CatchUp"/>), makes it durable, and swaps it in as this backend's file; the old
    /// file and its SQLite WAL are dropped. Returns false, changing nothing, when a compaction ran since the copy's last
    /// catch-up (replaying it here could take long: catch up again off the owner's thread, then retry).
    /// Open <see cref="SqliteReadView"/>s go on reading the old file until they close.
    /// </summary>
    /// <param name="copy">A copy of this backend's file from <see cref="CopyCompacted"/> and <see cref="CatchUp"/>.</param>
    /// <param name="pause">How long the swap held the owner's thread.</param>
    /// <exception cref="SqliteException">SQLite failed; if it failed after the old connection was closed the backend is
    /// unusable (the caller must stop: the WAL replays the tail on restart).</exception>
    public bool TrySwapIn(BackendCopy copy, out TimeSpan pause)
    {
        ThrowIfDisposed();
        var started = Stopwatch.GetTimestamp();
        Commit();
        var live = MaxCompactRevision(_connection, "main");
        if (live > copy.CompactedThrough)
        {
            pause = Stopwatch.GetElapsedTime(started);
            return false;
        }
        using (var attach = _connection.CreateCommand())
        {
            attach.CommandText = "ATTACH DATABASE $path AS copy";
            attach.Parameters.AddWithValue("$path", copy.Path);
            attach.ExecuteNonQuery();
        }
        try
        {
            Execute("PRAGMA copy.synchronous=FULL;");
            Execute("BEGIN");
            CopyDelta(_connection, source: "main", target: "copy", copy);
            Execute("COMMIT");
        }
        catch
        {
            if (!_connection.Handle!.IsInvalid && raw.sqlite3_get_autocommit(_connection.Handle) == 0) Execute("ROLLBACK");
            Execute("DETACH DATABASE copy");
            throw;
        }
        Execute("DETACH DATABASE copy");
        var caughtUp = Stopwatch.GetTimestamp();

        // The old file and its WAL (grown while the copy was read) are dropped whole. Freeing their blocks can take
        // a while on a large file, so handles keep them alive past the unlinks and are closed off this thread.
        var retired = new List<Microsoft.Win32.SafeHandles.SafeFileHandle>();
        foreach (var file in new[] { Path, Path + "-wal" })
        {
            if (File.Exists(file)) retired.Add(File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        }
        // Closing must not first copy the old WAL into the old file.
        raw.sqlite3_db_config(_connection.Handle!, raw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, out _);
        CloseConnection();
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(Path + suffix)) File.Delete(Path + suffix);
        }
        File.Move(copy.Path, Path, overwrite: true);
        DirectorySync.Sync(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        var swapped = Stopwatch.GetTimestamp();
        OpenConnection();
        pause = Stopwatch.GetElapsedTime(started);
        _ = Task.Run(() => retired.ForEach(handle => handle.Dispose()));
        _logger.LogInformation("defragmentation swap: catch-up and durable commit {CatchUp}, file swap {Swap}, reopen {Reopen}",
            Stopwatch.GetElapsedTime(started, caughtUp), Stopwatch.GetElapsedTime(caughtUp, swapped), Stopwatch.GetElapsedTime(swapped));
        return true;
    }

    /// <summary>Deletes a leftover defragmentation copy and its journal, if any.</summary>
    public static void DeleteCopy(string copyPath)
    {
        foreach (var suffix in new[] { "", "-journal", "-wal", "-shm" })
        {
            if (File.Exists(copyPath + suffix)) File.Delete(copyPath + suffix);
        }
    }

    /// <summary>
    /// Inside an open transaction of <paramref name="connection"/>: inserts into <paramref name="target"/> the <c>kv</c>
    /// rows of <paramref name="source"/> above the copy's revision, replays compactions the copy has not seen, and
    /// replaces <c>meta</c> and <c>bucket</c>. Returns how far the copy now is.
    /// </summary>
    static BackendCopy CopyDelta(SqliteConnection connection, string source, string target, BackendCopy copy)
    {
        var through = AuxScalar(connection, $"SELECT COALESCE(MAX(main), 0) FROM {source}.kv") ?? 0;
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = $"INSERT OR REPLACE INTO {target}.kv SELECT * FROM {source}.kv WHERE main > $through";
            insert.Parameters.AddWithValue("$through", copy.ThroughRevision);
            insert.ExecuteNonQuery();
        }
        var compactedUpTo = MaxCompactRevision(connection, source);
        if (compactedUpTo > copy.CompactedThrough)
        {
            using var delete = connection.CreateCommand();
            delete.CommandText = $"""
                DELETE FROM {target}.kv WHERE main <= $compact AND NOT EXISTS
                  (SELECT 1 FROM {source}.kv AS s WHERE s.main = {target}.kv.main AND s.sub = {target}.kv.sub)
                """;
            delete.Parameters.AddWithValue("$compact", compactedUpTo);
            delete.ExecuteNonQuery();
        }
        AuxExecute(connection, $"DELETE FROM {target}.meta; INSERT INTO {target}.meta SELECT * FROM {source}.meta;");
        AuxExecute(connection, $"DELETE FROM {target}.bucket; INSERT INTO {target}.bucket SELECT * FROM {source}.bucket;");
        // A compaction still running (scheduled above finished) has more deletions to come: only the finished one counts.
        var finished = AuxScalar(connection, $"SELECT value FROM {source}.meta WHERE name = 'finished_compact_rev'") ?? -1;
        return copy with { ThroughRevision = Math.Max(through, copy.ThroughRevision), CompactedThrough = finished };
    }

    /// <summary>The highest compact revision scheduled or finished in <paramref name="schema"/> (-1 when never compacted).</summary>
    static long MaxCompactRevision(SqliteConnection connection, string schema) =>
        AuxScalar(connection, $"SELECT MAX(value) FROM {schema}.meta WHERE name IN ('scheduled_compact_rev', 'finished_compact_rev')") ?? -1;

    static SqliteConnection OpenAux(string path, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = false,
            Mode = mode,
        }.ToString());
        connection.Open();
        return connection;
    }

    static void AuxExecute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    static long? AuxScalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var result = command.ExecuteScalar();
        return result is null or DBNull ? null : Convert.ToInt64(result);
    }
}
