using System.Buffers;
using System.Buffers.Binary;

namespace Akka.Etcd.Storage.Bbolt;

/// <summary>
/// Writes a complete bbolt file in one pass from key-ordered input, the way bbolt's <c>Tx.WriteTo</c> output looks to
/// any bbolt reader (etcd, <c>etcdctl snapshot status/restore</c>, <c>bbolt check</c>): meta pages 0 and 1 (txid T and
/// T-1, FNV-1a checksums), the buckets' leaf and branch pages (nodes bigger than a page use overflow pages), small
/// buckets without sub-buckets inline in their parent's leaf (bbolt's rule: at most a quarter page), an empty
/// freelist page, and no unreachable page, so bbolt's <c>Tx.Check</c> finds nothing.
/// <para>Usage: <see cref="Create"/>, then <see cref="Root"/>.<see cref="BboltBucketWriter.CreateBucket"/> and
/// <see cref="BboltBucketWriter.Put"/> with strictly increasing keys per bucket (unsigned byte order), then
/// <see cref="Complete"/>. Pages are written as they fill (the output is written sequentially except the two meta
/// pages, written last), so memory stays at a few pages per open bucket level whatever the file size.</para>
/// <para>Not thread-safe. The writer does not own the stream.</para>
/// </summary>
public sealed class BboltWriter
{
    readonly Stream _output;
    ulong _nextPgid = 2;
    bool _completed;

    BboltWriter(Stream output, int pageSize)
    {
        _output = output;
        PageSize = pageSize;
        Root = new BboltBucketWriter(this, isRoot: true);
        _output.Position = 2L * pageSize;
    }

