using Microsoft.Win32.SafeHandles;

namespace Akka.Etcd.Storage.Backend;

public sealed partial class SqliteBackend
{
    /// <summary>
    /// Makes every commit so far durable: <c>wal_checkpoint(TRUNCATE)</c> copies SQLite's WAL into the db file with
    /// fsyncs. While a <see cref="SqliteReadView"/> (another connection's read transaction) is open, the checkpoint
    /// stops at that reader's snapshot and answers busy, and when nothing below that point was left to copy it fsyncs
    /// nothing at all: the frames committed since are then only in the page cache (synchronous=NORMAL). So a busy
    /// checkpoint is followed by an fsync of the <c>-wal</c> file, whose committed frames SQLite replays on open.
    /// </summary>
    /// <exception cref="IOException">The fsync failed.</exception>
    void CheckpointDurably()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        using var reader = command.ExecuteReader();
        var busy = reader.Read() && reader.GetInt64(0) != 0;
        reader.Close();
        if (!busy) return;
        var wal = Path + "-wal";
        if (!File.Exists(wal)) return;
        using SafeFileHandle handle = File.OpenHandle(wal, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.FlushToDisk(handle);
    }
}
