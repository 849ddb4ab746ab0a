namespace Akka.Etcd.Storage.FileSystem;

/// <summary>
/// The file seam of the WAL and snapshot files: every byte they read or write goes through this interface, so
/// tests can swap in an in-memory file system (tests/Storage.Tests/FileSystem) to simulate crashes (loss of unsynced bytes, torn writes) and
/// I/O errors. Paths are absolute or relative OS paths; names returned by <see cref="ListFiles"/> are bare file names.
/// Implementations are thread-safe for distinct files; a single <see cref="IStorageFile"/> has one user at a time.
/// </summary>
public interface IStorageFileSystem
{
    /// <summary>True when <paramref name="path"/> is an existing directory.</summary>
    bool DirectoryExists(string path);

    /// <summary>Creates <paramref name="path"/> and any missing parents (no-op when it exists).</summary>
    void CreateDirectory(string path);

    /// <summary>The bare names of the regular files directly inside <paramref name="directory"/>, ordinal-sorted;
    /// empty when the directory does not exist.</summary>
    IReadOnlyList<string> ListFiles(string directory);

    /// <summary>True when <paramref name="path"/> is an existing regular file.</summary>
    bool FileExists(string path);

    /// <summary>Creates a new file (fails with <see cref="IOException"/> when it exists) opened for read and write,
    /// with its length set to <paramref name="preallocateBytes"/> zero bytes (0 = empty).</summary>
    IStorageFile CreateFile(string path, long preallocateBytes = 0);

    /// <summary>Opens an existing file for read and write; throws <see cref="FileNotFoundException"/> when missing.</summary>
    IStorageFile OpenFile(string path);

    /// <summary>Atomically renames <paramref name="source"/> to <paramref name="destination"/>, replacing it when it
    /// exists (rename(2) semantics). Call <see cref="SyncDirectory"/> to make the new name durable.</summary>
    void Rename(string source, string destination);

    /// <summary>Deletes the file at <paramref name="path"/> (no-op when missing).</summary>
    void DeleteFile(string path);

    /// <summary>fsyncs the directory so creates, renames and deletes inside it survive a power loss.</summary>
    void SyncDirectory(string directory);

    /// <summary>Takes an exclusive lock on <paramref name="path"/> (created when missing) held until the returned
    /// handle is disposed; throws <see cref="StorageLockedException"/> when another holder (process or handle) has it.</summary>
    IDisposable Lock(string path);
}

/// <summary>
/// An open file of an <see cref="IStorageFileSystem"/> with positional I/O. Writes land in the OS cache (or the
/// in-memory "unsynced" layer) and are durable only after <see cref="Sync"/>. Not thread-safe: one user at a time.
/// </summary>
public interface IStorageFile : IDisposable
{
    /// <summary>The path the file was opened with.</summary>
    string Path { get; }

    /// <summary>Current length in bytes (including preallocated zeros).</summary>
    long Length { get; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at byte <paramref name="offset"/>; returns the count read (0 at end of file).</summary>
    int Read(long offset, Span<byte> buffer);

    /// <summary>Writes all of <paramref name="data"/> at byte <paramref name="offset"/>, growing the file when needed.
    /// Throws <see cref="IOException"/> on failure (e.g. "No space left on device").</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Sets the length in bytes: truncates, or extends with zeros.</summary>
    void SetLength(long length);

    /// <summary>Flushes written bytes to stable storage (fdatasync); the durability point.</summary>
    void Sync();
}

/// <summary>Thrown by <see cref="IStorageFileSystem.Lock"/> when the lock is already held, e.g. a second
/// <c>akka-etcd</c> process started on the same data directory.</summary>
public sealed class StorageLockedException : IOException
{
    /// <summary>Creates the exception for the lock file <paramref name="path"/>.</summary>
    public StorageLockedException(string path, Exception? inner = null)
        : base($"{path} is locked by another process or handle (is another member running on this data directory?)", inner)
    {
        LockPath = path;
    }

    /// <summary>The lock file that could not be taken.</summary>
    public string LockPath { get; }
}
