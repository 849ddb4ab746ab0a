using Microsoft.Win32.SafeHandles;

namespace Akka.Etcd.Storage.FileSystem;

/// <summary>
/// The real <see cref="IStorageFileSystem"/> over the OS: positional I/O with <see cref="RandomAccess"/>, fsync with
/// <see cref="RandomAccess.FlushToDisk"/>, directory fsync through libc open/fsync (Unix), and locks with
/// <see cref="FileShare.None"/> (flock(LOCK_EX) on Unix). Stateless and thread-safe.
/// </summary>
public sealed class PhysicalFileSystem : IStorageFileSystem
{
    /// <summary>The shared instance.</summary>
    public static PhysicalFileSystem Instance { get; } = new();

    /// <inheritdoc />
    public bool DirectoryExists(string path) => Directory.Exists(path);

    /// <inheritdoc />
    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    /// <inheritdoc />
    public IReadOnlyList<string> ListFiles(string directory)
    {
        if (!Directory.Exists(directory))
            return Array.Empty<string>();
        var names = Directory.GetFiles(directory).Select(p => System.IO.Path.GetFileName(p)).ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <inheritdoc />
    public bool FileExists(string path) => File.Exists(path);

    /// <inheritdoc />
    public IStorageFile CreateFile(string path, long preallocateBytes = 0)
    {
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read,
            FileOptions.None, preallocateBytes);
        try
        {
            if (preallocateBytes > 0)
                RandomAccess.SetLength(handle, preallocateBytes);
            return new PhysicalFile(path, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IStorageFile OpenFile(string path) =>
        new PhysicalFile(path, File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read));

    /// <inheritdoc />
    public void Rename(string source, string destination) => File.Move(source, destination, overwrite: true);

    /// <inheritdoc />
    public void DeleteFile(string path) => File.Delete(path);

    /// <inheritdoc />
    public void SyncDirectory(string directory) => DirectorySync.Sync(directory);

    /// <inheritdoc />
    public IDisposable Lock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new StorageLockedException(path, e);
        }
    }

    private sealed class PhysicalFile(string path, SafeFileHandle handle) : IStorageFile
    {
        public string Path { get; } = path;

        public long Length => RandomAccess.GetLength(handle);

        public int Read(long offset, Span<byte> buffer)
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var n = RandomAccess.Read(handle, buffer[total..], offset + total);
                if (n == 0)
                    break;
                total += n;
            }
            return total;
        }

        public void Write(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(handle, data, offset);

        public void SetLength(long length) => RandomAccess.SetLength(handle, length);

        public void Sync() => RandomAccess.FlushToDisk(handle);

        public void Dispose() => handle.Dispose();
    }
}
