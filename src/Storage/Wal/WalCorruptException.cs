namespace Akka.Etcd.Storage.Wal;

/// <summary>
/// Thrown by <see cref="WriteAheadLog.Open"/> when the WAL is damaged beyond a torn tail: a bad record followed by
/// valid ones, a bad record in a segment other than the last, a missing segment, or inconsistent metadata.
/// Start-up must stop: repairing it could lose acknowledged writes.
/// </summary>
public sealed class WalCorruptException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> at byte <paramref name="offset"/> (-1 = whole file).</summary>
    public WalCorruptException(string filePath, long offset, string reason, Exception? inner = null)
        : base(offset >= 0
            ? $"WAL corrupt: {filePath} at byte offset {offset}: {reason}"
            : $"WAL corrupt: {filePath}: {reason}", inner)
    {
        FilePath = filePath;
        Offset = offset;
    }

    /// <summary>The segment file (or WAL directory) at fault.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset of the bad record in <see cref="FilePath"/>, or -1 when not about one record.</summary>
    public long Offset { get; }
}
