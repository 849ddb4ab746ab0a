using System.Buffers.Binary;
using System.Collections;
using System.IO.MemoryMappedFiles;

namespace Akka.Etcd.Storage.Bbolt;

/// <summary>A bbolt file that cannot be read: bbolt's own error text (e.g. "invalid database") or what is broken where.</summary>
public sealed class BboltFormatException : Exception
{
    /// <summary>Creates the exception with <paramref name="message"/>, printed as is (etcdctl prints bbolt's errors bare).</summary>
    public BboltFormatException(string message) : base(message)
    {
    }
}

/// <summary>Visits one element of a bucket: its key, its value (empty for a nested bucket) and whether it is a bucket.
/// The spans point into the mapped file and are valid only during the call.</summary>
public delegate void BboltVisitor(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool isBucket);

/// <summary>
/// A bbolt file opened read-only and memory-mapped (what bbolt's <c>Open(path, 0400, &amp;Options{ReadOnly: true})</c>
/// gives <c>etcdctl snapshot status</c>): the meta page is chosen as bbolt does (the valid one with the highest txid;
/// the page size comes from meta page 0 when it is valid, else 4096), buckets are walked through branch, leaf,
/// overflow and inline pages, and <see cref="Check"/> is bbolt's <c>Tx.Check</c>. Bytes after the last page (such as
/// the SHA-256 that etcd appends to a snapshot) are ignored. Every page access is bounds-checked: damage raises
/// <see cref="BboltFormatException"/> instead of reading outside the file.
/// <para>Thread-safe for concurrent reads after <see cref="Open"/>; dispose once nobody reads.</para>
/// </summary>
public sealed unsafe class BboltFile : IDisposable
{
    const int MaxDepth = 64;

    readonly MemoryMappedFile _map;
    readonly MemoryMappedViewAccessor _view;
    readonly byte* _base;
    readonly long _length;
    bool _disposed;

    BboltFile(MemoryMappedFile map, MemoryMappedViewAccessor view, long length)
    {
        _map = map;
        _view = view;
        _length = length;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
    }

    /// <summary>Page size in bytes.</summary>
    public int PageSize { get; private set; }

    /// <summary>Transaction ID of the meta page in use.</summary>
    public ulong TxId { get; private set; }

    /// <summary>The high-water pgid: pages 0 .. HighWaterPgid - 1 are in use or free.</summary>
    public ulong HighWaterPgid { get; private set; }

    /// <summary>Pgid of the freelist page, or <see cref="BboltFormat.NoFreelist"/> when the freelist is not stored.</summary>
    public ulong FreelistPgid { get; private set; }

    /// <summary>Pgid of the root bucket's root page.</summary>
    public ulong RootPgid { get; private set; }

    /// <summary>Size of the database in bytes as bbolt's <c>Tx.Size</c> reports it: high-water pgid × page size.</summary>
    public long Size => (long)HighWaterPgid * PageSize;

    /// <summary>Length of the file on disk in bytes (may exceed <see cref="Size"/>, e.g. by etcd's SHA-256 trailer).</summary>
    public long FileLength => _length;

    /// <summary>The root bucket (its elements are the top-level buckets).</summary>
    public BboltBucket Root => new(this, RootPgid, inlineOffset: -1);

