using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.TestDoubles;
using Akka.Etcd.Storage.Wal;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Storage.Tests.Wal;

/// <summary>Shared builders for the WAL tests.</summary>
internal static class WalTestKit
{
    public const string Dir = "/data/member/wal";
    public const ulong MemberId = 0x8e9e05c52164694d;
    public const ulong ClusterId = 0xcdf818194e3a8c32;

    public static WalOptions Options(SimulatedDisk fs, long segmentSize = 64 * 1024, int keep = 5) =>
        new() { FileSystem = fs, SegmentSizeBytes = segmentSize, MaxSegmentsToKeep = keep };

    public static Entry Entry(ulong index, ulong term, int dataBytes = 16) => new()
    {
        Index = index,
        Term = term,
        Type = EntryType.EntryNormal,
        Data = ByteString.CopyFrom(Enumerable.Range(0, dataBytes).Select(i => (byte)(index + (ulong)i)).ToArray()),
    };

    public static List<Entry> Entries(ulong from, ulong to, ulong term = 1, int dataBytes = 16)
    {
        var list = new List<Entry>();
        for (var i = from; i <= to; i++)
            list.Add(Entry(i, term, dataBytes));
        return list;
    }

    public static WalReadResult Reopen(SimulatedDisk fs, WalOptions? options = null)
    {
        using var wal = WriteAheadLog.Open(Dir, options ?? Options(fs), out var state);
        return state;
    }

    public static List<string> SegmentFiles(IStorageFileSystem fs, string dir = Dir) =>
        fs.ListFiles(dir).Where(n => n.EndsWith(".wal", StringComparison.Ordinal)).ToList();

    /// <summary>Byte offsets of every record in a segment file, in order, up to the end of the data.</summary>
    public static List<(long Offset, WalRecordType Type, int Size)> Records(byte[] segment)
    {
        var list = new List<(long, WalRecordType, int)>();
        long offset = 0;
        while (WalRecord.TryDecode(segment.AsSpan((int)offset), out var type, out _, out var size) == WalRecord.DecodeStatus.Valid)
        {
            list.Add((offset, type, size));
            offset += size;
        }
        return list;
    }

    public static void AssertEntries(IEnumerable<Entry> expected, IReadOnlyList<Entry> actual) =>
        Assert.Equal(expected.Select(e => (e.Index, e.Term, e.Data.ToBase64())),
            actual.Select(e => (e.Index, e.Term, e.Data.ToBase64())));
}

/// <summary>An ILogger that keeps formatted messages, to assert on warnings.</summary>
internal sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
{
    public List<(Microsoft.Extensions.Logging.LogLevel Level, string Message)> Messages { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId,
        TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Messages.Add((logLevel, formatter(state, exception)));
}
