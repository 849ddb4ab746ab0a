using Akka.Etcd.Storage.Backend;
using Akka.Etcd.Storage.Bbolt;
using Akka.Etcd.Storage.EtcdDb;

namespace Akka.Etcd.Node.Snapshots;

/// <summary>
/// The etcd db behind a file given to <c>snapshot status</c> or <c>restore</c>: a snapshot or etcd db file (bbolt) is
/// opened as is; our own backend file (<c>&lt;data-dir&gt;/member/snap/db</c>, SQLite), which an operator copies out of a
/// data dir as etcd users copy etcd's db, is first written as etcd's db into a temp file beside it (the same image
/// Maintenance.Snapshot would send), deleted on dispose. Not thread-safe.
/// </summary>
internal sealed class SnapshotSource : IDisposable
{
    private static readonly byte[] SqliteHeader = "SQLite format 3\0"u8.ToArray();
    private readonly string? _converted;

    private SnapshotSource(BboltFile db, string? converted)
    {
        Db = db;
        _converted = converted;
    }

    /// <summary>The etcd db to read.</summary>
    public BboltFile Db { get; }

    /// <summary>True when <paramref name="path"/> starts with SQLite's header (our backend file, not a snapshot).</summary>
    public static bool IsOurBackend(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[16];
        return file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) == header.Length && header.SequenceEqual(SqliteHeader);
    }

    /// <summary>Opens <paramref name="path"/> as an etcd db.</summary>
    /// <exception cref="BboltFormatException">Neither a bbolt file nor our backend (bbolt's "invalid database").</exception>
    /// <exception cref="IOException">The file cannot be read, or the temp image cannot be written.</exception>
    public static SnapshotSource Open(string path)
    {
        if (!IsOurBackend(path)) return new SnapshotSource(BboltFile.Open(path), null);
        var converted = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.etcd-db");
        try
        {
            using (var view = SqliteReadView.Open(path))
            using (var image = new FileStream(converted, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                EtcdDbExport.Write(view, image);
            }
            return new SnapshotSource(BboltFile.Open(converted), converted);
        }
        catch
        {
            File.Delete(converted);
            throw;
        }
    }

    /// <summary>Closes the db and deletes a temp image.</summary>
    public void Dispose()
    {
        Db.Dispose();
        if (_converted is not null) File.Delete(_converted);
    }
}
