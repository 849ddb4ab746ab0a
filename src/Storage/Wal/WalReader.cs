using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Akka.Etcd.Storage.FileSystem;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Storage.Wal;

/// <summary>
/// Reads every segment of a WAL directory in order for <see cref="WriteAheadLog.Open"/>, checking the segment
/// sequence, each record's CRC and framing, and repairing a torn tail of the last segment by zero-filling it.
/// Single use, single thread.
/// <para>Every record's CRC and framing is checked, but an entry is parsed into an <see cref="Entry"/> only when it
/// survives to the end (its index is after the last snapshot marker and no later entry replaced it): while reading, only
/// each entry's index and location are kept. With 5 full segments and a snapshot every 100,000 entries this parses about
/// one entry in five and keeps no garbage <see cref="Entry"/> objects around (start-up time, issue 6).
/// One segment-sized buffer is reused for every segment.</para>
/// <para>Journal sequence numbers: every HardState, Entry and SnapshotMarker record after a segment's header is one
/// event, numbered one after the other. A segment header written since the WAL became an Akka.Persistence journal
/// ends with an <see cref="WalRecordType.EventSequence"/> record giving the number of its first event; a segment
/// without one (written before) continues the count of the segment before it, or starts at 1. The header's copies of
/// the snapshot marker and HardState are not events; they stand in for the latest ones when the segments that held
/// those were released, numbered just below the segment's first event.</para>
/// </summary>
internal sealed class WalReader(IStorageFileSystem fs, string dir, ILogger logger)
{
    /// <summary>Where an entry record's payload lies: segment ordinal in <see cref="Segments"/>, byte offset and
    /// length, and its journal sequence number.</summary>
    private readonly record struct EntryLocation(ulong Index, int Segment, int PayloadOffset, int PayloadLength, long SequenceNr);

    private readonly List<EntryLocation> _entries = new();
    private List<Entry>? _parsed;
    private long[]? _parsedSequenceNrs;
    private byte[] _buffer = [];
    private bool _haveMetadata;
    private long _nextSequenceNr = 1;

    public List<WalSegmentName> Segments { get; } = new();

    /// <summary>Sequence number of the first event of each segment in <see cref="Segments"/> (the next one when it has none).</summary>
    public List<long> SegmentFirstSequenceNrs { get; } = new();

    /// <summary>The sequence number the next event gets (one past the last event read, or set by a record).</summary>
    public long NextSequenceNr => _nextSequenceNr;

    /// <summary>Events up to this sequence number were deleted (0 = none).</summary>
    public long DeletedToSequenceNr { get; private set; }

    /// <summary>Sequence number of the event that set <see cref="HardState"/> (0 when none).</summary>
    public long HardStateSequenceNr { get; private set; }

    /// <summary>Sequence number of the event that set the snapshot marker (0 when none).</summary>
    public long SnapshotSequenceNr { get; private set; }