    /// <summary>
    /// Opens <paramref name="path"/> read-only.
    /// </summary>
    /// <exception cref="BboltFormatException">bbolt's errors: "invalid database" (shorter than 4 KiB, or neither meta
    /// page has the magic), "version mismatch", "checksum error", "file size too small".</exception>
    /// <exception cref="IOException">The file cannot be opened (missing, permissions).</exception>
    public static BboltFile Open(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = stream.Length;
        if (length < 0x1000) throw new BboltFormatException(BboltFormat.InvalidDatabase);
        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            var file = new BboltFile(map, view, length);
            try
            {
                file.ReadMeta();
                return file;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch when (view is null)
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>
    /// bbolt's <c>Tx.Check</c>: every page below the high-water mark must be reachable exactly once from the root
    /// (leaf and branch pages of every bucket, the freelist) or be free, and no reachable page may be free. Returns
    /// bbolt's messages ("page 7: unreachable unfreed", "page 3: multiple references", ...); empty when the file is sound.
    /// When the freelist is not stored, as in etcd's files, every unreachable page counts as free (bbolt rebuilds the
    /// freelist that way).
    /// </summary>
    /// <exception cref="BboltFormatException">A page is damaged so badly that it cannot be walked.</exception>
    public IReadOnlyList<string> Check()
    {
        var errors = new List<string>();
        var highWater = HighWaterPgid;
        if (highWater > int.MaxValue) throw new BboltFormatException($"high-water pgid {highWater} is too large");
        var freed = new BitArray((int)highWater);
        var reachable = new BitArray((int)highWater);
        var outside = new HashSet<ulong>();
        if (FreelistPgid != BboltFormat.NoFreelist)
        {
            foreach (var id in ReadFreelist())
            {
                if (id < highWater)
                {
                    if (freed[(int)id]) errors.Add($"page {id}: already freed");
                    freed[(int)id] = true;
                }
            }
        }
        MarkReachable(0, reachable, outside);
        MarkReachable(1, reachable, outside);
        if (FreelistPgid != BboltFormat.NoFreelist)
        {
            var header = Header(FreelistPgid);
            for (ulong i = 0; i <= header.Overflow; i++) MarkReachable(FreelistPgid + i, reachable, outside);
        }
        if (FreelistPgid == BboltFormat.NoFreelist)
        {
            // bbolt's freepages(): everything the buckets do not reach is free.
            var scan = new BitArray((int)highWater);
            var scanOutside = new HashSet<ulong>();
            CheckBucket(RootPgid, -1, scan, scanOutside, new BitArray((int)highWater), null, 0);
            for (var i = 2; i < (int)highWater; i++)
                if (!scan[i]) freed[i] = true;
        }
        CheckBucket(RootPgid, -1, reachable, outside, freed, errors, 0);
        for (var i = 0; i < (int)highWater; i++)
            if (!reachable[i] && !freed[i]) errors.Add($"page {i}: unreachable unfreed");
        return errors;
    }

    /// <summary>The page IDs listed on the freelist page (empty when the freelist is not stored).</summary>
    /// <exception cref="BboltFormatException">The freelist page is missing or not a freelist page.</exception>
    public IReadOnlyList<ulong> ReadFreelist()
    {
        if (FreelistPgid == BboltFormat.NoFreelist) return Array.Empty<ulong>();
        var header = Header(FreelistPgid);
        if ((header.Flags & BboltFormat.FreelistPageFlag) == 0)
            throw new BboltFormatException($"invalid freelist page: {FreelistPgid}, page type is {BboltFormat.PageType(header.Flags)}");
        long offset = PageOffset(FreelistPgid) + BboltFormat.PageHeaderSize;
        long count = header.Count;
        if (count == 0xFFFF)
        {
            count = (long)ReadUInt64(offset);
            offset += 8;
        }
        var ids = new ulong[count];
        for (long i = 0; i < count; i++) ids[i] = ReadUInt64(offset + 8 * i);
        return ids;
    }

    /// <summary>Releases the mapping.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    // ----- pages -----

    internal readonly record struct PageHeader(ulong Id, ushort Flags, ushort Count, uint Overflow);

    long PageOffset(ulong pgid)
    {
        if (pgid > (ulong)(_length / PageSize)) throw new BboltFormatException($"page {pgid}: beyond the end of the file");
        return (long)pgid * PageSize;
    }

    internal PageHeader Header(ulong pgid) => HeaderAt(PageOffset(pgid));

    internal PageHeader HeaderAt(long offset)
    {
        var span = Bytes(offset, BboltFormat.PageHeaderSize);
        return new PageHeader(BinaryPrimitives.ReadUInt64LittleEndian(span), BinaryPrimitives.ReadUInt16LittleEndian(span[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(span[10..]), BinaryPrimitives.ReadUInt32LittleEndian(span[12..]));
    }

    internal ReadOnlySpan<byte> Bytes(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || length > int.MaxValue || offset + length > _length)
            throw new BboltFormatException($"read of {length} bytes at offset {offset} is outside the file ({_length} bytes)");
        return new ReadOnlySpan<byte>(_base + offset, (int)length);
    }

    ulong ReadUInt64(long offset) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(offset, 8));

    void ReadMeta()
    {
        var first = Bytes(0, 0x1000);
        PageSize = BboltFormat.DefaultPageSize;
        var error0 = Validate(first[BboltFormat.PageHeaderSize..]);
        if (error0 is null)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(first[(BboltFormat.PageHeaderSize + 8)..]);
            if (size < 1024 || size > 1 << 20 || (size & (size - 1)) != 0) throw new BboltFormatException(BboltFormat.InvalidDatabase);
            PageSize = (int)size;
        }
        if (_length < 2L * PageSize) throw new BboltFormatException("file size too small");
        var meta0 = Bytes(BboltFormat.PageHeaderSize, BboltFormat.MetaSize);
        var meta1 = Bytes(PageSize + BboltFormat.PageHeaderSize, BboltFormat.MetaSize);
        error0 = Validate(meta0);
        var error1 = Validate(meta1);
        if (error0 is not null && error1 is not null) throw new BboltFormatException(error0);
        var txid0 = BinaryPrimitives.ReadUInt64LittleEndian(meta0[48..]);
        var txid1 = BinaryPrimitives.ReadUInt64LittleEndian(meta1[48..]);
        ReadOnlySpan<byte> metaA = meta0, metaB = meta1;
        string? errorA = error0;
        if (txid1 > txid0)
        {
            metaA = meta1;
            metaB = meta0;
            errorA = error1;
        }
        var meta = errorA is null ? metaA : metaB;
        RootPgid = BinaryPrimitives.ReadUInt64LittleEndian(meta[16..]);
        FreelistPgid = BinaryPrimitives.ReadUInt64LittleEndian(meta[32..]);
        HighWaterPgid = BinaryPrimitives.ReadUInt64LittleEndian(meta[40..]);
        TxId = BinaryPrimitives.ReadUInt64LittleEndian(meta[48..]);
        if (HighWaterPgid < 2 || RootPgid >= HighWaterPgid)
            throw new BboltFormatException($"meta page: root page {RootPgid} is not below the high-water pgid {HighWaterPgid}");
    }

    static string? Validate(ReadOnlySpan<byte> meta)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(meta) != BboltFormat.Magic) return BboltFormat.InvalidDatabase;
        if (BinaryPrimitives.ReadUInt32LittleEndian(meta[4..]) != BboltFormat.Version) return BboltFormat.VersionMismatch;
        var checksum = BinaryPrimitives.ReadUInt64LittleEndian(meta[BboltFormat.MetaChecksumOffset..]);
        if (checksum != 0 && checksum != BboltFormat.Fnv1a64(meta[..BboltFormat.MetaChecksumOffset])) return BboltFormat.ChecksumError;
        return null;
    }

    static void MarkReachable(ulong id, BitArray reachable, HashSet<ulong> outside)
    {
        if (id < (ulong)reachable.Length) reachable[(int)id] = true;
        else outside.Add(id);
    }

    /// <summary>bbolt's <c>checkBucket</c>: marks the pages of the bucket rooted at <paramref name="root"/> (inline buckets
    /// have none) and of its nested buckets; <paramref name="errors"/> null only collects reachability.</summary>
    void CheckBucket(ulong root, long inlineOffset, BitArray reachable, HashSet<ulong> outside, BitArray freed, List<string>? errors, int depth)
    {
        if (depth > MaxDepth) throw new BboltFormatException("buckets nested too deep");
        if (inlineOffset < 0)
        {
            if (root == 0) return;
            CheckPages(root, reachable, outside, freed, errors, 0);
        }
        var children = new List<(ulong Root, long InlineOffset)>();
        new BboltBucket(this, root, inlineOffset).ForEachElement((_, valueOffset, valueLength, isBucket) =>
        {
            if (isBucket) children.Add(BboltBucket.ParseBucketValue(this, valueOffset, valueLength));
        });
        foreach (var (childRoot, childInline) in children)
        {
            if (childInline < 0 && childRoot == 0) continue;
            CheckBucket(childRoot, childInline, reachable, outside, freed, errors, depth + 1);
        }
    }

    void CheckPages(ulong pgid, BitArray reachable, HashSet<ulong> outside, BitArray freed, List<string>? errors, int depth)
    {
        if (depth > MaxDepth) throw new BboltFormatException($"page {pgid}: tree deeper than {MaxDepth} levels");
        var header = Header(pgid);
        if (header.Id > HighWaterPgid) errors?.Add($"page {header.Id}: out of bounds: {HighWaterPgid}");
        for (ulong i = 0; i <= header.Overflow; i++)
        {
            var id = header.Id + i;
            var seen = id < (ulong)reachable.Length ? reachable[(int)id] : !outside.Add(id);
            if (seen) errors?.Add($"page {id}: multiple references");
            if (id < (ulong)reachable.Length) reachable[(int)id] = true;
        }
        var isFreed = header.Id < (ulong)freed.Length && freed[(int)header.Id];
        if (isFreed) errors?.Add($"page {header.Id}: reachable freed");
        else if ((header.Flags & (BboltFormat.BranchPageFlag | BboltFormat.LeafPageFlag)) == 0)
            errors?.Add($"page {header.Id}: invalid type: {BboltFormat.PageType(header.Flags)}");
        if ((header.Flags & BboltFormat.BranchPageFlag) != 0)
        {
            var offset = PageOffset(pgid);
            for (var i = 0; i < header.Count; i++)
            {
                var element = Bytes(offset + BboltFormat.PageHeaderSize + (long)i * BboltFormat.BranchElementSize, BboltFormat.BranchElementSize);
                CheckPages(BinaryPrimitives.ReadUInt64LittleEndian(element[8..]), reachable, outside, freed, errors, depth + 1);
            }
        }
    }
}

