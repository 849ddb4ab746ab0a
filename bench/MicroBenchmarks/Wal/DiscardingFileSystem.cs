using Akka.Etcd.Storage.FileSystem;

namespace Akka.Etcd.MicroBenchmarks.Wal;

/// <summary>
/// An <see cref="IStorageFileSystem"/> that keeps nothing: writes and fsyncs return at once, files are never listed.
/// A <see cref="Akka.Etcd.Storage.Wal.WriteAheadLog"/> on it costs only its own work (protobuf encode, CRC-32C, framing
/// into its buffer), which splits that CPU cost from the write and fsync cost measured on the real file system.
/// Only good for writing: a WAL on it cannot be reopened. Stateless and thread-safe.
/// </summary>
public sealed class DiscardingFileSystem : IStorageFileSystem
{
    /// <summary>Always true.</summary>
    public bool DirectoryExists(string path) => true;

    /// <summary>No-op.</summary>
    public void CreateDirectory(string path)
    {
    }

    /// <summary>Always empty, so <c>WriteAheadLog.Create</c> finds no existing WAL.</summary>
    public IReadOnlyList<string> ListFiles(string directory) => Array.Empty<string>();

    /// <summary>Always false.</summary>
    public bool FileExists(string path) => false;

    /// <summary>A file of <paramref name="preallocateBytes"/> bytes whose writes are dropped.</summary>
    public IStorageFile CreateFile(string path, long preallocateBytes = 0) => new DiscardedFile(path, preallocateBytes);

    /// <summary>An empty file whose writes are dropped.</summary>
    public IStorageFile OpenFile(string path) => new DiscardedFile(path, 0);

    /// <summary>No-op.</summary>
    public void Rename(string source, string destination)
    {
    }

    /// <summary>No-op.</summary>
    public void DeleteFile(string path)
    {
    }

    /// <summary>No-op.</summary>
    public void SyncDirectory(string directory)
    {
    }

    /// <summary>A lock that excludes nobody.</summary>
    public IDisposable Lock(string path) => new DiscardedFile(path, 0);

    private sealed class DiscardedFile(string path, long length) : IStorageFile
    {
        public string Path { get; } = path;

        public long Length { get; private set; } = length;

        public int Read(long offset, Span<byte> buffer) => 0;

        public void Write(long offset, ReadOnlySpan<byte> data) => Length = Math.Max(Length, offset + data.Length);

        public void SetLength(long length) => Length = length;

        public void Sync()
        {
        }

        public void Dispose()
        {
        }
    }
}
