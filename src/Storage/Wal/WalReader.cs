using System.Buffers.Binary;
using Akka.Etcd.Storage.FileSystem;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Storage.Wal;

/// <summary>
/// Reads every segment of a WAL directory in order for <see cref="WriteAheadLog.Open"/>, checking the segment
/// sequence, each record's CRC and framing, and repairing a torn tail of the last segment by zero-filling it.
/// Single use, single thread.
/// </summary>
internal sealed class WalReader(IStorageFileSystem fs, string dir, ILogger logger)
{
    private readonly List<Entry> _entries = new();
    private bool _haveMetadata;

    public List<WalSegmentName> Segments { get; } = new();
    public ulong MemberId { get; private set; }
    public ulong ClusterId { get; private set; }
    public HardState? HardState { get; private set; }
    public ulong SnapshotIndex { get; private set; }
    public ulong SnapshotTerm { get; private set; }
    public IReadOnlyList<Entry> Entries => _entries;

    /// <summary>Offset just after the last valid record of the last segment: where appends continue.</summary>
    public long TailOffset { get; private set; }

    /// <summary>Offset just after the segment-start record of the last segment.</summary>
    public long TailSegmentDataStart { get; private set; }

    public void ReadAll()
    {
        foreach (var name in fs.ListFiles(dir))
        {
            if (WalSegmentName.TryParse(name, out var segment))
                Segments.Add(segment);
        }
        Segments.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        for (var i = 1; i < Segments.Count; i++)
        {
            if (Segments[i].Sequence != Segments[i - 1].Sequence + 1)
                throw new WalCorruptException(dir, -1,
                    $"missing segment: {Segments[i].FileName} follows {Segments[i - 1].FileName} (expected sequence {Segments[i - 1].Sequence + 1:x16})");
            if (Segments[i].FirstIndex < Segments[i - 1].FirstIndex)
                throw new WalCorruptException(dir, -1,
                    $"segment {Segments[i].FileName} starts below the index of {Segments[i - 1].FileName}");
        }
        for (var i = 0; i < Segments.Count; i++)
            ReadSegment(Segments[i], isLast: i == Segments.Count - 1);
    }

    private void ReadSegment(WalSegmentName segment, bool isLast)
    {
        var path = Path.Combine(dir, segment.FileName);
        using var file = fs.OpenFile(path);
        var data = new byte[file.Length];
        var read = file.Read(0, data);
        if (read != data.Length)
            throw new IOException($"short read of {path}: {read} of {data.Length} bytes");

        long offset = 0;
        while (true)
        {
            var status = WalRecord.TryDecode(data.AsSpan((int)offset), out var type, out var payload, out var framed);
            if (status != WalRecord.DecodeStatus.Valid && offset == 0)
                throw new WalCorruptException(path, 0, "segment has no valid segment-start record");
            if (status != WalRecord.DecodeStatus.Valid)
            {
                EndOfData(file, data, offset, status, isLast);
                break;
            }
            if (offset == 0 && type != WalRecordType.SegmentStart)
                throw new WalCorruptException(path, 0, $"segment does not begin with a segment-start record (found {type})");
            Apply(path, offset, segment, type, payload);
            offset += framed;
            if (offset == WalRecord.FramedSize(16) && isLast)
                TailSegmentDataStart = offset;
        }
        if (isLast)
            TailOffset = offset;
    }