/// <summary>
/// A bucket of a <see cref="BboltFile"/>: a root page (or an inline page inside the parent's value). Cheap to copy;
/// valid while its file is open.
/// </summary>
public readonly struct BboltBucket
{
    /// <summary>Visits an element with its value's location in the file.</summary>
    internal delegate void ElementVisitor(ReadOnlySpan<byte> key, long valueOffset, int valueLength, bool isBucket);

    readonly BboltFile _file;
    readonly ulong _root;
    readonly long _inlineOffset;

    internal BboltBucket(BboltFile file, ulong root, long inlineOffset)
    {
        _file = file;
        _root = root;
        _inlineOffset = inlineOffset;
    }

    /// <summary>True when the bucket's leaf is stored inline in its parent.</summary>
    public bool IsInline => _inlineOffset >= 0;

    /// <summary>Pgid of the bucket's root page (0 for an inline bucket).</summary>
    public ulong RootPgid => _root;

    /// <summary>Visits every element in key order (bbolt's <c>Bucket.ForEach</c>; a nested bucket has an empty value).</summary>
    /// <exception cref="BboltFormatException">A page of the bucket is damaged.</exception>
    public void ForEach(BboltVisitor visit)
    {
        var file = _file;
        ForEachElement((key, valueOffset, valueLength, isBucket) =>
            visit(key, isBucket ? ReadOnlySpan<byte>.Empty : file.Bytes(valueOffset, valueLength), isBucket));
    }

    /// <summary>The nested bucket <paramref name="name"/>, or null when there is none (or it is a plain key).</summary>
    /// <exception cref="BboltFormatException">A page of the bucket is damaged.</exception>
    public BboltBucket? Bucket(ReadOnlySpan<byte> name)
    {
        var found = Find(name);
        if (found is not { IsBucket: true } element) return null;
        var (root, inline) = ParseBucketValue(_file, element.ValueOffset, element.ValueLength);
        return new BboltBucket(_file, root, inline);
    }

    /// <summary>The value of <paramref name="key"/> as a copy, or null when absent or a nested bucket.</summary>
    /// <exception cref="BboltFormatException">A page of the bucket is damaged.</exception>
    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        var found = Find(key);
        return found is { IsBucket: false } element ? _file.Bytes(element.ValueOffset, element.ValueLength).ToArray() : null;
    }

    /// <summary>Number of elements (keys and nested buckets).</summary>
    public long Count()
    {
        long count = 0;
        ForEachElement((_, _, _, _) => count++);
        return count;
    }

    internal void ForEachElement(ElementVisitor visit)
    {
        if (_inlineOffset >= 0) VisitPage(_inlineOffset, visit, 0);
        else VisitPage((long)_root * _file.PageSize, visit, 0);
    }

    /// <summary>Splits a bucket value into its root pgid and, when inline, the offset of its page.</summary>
    internal static (ulong Root, long InlineOffset) ParseBucketValue(BboltFile file, long valueOffset, int valueLength)
    {
        if (valueLength < BboltFormat.BucketHeaderSize)
            throw new BboltFormatException($"bucket value of {valueLength} bytes is shorter than a bucket header");
        var root = BinaryPrimitives.ReadUInt64LittleEndian(file.Bytes(valueOffset, 8));
        if (root != 0) return (root, -1);
        if (valueLength < BboltFormat.BucketHeaderSize + BboltFormat.PageHeaderSize)
            throw new BboltFormatException("inline bucket value is shorter than a page header");
        return (0, valueOffset + BboltFormat.BucketHeaderSize);
    }

    void VisitPage(long offset, ElementVisitor visit, int depth)
    {
        if (depth > 64) throw new BboltFormatException("bucket tree deeper than 64 levels");
        var header = _file.HeaderAt(offset);
        if ((header.Flags & BboltFormat.LeafPageFlag) != 0)
        {
            for (var i = 0; i < header.Count; i++)
            {
                var at = offset + BboltFormat.PageHeaderSize + (long)i * BboltFormat.LeafElementSize;
                var element = _file.Bytes(at, BboltFormat.LeafElementSize);
                var flags = BinaryPrimitives.ReadUInt32LittleEndian(element);
                var pos = BinaryPrimitives.ReadUInt32LittleEndian(element[4..]);
                var keySize = BinaryPrimitives.ReadUInt32LittleEndian(element[8..]);
                var valueSize = BinaryPrimitives.ReadUInt32LittleEndian(element[12..]);
                var key = _file.Bytes(at + pos, keySize);
                _file.Bytes(at + pos + keySize, valueSize);
                visit(key, at + pos + keySize, (int)valueSize, (flags & BboltFormat.BucketLeafFlag) != 0);
            }
        }
        else if ((header.Flags & BboltFormat.BranchPageFlag) != 0)
        {
            for (var i = 0; i < header.Count; i++)
            {
                var element = _file.Bytes(offset + BboltFormat.PageHeaderSize + (long)i * BboltFormat.BranchElementSize, BboltFormat.BranchElementSize);
                var child = BinaryPrimitives.ReadUInt64LittleEndian(element[8..]);
                if (child >= _file.HighWaterPgid) throw new BboltFormatException($"page {child}: above the high-water pgid {_file.HighWaterPgid}");
                VisitPage((long)child * _file.PageSize, visit, depth + 1);
            }
        }
        else
        {
            throw new BboltFormatException($"page {header.Id}: invalid page type: {BboltFormat.PageType(header.Flags)}");
        }
    }

    readonly record struct FoundElement(long ValueOffset, int ValueLength, bool IsBucket);

    FoundElement? Find(ReadOnlySpan<byte> key)
    {
        var offset = _inlineOffset >= 0 ? _inlineOffset : (long)_root * _file.PageSize;
        for (var depth = 0; depth <= 64; depth++)
        {
            var header = _file.HeaderAt(offset);
            if ((header.Flags & BboltFormat.LeafPageFlag) != 0)
            {
                for (var i = 0; i < header.Count; i++)
                {
                    var at = offset + BboltFormat.PageHeaderSize + (long)i * BboltFormat.LeafElementSize;
                    var element = _file.Bytes(at, BboltFormat.LeafElementSize);
                    var pos = BinaryPrimitives.ReadUInt32LittleEndian(element[4..]);
                    var keySize = BinaryPrimitives.ReadUInt32LittleEndian(element[8..]);
                    var valueSize = BinaryPrimitives.ReadUInt32LittleEndian(element[12..]);
                    if (_file.Bytes(at + pos, keySize).SequenceEqual(key))
                    {
                        var flags = BinaryPrimitives.ReadUInt32LittleEndian(element);
                        _file.Bytes(at + pos + keySize, valueSize);
                        return new FoundElement(at + pos + keySize, (int)valueSize, (flags & BboltFormat.BucketLeafFlag) != 0);
                    }
                }
                return null;
            }
            if ((header.Flags & BboltFormat.BranchPageFlag) == 0)
                throw new BboltFormatException($"page {header.Id}: invalid page type: {BboltFormat.PageType(header.Flags)}");
            if (header.Count == 0) return null;
            // The last child whose first key is <= key (bbolt's cursor search on a branch).
            ulong child = 0;
            for (var i = 0; i < header.Count; i++)
            {
                var at = offset + BboltFormat.PageHeaderSize + (long)i * BboltFormat.BranchElementSize;
                var element = _file.Bytes(at, BboltFormat.BranchElementSize);
                var pos = BinaryPrimitives.ReadUInt32LittleEndian(element);
                var keySize = BinaryPrimitives.ReadUInt32LittleEndian(element[4..]);
                if (i > 0 && _file.Bytes(at + pos, keySize).SequenceCompareTo(key) > 0) break;
                child = BinaryPrimitives.ReadUInt64LittleEndian(element[8..]);
            }
            if (child >= _file.HighWaterPgid) throw new BboltFormatException($"page {child}: above the high-water pgid {_file.HighWaterPgid}");
            offset = (long)child * _file.PageSize;
        }
        throw new BboltFormatException("bucket tree deeper than 64 levels");
    }
}
