using Akka.Etcd.Storage.FileSystem;

namespace Akka.Etcd.TestDoubles;

/// <summary>
/// The one simulated disk of the tests: an in-memory <see cref="IStorageFileSystem"/> that can fail the way a real
/// disk does. Each file keeps a "durable" image (what survives a power loss: the state at its last
/// <see cref="IStorageFile.Sync"/>) and the ordered list of writes and length changes made since.
/// <list type="bullet">
/// <item><see cref="Crash"/>: the process dies and the power goes: every write not fsynced is lost, optionally keeping
/// a prefix of them (<see cref="CrashTearingLastWrite"/>: everything but a torn last write).</item>
/// <item><see cref="WriteFault"/>, <see cref="SyncFault"/>, <see cref="PreallocateFault"/>: return EIO
/// (<see cref="Eio"/>) or ENOSPC (<see cref="DiskFull"/>) on demand, per path.</item>
/// <item><see cref="HoldSyncs"/>: fsyncs block until released, as on a slow disk, so a test can queue work while a
/// writer is inside its fsync; <see cref="SyncCount"/> counts them.</item>
/// </list>
/// Simplification: creating, renaming and deleting files is durable at once (directory fsync is a no-op).
/// Thread-safe (one lock around the state; a held fsync waits outside it).
/// </summary>
public sealed class SimulatedDisk : IStorageFileSystem
{
    private static readonly TimeSpan HoldDeadline = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _syncStarted = new(0);
    private ManualResetEventSlim? _held;
    private readonly object _gate = new();
    private readonly Dictionary<string, FileNode> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
    private readonly HashSet<string> _locks = new(StringComparer.Ordinal);
    private readonly List<PendingChange> _unsynced = new();
    private int _incarnation;

    /// <summary>Called before every write with the file path; a non-null result is thrown instead of writing
    /// (nothing of that write lands). Null (the default) means writes succeed.</summary>
    public Func<string, IOException?>? WriteFault { get; set; }

    /// <summary>Called before every fsync of a file with its path; a non-null result is thrown instead (nothing
    /// becomes durable). Null (the default) means fsyncs succeed.</summary>
    public Func<string, IOException?>? SyncFault { get; set; }

    /// <summary>Called before a file is created with preallocated space or extended by SetLength, with its path; a
    /// non-null result is thrown instead (the file is not created or not resized).</summary>
    public Func<string, IOException?>? PreallocateFault { get; set; }

    /// <summary>The error Linux returns when the disk is full (ENOSPC, errno 28).</summary>
    public static IOException DiskFull() => new("No space left on device", 28);

    /// <summary>The error Linux returns when the device fails a read, write or fsync (EIO, errno 5).</summary>
    public static IOException Eio() => new("Input/output error", 5);

    /// <summary>Number of <see cref="IStorageFile.Sync"/> calls so far (group-commit tests count them).</summary>
    public int SyncCount
    {
        get
        {
            lock (_gate)
                return _syncCount;
        }
    }

    private int _syncCount;

    /// <summary>Makes the next fsyncs block until the returned handle is disposed (a slow disk). Each fsync that
    /// starts while held signals <see cref="SyncStartedAsync"/>.</summary>
    public IDisposable HoldSyncs()
    {
        var held = new ManualResetEventSlim(false);
        Volatile.Write(ref _held, held);
        return new SyncRelease(this, held);
    }

    /// <summary>Completes when an fsync has started while held (one per call); throws <see cref="TimeoutException"/>
    /// when none starts within 10 s.</summary>
    public async Task SyncStartedAsync()
    {
        if (!await _syncStarted.WaitAsync(HoldDeadline).ConfigureAwait(false))
            throw new TimeoutException("no fsync started before the deadline");
    }

    /// <summary>
    /// A power loss that tears the last write: every unsynced write but the last survives whole, and only the first
    /// <paramref name="keepBytesOfLastWrite"/> bytes of the last one land. See <see cref="Crash"/>.
    /// </summary>
    public void CrashTearingLastWrite(int keepBytesOfLastWrite)
    {
        lock (_gate)
        {
            var last = _unsynced.FindLastIndex(c => c.Data is not null);
            var before = _unsynced.Take(Math.Max(0, last)).Sum(c => (long)(c.Data?.Length ?? 0));
            var keep = last < 0 ? 0 : Math.Min(keepBytesOfLastWrite, _unsynced[last].Data!.Length);
            Crash(before + keep);
        }
    }

    /// <summary>
    /// Simulates a power loss: every file reverts to its durable image, then the first
    /// <paramref name="keepUnsyncedBytes"/> bytes of the unsynced writes (across files, in write order) are re-applied,
    /// tearing the write that crosses that point; length changes before the tear point survive too. Open handles
    /// become unusable (<see cref="ObjectDisposedException"/>) and all locks are released, as when a process dies.
    /// </summary>
    public void Crash(long keepUnsyncedBytes = 0)
    {
        lock (_gate)
        {
            foreach (var node in _files.Values)
                node.RevertToDurable();
            var remaining = keepUnsyncedBytes;
            foreach (var change in _unsynced)
            {
                if (remaining <= 0)
                    break;
                if (change.Data is null)
                {
                    change.Node.SetCurrentLength(change.Length);
                    continue;
                }
                var kept = (int)Math.Min(remaining, change.Data.Length);
                change.Node.WriteCurrent(change.Offset, change.Data.AsSpan(0, kept));
                remaining -= kept;
            }
            foreach (var node in _files.Values)
                node.MarkDurable();
            _unsynced.Clear();
            _locks.Clear();
            _incarnation++;
        }
    }