    /// <summary>The sequence number of each entry of <see cref="Entries"/> (after <see cref="ReadAll"/>).</summary>
    public IReadOnlyList<long> EntrySequenceNrs => _parsedSequenceNrs ?? throw new InvalidOperationException("ReadAll has not run");
    public ulong MemberId { get; private set; }
    public ulong ClusterId { get; private set; }
    public HardState? HardState { get; private set; }
    public ulong SnapshotIndex { get; private set; }
    public ulong SnapshotTerm { get; private set; }
    /// <summary>The entries after the last snapshot marker, in index order (after <see cref="ReadAll"/>).</summary>
    public IReadOnlyList<Entry> Entries => _parsed ?? throw new InvalidOperationException("ReadAll has not run");

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
            // A segment's first index may be below the one before it: a new leader's overwrite of an uncommitted
            // suffix can start below the first index of the segment that was cut just before it.
        }
        for (var i = 0; i < Segments.Count; i++)
            ReadSegment(i, isLast: i == Segments.Count - 1);
        _parsed = ParseSurvivingEntries();
    }

    /// <summary>Reads a whole segment file into the shared buffer; returns the span of its bytes.</summary>
    private Span<byte> LoadSegment(int ordinal, out string path)
    {
        path = Path.Combine(dir, Segments[ordinal].FileName);
        using var file = fs.OpenFile(path);
        var length = checked((int)file.Length);
        if (_buffer.Length < length)
            _buffer = new byte[length];
        var data = _buffer.AsSpan(0, length);
        var read = file.Read(0, data);
        if (read != length)
            throw new IOException($"short read of {path}: {read} of {length} bytes");
        return data;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadSegment(int ordinal, bool isLast)
    {
        var segment = Segments[ordinal];
        var data = LoadSegment(ordinal, out var path);
        long offset = 0;
        var record = 0;
        var headerHardState = false;
        var firstNumbered = false;
        HardState? headerCopy = null;
        SnapshotMarker? headerMarker = null;
        while (true)
        {
            var status = WalRecord.TryDecode(data[(int)offset..], out var type, out var payload, out var framed);
            if (status != WalRecord.DecodeStatus.Valid && offset == 0)
                throw new WalCorruptException(path, 0, "segment has no valid segment-start record");
            if (status != WalRecord.DecodeStatus.Valid)
            {
                EndOfData(path, data, offset, status, isLast);
                break;
            }
            if (offset == 0 && type != WalRecordType.SegmentStart)
                throw new WalCorruptException(path, 0, $"segment does not begin with a segment-start record (found {type})");
            // The header: segment start, metadata, snapshot marker, the HardState copy of a segment after the first,
            // and (since sequence numbers) an EventSequence record that ends it.
            var inHeader = record <= 2
                || (record == 3 && (type == WalRecordType.EventSequence || (type == WalRecordType.HardState && segment.Sequence > 0)))
                || (record == 4 && headerHardState && type == WalRecordType.EventSequence);
            headerHardState = record == 3 && inHeader && type == WalRecordType.HardState;
            if (!inHeader && !firstNumbered)
            {
                StartNumbering(headerCopy, headerMarker);
                firstNumbered = true;
            }
            if (type == WalRecordType.Entry)
            {
                var payloadOffset = (int)offset + WalRecord.HeaderSize;
                ApplyEntry(path, offset, new EntryLocation(PeekEntryIndex(path, offset, payload), ordinal, payloadOffset, payload.Length, _nextSequenceNr++));
            }
            else if (inHeader && type == WalRecordType.HardState)
            {
                headerCopy = ParseHardState(path, offset, payload);
            }
            else if (inHeader && type == WalRecordType.SnapshotMarker)
            {
                var (index, term) = ReadPair(path, offset, payload);
                headerMarker = new SnapshotMarker(index, term);
            }
            else
            {
                Apply(path, offset, segment, type, payload);
            }
            record++;
            offset += framed;
            if (offset == WalRecord.FramedSize(16) && isLast)
                TailSegmentDataStart = offset;
        }
        if (!firstNumbered)
            StartNumbering(headerCopy, headerMarker);
        if (isLast)
            TailOffset = offset;
    }

    /// <summary>
    /// At the first event of a segment (or its end when it has none): records the segment's first sequence number and
    /// lets the header's copies stand in for a HardState or snapshot marker whose own records were released, numbered
    /// just below the segment's first event.
    /// </summary>
    private void StartNumbering(HardState? headerCopy, SnapshotMarker? headerMarker)
    {
        SegmentFirstSequenceNrs.Add(_nextSequenceNr);
        if (headerCopy is not null && HardStateSequenceNr == 0)
        {
            HardState = headerCopy;
            HardStateSequenceNr = Math.Max(0, _nextSequenceNr - 1);
        }
        if (headerMarker is { Index: > 0 } marker
            && (marker.Index > SnapshotIndex || (marker.Index == SnapshotIndex && SnapshotSequenceNr == 0)))
        {
            ApplySnapshotMarker(marker.Index, marker.Term);
            SnapshotSequenceNr = Math.Max(0, _nextSequenceNr - 1);
        }
    }

    private static HardState ParseHardState(string path, long offset, ReadOnlySpan<byte> payload)
    {
        try
        {
            return HardState.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new WalCorruptException(path, offset, $"{WalRecordType.HardState} record has a valid CRC but does not parse: {e.Message}", e);
        }
    }

    /// <summary>At <paramref name="offset"/> the records stop (zeros or a bad record). Zeros to the end: the normal end.
    /// A valid record further on: corruption. Only garbage: a torn tail, repaired in the last segment.</summary>
    private void EndOfData(string path, ReadOnlySpan<byte> data, long offset, WalRecord.DecodeStatus status, bool isLast)
    {
        var rest = data[(int)offset..];
        var lastNonZero = rest.LastIndexOfAnyExcept((byte)0);
        if (lastNonZero < 0)
            return;
        for (var probe = WalRecord.Alignment; probe < rest.Length; probe += WalRecord.Alignment)
        {
            if (WalRecord.TryDecode(rest[probe..], out _, out _, out _) == WalRecord.DecodeStatus.Valid)
                throw new WalCorruptException(path, offset,
                    $"{Describe(status)} is followed by a valid record at byte offset {offset + probe}");
        }
        if (!isLast)
            throw new WalCorruptException(path, offset, $"{Describe(status)} in a segment that is not the last");
        logger.LogWarning("WAL {File}: torn tail at byte offset {Offset} ({Length} bytes after it), zero-filling it",
            path, offset, lastNonZero + 1);
        using var file = fs.OpenFile(path);
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
                    HardStateSequenceNr = _nextSequenceNr++;
                    break;
                case WalRecordType.SnapshotMarker:
                    var (index, term) = ReadPair(path, offset, payload);
                    if (index >= SnapshotIndex)
                        SnapshotSequenceNr = _nextSequenceNr;
                    _nextSequenceNr++;
                    ApplySnapshotMarker(index, term);
                    break;
                case WalRecordType.EventSequence:
                    // Authoritative when it moves the count forward. Counting the segments written before sequence numbers
                    // existed can only come out lower (once older segments are released), never higher.
                    var (next, _) = ReadPair(path, offset, payload);
                    if (next > long.MaxValue / 2)
                        throw new WalCorruptException(path, offset, $"sequence number {next} is out of range");
                    _nextSequenceNr = Math.Max(_nextSequenceNr, (long)next);
                    break;
                case WalRecordType.DeletedTo:
                    var (deletedTo, _) = ReadPair(path, offset, payload);
                    DeletedToSequenceNr = Math.Max(DeletedToSequenceNr, (long)deletedTo);
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

    private void ApplyEntry(string path, long offset, EntryLocation entry)
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

    /// <summary>
    /// The Index field (3, varint) of an encoded raftpb.Entry without parsing the rest (Data is skipped by its length);
    /// as protobuf, the last occurrence wins and a missing field is 0.
    /// </summary>
    /// <exception cref="WalCorruptException">The payload is not a well-formed protobuf message.</exception>
    private static ulong PeekEntryIndex(string path, long offset, ReadOnlySpan<byte> payload)
    {
        ulong index = 0;
        var at = 0;
        while (at < payload.Length)
        {
            var tag = ReadVarint(path, offset, payload, ref at);
            var length = (tag & 7) switch
            {
                0 => 0UL,
                1 => 8UL,
                2 => ReadVarint(path, offset, payload, ref at),
                5 => 4UL,
                _ => throw NotParsed(path, offset, $"wire type {tag & 7}"),
            };
            if (tag >> 3 == 0)
                throw NotParsed(path, offset, "field number 0");
            if ((tag & 7) == 0)
            {
                var value = ReadVarint(path, offset, payload, ref at);
                if (tag >> 3 == 3)
                    index = value;
                continue;
            }
            if (length > (ulong)(payload.Length - at))
                throw NotParsed(path, offset, "a field runs past the end of the record");
            at += (int)length;
        }
        return index;
    }

    private static ulong ReadVarint(string path, long offset, ReadOnlySpan<byte> payload, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= payload.Length)
                throw NotParsed(path, offset, "a truncated varint");
            var b = payload[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
        throw NotParsed(path, offset, "a varint longer than 10 bytes");
    }

    private static WalCorruptException NotParsed(string path, long offset, string why) =>
        new(path, offset, $"{WalRecordType.Entry} record has a valid CRC but does not parse: {why}");

    /// <summary>Parses the surviving entries from their segments (the last one is still in the buffer).</summary>
    private List<Entry> ParseSurvivingEntries()
    {
        var entries = new List<Entry>(_entries.Count);
        _parsedSequenceNrs = new long[_entries.Count];
        var loaded = Segments.Count - 1;
        var path = Segments.Count > 0 ? Path.Combine(dir, Segments[loaded].FileName) : "";
        foreach (var location in _entries)
        {
            if (location.Segment != loaded)
            {
                // An older segment: read it again (the OS cache holds it: it was read a moment ago).
                LoadSegment(location.Segment, out path);
                loaded = location.Segment;
            }
            var offset = (long)location.PayloadOffset - WalRecord.HeaderSize;
            Entry entry;
            try
            {
                entry = Entry.Parser.ParseFrom(_buffer.AsSpan(location.PayloadOffset, location.PayloadLength));
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new WalCorruptException(path, offset, $"{WalRecordType.Entry} record has a valid CRC but does not parse: {e.Message}", e);
            }
            if (entry.Index != location.Index)
                throw new WalCorruptException(path, offset, $"entry index changed between reads ({location.Index}, then {entry.Index})");
            _parsedSequenceNrs[entries.Count] = location.SequenceNr;
            entries.Add(entry);
        }
        _entries.Clear();
        _buffer = [];
        return entries;
    }

    private static (ulong, ulong) ReadPair(string path, long offset, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 16)
            throw new WalCorruptException(path, offset, $"expected a 16-byte payload, found {payload.Length} bytes");
        return (BinaryPrimitives.ReadUInt64LittleEndian(payload), BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]));
    }
}