    /// <summary>At <paramref name="offset"/> the records stop (zeros or a bad record). Zeros to the end: the normal end.
    /// A valid record further on: corruption. Only garbage: a torn tail, repaired in the last segment.</summary>
    private void EndOfData(IStorageFile file, byte[] data, long offset, WalRecord.DecodeStatus status, bool isLast)
    {
        var rest = data.AsSpan((int)offset);
        var lastNonZero = rest.LastIndexOfAnyExcept((byte)0);
        if (lastNonZero < 0)
            return;
        for (var probe = WalRecord.Alignment; probe < rest.Length; probe += WalRecord.Alignment)
        {
            if (WalRecord.TryDecode(rest[probe..], out _, out _, out _) == WalRecord.DecodeStatus.Valid)
                throw new WalCorruptException(file.Path, offset,
                    $"{Describe(status)} is followed by a valid record at byte offset {offset + probe}");
        }
        if (!isLast)
            throw new WalCorruptException(file.Path, offset, $"{Describe(status)} in a segment that is not the last");
        logger.LogWarning("WAL {File}: torn tail at byte offset {Offset} ({Length} bytes after it), zero-filling it",
            file.Path, offset, lastNonZero + 1);
        file.Write(offset, new byte[lastNonZero + 1]);
        file.Sync();
    }

    private static string Describe(WalRecord.DecodeStatus status) =>
        status == WalRecord.DecodeStatus.Bad ? "a bad record (torn, bad header or CRC mismatch)" : "a zero-filled gap";

    private void Apply(string path, long offset, WalSegmentName segment, WalRecordType type, ReadOnlySpan<byte> payload)
    {
        try
        {
            switch (type)
            {
                case WalRecordType.SegmentStart:
                    var (sequence, firstIndex) = ReadPair(path, offset, payload);
                    if (offset != 0 || sequence != segment.Sequence || firstIndex != segment.FirstIndex)
                        throw new WalCorruptException(path, offset,
                            $"segment-start record ({sequence:x16}, {firstIndex:x16}) does not match the file name");
                    break;
                case WalRecordType.Metadata:
                    var (memberId, clusterId) = ReadPair(path, offset, payload);
                    if (_haveMetadata && (memberId != MemberId || clusterId != ClusterId))
                        throw new WalCorruptException(path, offset,
                            $"metadata (member {memberId:x}, cluster {clusterId:x}) differs from earlier segments (member {MemberId:x}, cluster {ClusterId:x})");
                    (MemberId, ClusterId, _haveMetadata) = (memberId, clusterId, true);
                    break;
                case WalRecordType.HardState:
                    HardState = HardState.Parser.ParseFrom(payload);
                    break;
                case WalRecordType.SnapshotMarker:
                    var (index, term) = ReadPair(path, offset, payload);
                    ApplySnapshotMarker(index, term);
                    break;
                case WalRecordType.Entry:
                    ApplyEntry(path, offset, Entry.Parser.ParseFrom(payload));
                    break;
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new WalCorruptException(path, offset, $"{type} record has a valid CRC but does not parse: {e.Message}", e);
        }
    }

    private void ApplySnapshotMarker(ulong index, ulong term)
    {
        if (index < SnapshotIndex)
            return; // an older marker repeated in a segment header
        SnapshotIndex = index;
        SnapshotTerm = term;
        if (_entries.Count == 0)
            return;
        var first = _entries[0].Index;
        if (index >= first)
            _entries.RemoveRange(0, (int)Math.Min((ulong)_entries.Count, index - first + 1));
    }

    private void ApplyEntry(string path, long offset, Entry entry)
    {
        if (entry.Index <= SnapshotIndex)
            return;
        if (_entries.Count == 0)
        {
            _entries.Add(entry);
            return;
        }
        var first = _entries[0].Index;
        var last = _entries[^1].Index;
        if (entry.Index > last + 1)
            throw new WalCorruptException(path, offset, $"entry index {entry.Index} leaves a gap after index {last}");
        if (entry.Index < first)
            _entries.Clear();
        else if (entry.Index <= last)
            _entries.RemoveRange((int)(entry.Index - first), (int)(last - entry.Index + 1));
        _entries.Add(entry);
    }

    private static (ulong, ulong) ReadPair(string path, long offset, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 16)
            throw new WalCorruptException(path, offset, $"expected a 16-byte payload, found {payload.Length} bytes");
        return (BinaryPrimitives.ReadUInt64LittleEndian(payload), BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]));
    }
}