    /// <summary>Total bytes of writes not yet synced (the range <see cref="Crash"/> can keep a prefix of).</summary>
    public long UnsyncedBytes
    {
        get
        {
            lock (_gate)
                return _unsynced.Sum(c => (long)(c.Data?.Length ?? 0));
        }
    }

    /// <summary>A copy of the current (possibly unsynced) contents of the file at <paramref name="path"/>.</summary>
    public byte[] ReadAllBytes(string path)
    {
        lock (_gate)
            return GetNode(path).CurrentBytes();
    }

    /// <summary>Overwrites bytes of a file durably, bypassing faults (to plant corruption in tests).</summary>
    public void Poke(string path, long offset, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            var node = GetNode(path);
            node.WriteCurrent(offset, data);
            node.WriteDurable(offset, data);
        }
    }

    /// <inheritdoc />
    public bool DirectoryExists(string path)
    {
        lock (_gate)
            return _directories.Contains(Normalize(path));
    }

    /// <inheritdoc />
    public void CreateDirectory(string path)
    {
        lock (_gate)
        {
            for (var dir = Normalize(path); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
                _directories.Add(dir);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ListFiles(string directory)
    {
        var dir = Normalize(directory);
        lock (_gate)
        {
            var names = _files.Keys.Where(p => Path.GetDirectoryName(p) == dir).Select(p => Path.GetFileName(p)).ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    /// <inheritdoc />
    public bool FileExists(string path)
    {
        lock (_gate)
            return _files.ContainsKey(Normalize(path));
    }

    /// <inheritdoc />
    public IStorageFile CreateFile(string path, long preallocateBytes = 0)
    {
        var full = Normalize(path);
        lock (_gate)
        {
            RequireParent(full);
            if (_files.ContainsKey(full))
                throw new IOException($"The file '{full}' already exists.");
            if (preallocateBytes > 0 && PreallocateFault?.Invoke(full) is { } noSpace)
                throw noSpace;
            var node = new FileNode();
            _files[full] = node;
            var file = new InMemoryFile(this, full, node, _incarnation);
            if (preallocateBytes > 0)
                SetLength(file, preallocateBytes, checkFault: false);
            return file;
        }
    }

    /// <inheritdoc />
    public IStorageFile OpenFile(string path)
    {
        lock (_gate)
        {
            var full = Normalize(path);
            return new InMemoryFile(this, full, GetNode(full), _incarnation);
        }
    }

    /// <inheritdoc />
    public void Rename(string source, string destination)
    {
        lock (_gate)
        {
            var from = Normalize(source);
            var to = Normalize(destination);
            var node = GetNode(from);
            RequireParent(to);
            _files.Remove(from);
            _files[to] = node;
        }
    }

    /// <inheritdoc />
    public void DeleteFile(string path)
    {
        lock (_gate)
        {
            var full = Normalize(path);
            if (_files.Remove(full, out var node))
                _unsynced.RemoveAll(c => c.Node == node);
        }
    }

    /// <inheritdoc />
    public void SyncDirectory(string directory)
    {
        lock (_gate)
        {
            if (!_directories.Contains(Normalize(directory)))
                throw new DirectoryNotFoundException($"Could not find a part of the path '{directory}'.");
        }
    }

    /// <inheritdoc />
    public IDisposable Lock(string path)
    {
        var full = Normalize(path);
        lock (_gate)
        {
            RequireParent(full);
            if (!_locks.Add(full))
                throw new StorageLockedException(full);
            if (!_files.ContainsKey(full))
                _files[full] = new FileNode();
            return new LockHandle(this, full, _incarnation);
        }
    }

    private void Write(InMemoryFile file, long offset, ReadOnlySpan<byte> data)
    {
        var fault = WriteFault?.Invoke(file.Path);
        if (fault is not null)
            throw fault;
        lock (_gate)
        {
            CheckAlive(file.Incarnation, file.Path);
            file.Node.WriteCurrent(offset, data);
            _unsynced.Add(new PendingChange(file.Node, offset, data.ToArray(), 0));
        }
    }

    private void SetLength(InMemoryFile file, long length, bool checkFault = true)
    {
        if (checkFault && PreallocateFault?.Invoke(file.Path) is { } fault)
            throw fault;
        lock (_gate)
        {
            CheckAlive(file.Incarnation, file.Path);
            file.Node.SetCurrentLength(length);
            _unsynced.Add(new PendingChange(file.Node, 0, null, length));
        }
    }

    private void Sync(InMemoryFile file)
    {
        if (Volatile.Read(ref _held) is { } held)
        {
            _syncStarted.Release();
            if (!held.Wait(HoldDeadline))
                throw new TimeoutException("the test never released the held fsync");
        }
        if (SyncFault?.Invoke(file.Path) is { } fault)
            throw fault;
        lock (_gate)
        {
            CheckAlive(file.Incarnation, file.Path);
            _syncCount++;
            foreach (var change in _unsynced)
            {
                if (change.Node != file.Node)
                    continue;
                if (change.Data is null)
                    change.Node.SetDurableLength(change.Length);
                else
                    change.Node.WriteDurable(change.Offset, change.Data);
            }
            _unsynced.RemoveAll(c => c.Node == file.Node);
        }
    }

    private int Read(InMemoryFile file, long offset, Span<byte> buffer)
    {
        lock (_gate)
        {
            CheckAlive(file.Incarnation, file.Path);
            return file.Node.ReadCurrent(offset, buffer);
        }
    }

    private long Length(InMemoryFile file)
    {
        lock (_gate)
        {
            CheckAlive(file.Incarnation, file.Path);
            return file.Node.CurrentLength;
        }
    }

    private void Unlock(LockHandle handle)
    {
        lock (_gate)
        {
            if (handle.Incarnation == _incarnation)
                _locks.Remove(handle.Path);
        }
    }

    private void CheckAlive(int incarnation, string path)
    {
        if (incarnation != _incarnation)
            throw new ObjectDisposedException(path, "The file handle was lost in a simulated crash.");
    }

    private FileNode GetNode(string path)
    {
        var full = Normalize(path);
        return _files.TryGetValue(full, out var node)
            ? node
            : throw new FileNotFoundException($"Could not find file '{full}'.", full);
    }

    private void RequireParent(string full)
    {
        var parent = Path.GetDirectoryName(full);
        if (parent is not null && !_directories.Contains(parent))
            throw new DirectoryNotFoundException($"Could not find a part of the path '{full}'.");
    }

    private static string Normalize(string path) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    private sealed record PendingChange(FileNode Node, long Offset, byte[]? Data, long Length);

    private sealed class FileNode
    {
        private byte[] _current = Array.Empty<byte>();
        private byte[] _durable = Array.Empty<byte>();
        private long _durableLength;

        public long CurrentLength { get; private set; }

        public byte[] CurrentBytes() => _current.AsSpan(0, (int)CurrentLength).ToArray();

        public int ReadCurrent(long offset, Span<byte> buffer)
        {
            if (offset >= CurrentLength)
                return 0;
            var n = (int)Math.Min(buffer.Length, CurrentLength - offset);
            _current.AsSpan((int)offset, n).CopyTo(buffer);
            return n;
        }

        public void WriteCurrent(long offset, ReadOnlySpan<byte> data)
        {
            var end = offset + data.Length;
            if (end > CurrentLength)
                SetCurrentLength(end);
            data.CopyTo(_current.AsSpan((int)offset));
        }

        public void SetCurrentLength(long length) => Resize(ref _current, CurrentLength, length, l => CurrentLength = l);

        public void WriteDurable(long offset, ReadOnlySpan<byte> data)
        {
            var end = offset + data.Length;
            if (end > _durableLength)
                SetDurableLength(end);
            data.CopyTo(_durable.AsSpan((int)offset));
        }

        public void SetDurableLength(long length) => Resize(ref _durable, _durableLength, length, l => _durableLength = l);

        public void RevertToDurable()
        {
            _current = _durable.AsSpan(0, (int)_durableLength).ToArray();
            CurrentLength = _durableLength;
        }

        public void MarkDurable()
        {
            _durable = _current.AsSpan(0, (int)CurrentLength).ToArray();
            _durableLength = CurrentLength;
        }

        private static void Resize(ref byte[] buffer, long oldLength, long newLength, Action<long> setLength)
        {
            if (newLength > buffer.Length)
                Array.Resize(ref buffer, (int)Math.Max(newLength, Math.Min((long)buffer.Length * 2, int.MaxValue)));
            if (newLength < oldLength)
                buffer.AsSpan((int)newLength, (int)(oldLength - newLength)).Clear();
            setLength(newLength);
        }
    }

    private sealed class InMemoryFile(SimulatedDisk fs, string path, FileNode node, int incarnation) : IStorageFile
    {
        public string Path { get; } = path;
        public FileNode Node { get; } = node;
        public int Incarnation { get; } = incarnation;
        public long Length => fs.Length(this);
        public int Read(long offset, Span<byte> buffer) => fs.Read(this, offset, buffer);
        public void Write(long offset, ReadOnlySpan<byte> data) => fs.Write(this, offset, data);
        public void SetLength(long length) => fs.SetLength(this, length);
        public void Sync() => fs.Sync(this);
        public void Dispose() { }
    }

    private sealed class SyncRelease(SimulatedDisk disk, ManualResetEventSlim held) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.CompareExchange(ref disk._held, null, held);
            held.Set();
        }
    }

    private sealed class LockHandle(SimulatedDisk fs, string path, int incarnation) : IDisposable
    {
        private bool _disposed;
        public string Path { get; } = path;
        public int Incarnation { get; } = incarnation;

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            fs.Unlock(this);
        }
    }
}
