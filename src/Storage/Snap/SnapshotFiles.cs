using System.Buffers.Binary;
using System.Globalization;
using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.Storage.Wal;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Raftpb;

namespace Akka.Etcd.Storage.Snap;

/// <summary>
/// Raft snapshot files <c>%016x-%016x.snap</c> (term, index) in one directory, the behaviour of etcd's
/// etcdserver/api/snap Snapshotter in our own format: a CRC-checked protobuf <c>Raftpb.Snapshot</c>
/// (<c>[uint32 LE CRC-32C of payload][uint32 LE payload length in bytes][payload]</c>). The data part stays small
/// for us: the MVCC backend file is the state machine. Broken files are renamed to <c>*.broken</c> on load.
/// <para>Threading: not thread-safe; one owner calls it.</para>
/// </summary>
public sealed class SnapshotFiles
{
    /// <summary>Extension of snapshot files.</summary>
    public const string Extension = ".snap";

    /// <summary>Suffix appended to files that failed to load.</summary>
    public const string BrokenSuffix = ".broken";

    private const int HeaderSize = 8;
    private const string TempSuffix = ".tmp";

    private readonly IStorageFileSystem _fs;
    private readonly ILogger _logger;

    /// <summary>Uses <paramref name="directory"/> (created when missing) through <paramref name="fileSystem"/>
    /// (default: the real one).</summary>
    public SnapshotFiles(string directory, IStorageFileSystem? fileSystem = null, ILogger? logger = null)
    {
        Directory = directory;
        _fs = fileSystem ?? PhysicalFileSystem.Instance;
        _logger = logger ?? NullLogger.Instance;
        _fs.CreateDirectory(directory);
    }

    /// <summary>The snapshot directory etcd uses by default: <c>&lt;dataDir&gt;/member/snap</c>.</summary>
    public static string DefaultDirectory(string dataDir) => Path.Combine(dataDir, "member", "snap");

    /// <summary>The snapshot directory.</summary>
    public string Directory { get; }

    /// <summary>The file name for a snapshot at raft <paramref name="term"/> and <paramref name="index"/>.</summary>
    public static string FileName(ulong term, ulong index) => $"{term:x16}-{index:x16}{Extension}";

    /// <summary>
    /// Durably saves <paramref name="snapshot"/> (write a temp file, fsync, rename, fsync the directory) and returns
    /// its path. Throws <see cref="ArgumentException"/> for an empty snapshot (no metadata or index 0) and
    /// <see cref="IOException"/> on write errors (the temp file is removed).
    /// </summary>
    public string Save(Snapshot snapshot)
    {
        var metadata = snapshot.Metadata;
        if (metadata is null || metadata.Index == 0)
            throw new ArgumentException("cannot save an empty snapshot (metadata index 0)", nameof(snapshot));
        var payload = snapshot.ToByteArray();
        var bytes = new byte[HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Crc32C.Compute(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(bytes, HeaderSize);

        var path = Path.Combine(Directory, FileName(metadata.Term, metadata.Index));
        var temp = path + TempSuffix;
        _fs.DeleteFile(temp);
        try
        {
            using (var file = _fs.CreateFile(temp))
            {
                file.Write(0, bytes);
                file.Sync();
            }
            _fs.Rename(temp, path);
        }
        catch
        {
            _fs.DeleteFile(temp);
            throw;
        }
        _fs.SyncDirectory(Directory);
        return path;
    }

    /// <summary>Names of the snapshot files, newest (highest term, then index) first.</summary>
    public IReadOnlyList<string> List()
    {
        var names = _fs.ListFiles(Directory).Where(n => TryParse(n, out _, out _)).ToList();
        names.Sort((a, b) => string.CompareOrdinal(b, a));
        return names;
    }

    /// <summary>
    /// Loads the newest snapshot that reads back intact, or null when there is none. Files that fail (short, CRC
    /// mismatch, unparsable, or metadata not matching the name) are renamed to <c>*.broken</c> with a warning, as etcd does.
    /// </summary>
    public Snapshot? LoadNewest()
    {
        foreach (var name in List())
        {
            var path = Path.Combine(Directory, name);
            var snapshot = TryLoad(path, name, out var problem);
            if (snapshot is not null)
                return snapshot;
            _logger.LogWarning("snapshot file {File} is broken ({Problem}); renaming it to {Suffix}", path, problem, BrokenSuffix);
            _fs.Rename(path, path + BrokenSuffix);
            _fs.SyncDirectory(Directory);
        }
        return null;
    }

    /// <summary>Deletes the oldest snapshot files so that at most <paramref name="keep"/> remain (etcd
    /// <c>--max-snapshots</c>, default 5; 0 = keep all). Returns how many were deleted.</summary>
    public int Purge(int keep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        if (keep == 0)
            return 0;
        var names = List();
        for (var i = keep; i < names.Count; i++)
            _fs.DeleteFile(Path.Combine(Directory, names[i]));
        var deleted = Math.Max(0, names.Count - keep);
        if (deleted > 0)
            _fs.SyncDirectory(Directory);
        return deleted;
    }

    private Snapshot? TryLoad(string path, string name, out string problem)
    {
        byte[] bytes;
        using (var file = _fs.OpenFile(path))
        {
            bytes = new byte[file.Length];
            if (file.Read(0, bytes) != bytes.Length)
            {
                problem = "short read";
                return null;
            }
        }
        if (bytes.Length < HeaderSize)
        {
            problem = $"only {bytes.Length} bytes";
            return null;
        }
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        var payload = bytes.AsSpan(HeaderSize);
        if (length != payload.Length)
        {
            problem = $"payload length {length} but {payload.Length} bytes follow the header";
            return null;
        }
        if (Crc32C.Compute(payload) != crc)
        {
            problem = "CRC mismatch";
            return null;
        }
        Snapshot snapshot;
        try
        {
            snapshot = Snapshot.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            problem = $"unparsable: {e.Message}";
            return null;
        }
        TryParse(name, out var term, out var index);
        if (snapshot.Metadata is null || snapshot.Metadata.Term != term || snapshot.Metadata.Index != index)
        {
            problem = "metadata does not match the file name";
            return null;
        }
        problem = "";
        return snapshot;
    }

    private static bool TryParse(string fileName, out ulong term, out ulong index)
    {
        term = index = 0;
        return fileName.Length == 33 + Extension.Length && fileName.EndsWith(Extension, StringComparison.Ordinal)
            && fileName[16] == '-'
            && ulong.TryParse(fileName.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out term)
            && ulong.TryParse(fileName.AsSpan(17, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out index);
    }
}