    /// <summary>
    /// Starts a file on <paramref name="output"/>, which must be writable and seekable; the file begins at offset 0 and
    /// the stream is truncated to the file's length by <see cref="Complete"/>.
    /// </summary>
    /// <param name="output">The destination, e.g. a FileStream.</param>
    /// <param name="pageSize">Page size in bytes: a power of two from 4096 to 65536 (bbolt reads the first 4 KiB to
    /// find it); default 4096, Linux's page size and what etcd writes there.</param>
    /// <exception cref="ArgumentException">The stream cannot seek or write, or the page size is not allowed.</exception>
    public static BboltWriter Create(Stream output, int pageSize = BboltFormat.DefaultPageSize)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanSeek || !output.CanWrite) throw new ArgumentException("a bbolt file needs a writable, seekable stream", nameof(output));
        if (pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) != 0)
            throw new ArgumentException($"page size {pageSize} is not a power of two between 4096 and 65536", nameof(pageSize));
        return new BboltWriter(output, pageSize);
    }

    /// <summary>Page size in bytes.</summary>
    public int PageSize { get; }

    /// <summary>The root bucket: its keys are the top-level bucket names.</summary>
    public BboltBucketWriter Root { get; }

    /// <summary>Pages allocated so far, meta pages included (the high-water pgid).</summary>
    public ulong PageCount => _nextPgid;

    /// <summary>
    /// Finishes every open bucket, writes the freelist page and both meta pages, flushes, and returns the file length
    /// in bytes (high-water pgid × page size; what bbolt's <c>Tx.Size</c> reports).
    /// </summary>
    /// <param name="txid">Transaction ID of meta page 0 (meta page 1 gets <paramref name="txid"/> - 1, as
    /// <c>Tx.WriteTo</c> does); at least 1.</param>
    /// <exception cref="InvalidOperationException">Already completed.</exception>
    public long Complete(ulong txid = 2)
    {
        if (_completed) throw new InvalidOperationException("the bbolt file is already complete");
        ArgumentOutOfRangeException.ThrowIfZero(txid);
        var root = Root.FinishRoot();
        var freelist = _nextPgid;
        var page = new byte[PageSize];
        BboltFormat.WritePageHeader(page, freelist, BboltFormat.FreelistPageFlag, 0, 0);
        WritePages(freelist, page);
        _nextPgid++;
        var length = (long)_nextPgid * PageSize;

        _output.Position = 0;
        WriteMeta(page, 0, txid, root, freelist);
        WriteMeta(page, 1, txid - 1, root, freelist);
        _output.SetLength(length);
        _output.Flush();
        _completed = true;
        return length;
    }

    /// <summary>Writes <paramref name="node"/> on newly allocated pages and returns its first pgid.</summary>
    internal ulong WriteNode(BboltNode node)
    {
        if (_completed) throw new InvalidOperationException("the bbolt file is already complete");
        var size = node.Size;
        var pages = (size + PageSize - 1) / PageSize;
        var pgid = _nextPgid;
        var bytes = pages * PageSize;
        var buffer = ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            var span = buffer.AsSpan(0, bytes);
            span.Clear();
            node.Write(span, pgid, (uint)(pages - 1));
            WritePages(pgid, span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _nextPgid += (ulong)pages;
        return pgid;
    }

    void WritePages(ulong pgid, ReadOnlySpan<byte> pages)
    {
        var offset = (long)pgid * PageSize;
        if (_output.Position != offset) _output.Position = offset;
        _output.Write(pages);
    }

    void WriteMeta(byte[] page, ulong id, ulong txid, ulong root, ulong freelist)
    {
        Array.Clear(page);
        BboltFormat.WritePageHeader(page, id, BboltFormat.MetaPageFlag, 0, 0);
        var meta = page.AsSpan(BboltFormat.PageHeaderSize, BboltFormat.MetaSize);
        BinaryPrimitives.WriteUInt32LittleEndian(meta, BboltFormat.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(meta[4..], BboltFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(meta[8..], (uint)PageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(meta[12..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(meta[16..], root);
        BinaryPrimitives.WriteUInt64LittleEndian(meta[24..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(meta[32..], freelist);
        BinaryPrimitives.WriteUInt64LittleEndian(meta[40..], _nextPgid);
        BinaryPrimitives.WriteUInt64LittleEndian(meta[48..], txid);
        BinaryPrimitives.WriteUInt64LittleEndian(meta[56..], BboltFormat.Fnv1a64(meta[..BboltFormat.MetaChecksumOffset]));
        WritePages(id, page);
    }
}

/// <summary>
/// Fills one bucket of a <see cref="BboltWriter"/>: keys strictly increasing in unsigned byte order, nested buckets
/// created in key order among the keys. A bucket's tree is built bottom-up as keys arrive: a leaf page is written as
/// soon as the next element would not fit in a page (a single element bigger than a page gets a node of its own with
/// overflow pages), and each written page adds an element to the branch level above. Not thread-safe.
/// </summary>
public sealed class BboltBucketWriter
{
    readonly BboltWriter _file;
    readonly bool _isRoot;
    readonly List<BboltNode> _levels = new() { new BboltNode(isLeaf: true) };
    readonly List<int> _pagesWritten = new() { 0 };
    byte[]? _lastKey;
    BboltBucketWriter? _openChild;
    byte[]? _openChildName;
    bool _finished;

    internal BboltBucketWriter(BboltWriter file, bool isRoot)
    {
        _file = file;
        _isRoot = isRoot;
    }

    /// <summary>The bucket's sequence number (bbolt's <c>NextSequence</c> state); 0 unless set.</summary>
    public ulong Sequence { get; set; }

    /// <summary>Number of keys and nested buckets added so far.</summary>
    public long Count { get; private set; }

    /// <summary>
    /// Adds a key/value pair. An open nested bucket (from <see cref="CreateBucket"/>) is finished first.
    /// </summary>
    /// <param name="key">1 to 32768 bytes, greater than every key added before.</param>
    /// <param name="value">Up to 2^31 - 2 bytes; may be empty.</param>
    /// <exception cref="ArgumentException">The key is empty, too long or not in order, or the value is too long.</exception>
    /// <exception cref="InvalidOperationException">The bucket is already finished, or it is the root bucket, which holds
    /// only buckets (bbolt's API has no put on the root either).</exception>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (_isRoot) throw new InvalidOperationException("the root bucket holds only buckets");
        if (value.Length > BboltFormat.MaxValueSize) throw new ArgumentException("bbolt: value too large", nameof(value));
        PrepareKey(key);
        AddLeaf(0, key, value);
    }

    /// <summary>
    /// Starts a nested bucket named <paramref name="name"/> (same ordering rules as a key) and returns its writer; it is
    /// finished when this bucket gets its next key or bucket, or is itself finished.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty, too long or not in order.</exception>
    /// <exception cref="InvalidOperationException">The bucket is already finished.</exception>
    public BboltBucketWriter CreateBucket(ReadOnlySpan<byte> name)
    {
        PrepareKey(name);
        _openChild = new BboltBucketWriter(_file, isRoot: false);
        _openChildName = name.ToArray();
        return _openChild;
    }

    /// <summary>Finishes the bucket and returns its value in the parent: the header, plus the leaf page when inline.</summary>
    internal byte[] Finish()
    {
        var (root, inline) = FinishTree(allowInline: true);
        var value = new byte[BboltFormat.BucketHeaderSize + (inline?.Size ?? 0)];
        BinaryPrimitives.WriteUInt64LittleEndian(value, root);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(8), Sequence);
        inline?.Write(value.AsSpan(BboltFormat.BucketHeaderSize), 0, 0);
        return value;
    }

    /// <summary>Finishes the root bucket (never inline) and returns its root pgid.</summary>
    internal ulong FinishRoot() => FinishTree(allowInline: false).Root;

    void PrepareKey(ReadOnlySpan<byte> key)
    {
        if (_finished) throw new InvalidOperationException("the bucket is already finished");
        if (key.IsEmpty) throw new ArgumentException("bbolt: key required", nameof(key));
        if (key.Length > BboltFormat.MaxKeySize) throw new ArgumentException("bbolt: key too large", nameof(key));
        if (_lastKey is not null && key.SequenceCompareTo(_lastKey) <= 0)
            throw new ArgumentException(
                $"bbolt keys must be added in increasing order: {Convert.ToHexString(key)} after {Convert.ToHexString(_lastKey)}", nameof(key));
        CloseChild();
        _lastKey = key.ToArray();
        Count++;
    }

    void CloseChild()
    {
        if (_openChild is null) return;
        var child = _openChild;
        var name = _openChildName!;
        _openChild = null;
        _openChildName = null;
        AddLeaf(BboltFormat.BucketLeafFlag, name, child.Finish());
    }

    void AddLeaf(uint flags, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        MakeRoom(0, BboltFormat.LeafElementSize + key.Length + value.Length);
        _levels[0].AddLeaf(flags, key, value);
    }

    void AddBranch(int level, ReadOnlySpan<byte> key, ulong pgid)
    {
        if (_levels.Count == level)
        {
            _levels.Add(new BboltNode(isLeaf: false));
            _pagesWritten.Add(0);
        }
        MakeRoom(level, BboltFormat.BranchElementSize + key.Length);
        _levels[level].AddBranch(key, pgid);
    }

    /// <summary>Writes the pending node of <paramref name="level"/> when an element of <paramref name="elementSize"/>
    /// bytes would push it past a page (or past bbolt's 65,534-element count).</summary>
    void MakeRoom(int level, int elementSize)
    {
        var node = _levels[level];
        if (node.Count > 0 && ((long)node.Size + elementSize > _file.PageSize || node.Count >= 0xFFFE)) Flush(level);
    }

    void Flush(int level)
    {
        var node = _levels[level];
        var firstKey = node.FirstKey();
        var pgid = _file.WriteNode(node);
        _pagesWritten[level]++;
        node.Clear();
        AddBranch(level + 1, firstKey, pgid);
    }

    (ulong Root, BboltNode? Inline) FinishTree(bool allowInline)
    {
        if (_finished) throw new InvalidOperationException("the bucket is already finished");
        CloseChild();
        _finished = true;
        for (var level = 0; ; level++)
        {
            var node = _levels[level];
            if (_pagesWritten[level] == 0)
            {
                // The only node of the top level is the root.
                if (allowInline && level == 0 && !node.HasBucketElement && node.Size <= _file.PageSize / 4)
                    return (0, node);
                return (_file.WriteNode(node), null);
            }
            // A level that has written a page always holds the element that did not fit: flush it upwards.
            Flush(level);
        }
    }
}
