using Akka.Etcd.TestDoubles;
using Akka.Etcd.Storage.FileSystem;

namespace Akka.Etcd.Actors.Tests.Journal;

/// <summary>
/// An <see cref="InMemoryFileSystem"/> seen through a seam that counts file fsyncs and can hold them: while
/// <see cref="HoldSyncs"/> is in force, an fsync signals <see cref="SyncStartedAsync"/> and blocks until released, as a
/// slow disk would; the journal's thread is then inside its fsync while the test queues more work for it.
/// </summary>
internal sealed class SyncGateFileSystem(InMemoryFileSystem inner) : IStorageFileSystem
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _started = new(0);
    private ManualResetEventSlim? _held;
    private int _syncs;

    public InMemoryFileSystem Inner { get; } = inner;

    /// <summary>File fsyncs so far (directory syncs not counted).</summary>
    public int FileSyncs => Volatile.Read(ref _syncs);

    /// <summary>Makes the next fsyncs block until the returned handle is disposed.</summary>
    public IDisposable HoldSyncs()
    {
        var held = new ManualResetEventSlim(false);
        Volatile.Write(ref _held, held);
        return new Release(this, held);
    }

    /// <summary>Completes when an fsync has started while held (one per call).</summary>
    public async Task SyncStartedAsync() =>
        Assert.True(await _started.WaitAsync(Deadline), "no fsync started before the deadline");

    public bool DirectoryExists(string path) => Inner.DirectoryExists(path);

    public void CreateDirectory(string path) => Inner.CreateDirectory(path);

    public IReadOnlyList<string> ListFiles(string directory) => Inner.ListFiles(directory);

    public bool FileExists(string path) => Inner.FileExists(path);

    public IStorageFile CreateFile(string path, long preallocateBytes = 0) => new File(this, Inner.CreateFile(path, preallocateBytes));

    public IStorageFile OpenFile(string path) => new File(this, Inner.OpenFile(path));

    public void Rename(string source, string destination) => Inner.Rename(source, destination);

    public void DeleteFile(string path) => Inner.DeleteFile(path);

    public void SyncDirectory(string directory) => Inner.SyncDirectory(directory);

    public IDisposable Lock(string path) => Inner.Lock(path);

    private void OnSync()
    {
        Interlocked.Increment(ref _syncs);
        if (Volatile.Read(ref _held) is { } held)
        {
            _started.Release();
            if (!held.Wait(Deadline))
            {
                throw new TimeoutException("the test never released the held fsync");
            }
        }
    }

    private sealed class Release(SyncGateFileSystem fs, ManualResetEventSlim held) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.CompareExchange(ref fs._held, null, held);
            held.Set();
        }
    }

    private sealed class File(SyncGateFileSystem fs, IStorageFile inner) : IStorageFile
    {
        public string Path => inner.Path;

        public long Length => inner.Length;

        public int Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => inner.Write(offset, data);

        public void SetLength(long length) => inner.SetLength(length);

        public void Sync()
        {
            fs.OnSync();
            inner.Sync();
        }

        public void Dispose() => inner.Dispose();
    }
}
