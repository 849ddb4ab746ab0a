using System.Buffers.Binary;

namespace Akka.Etcd.Storage.Bbolt;

/// <summary>
/// The on-disk layout of a bbolt (go.etcd.io/bbolt 1.3, etcd 3.4's backend) file, little-endian as bbolt writes it on
/// amd64/arm64. Every page starts with a 16-byte header <c>{id u64, flags u16, count u16, overflow u32}</c>
/// (page.go); a node bigger than one page takes <c>overflow</c> more contiguous pages. Pages 0 and 1 are meta pages
/// (db.go <c>meta</c>: magic, version, page size, flags, root bucket <c>{root pgid, sequence}</c>, freelist pgid,
/// high-water pgid, txid, FNV-1a-64 checksum of the 56 bytes before it). Leaf elements are
/// <c>{flags u32, pos u32, ksize u32, vsize u32}</c> and branch elements <c>{pos u32, ksize u32, pgid u64}</c>, with
/// <c>pos</c> counted from the element itself to its key. A bucket is a leaf value (element flag
/// <see cref="BucketLeafFlag"/>) holding a 16-byte header <c>{root pgid, sequence}</c>; a root of 0 marks an inline
/// bucket, whose single leaf page follows the header inside the value.
/// </summary>
public static class BboltFormat
{
    /// <summary>Bytes of a page header (page.go <c>pageHeaderSize</c>).</summary>
    public const int PageHeaderSize = 16;

    /// <summary>Bytes of one leaf element (<c>leafPageElementSize</c>).</summary>
    public const int LeafElementSize = 16;

    /// <summary>Bytes of one branch element (<c>branchPageElementSize</c>).</summary>
    public const int BranchElementSize = 16;

    /// <summary>Bytes of a bucket header <c>{root pgid u64, sequence u64}</c> (bucket.go <c>bucketHeaderSize</c>).</summary>
    public const int BucketHeaderSize = 16;

    /// <summary>Bytes of the meta struct after the page header, checksum included.</summary>
    public const int MetaSize = 64;

    /// <summary>Offset of the checksum inside the meta struct: the checksum covers the bytes before it.</summary>
    public const int MetaChecksumOffset = 56;

    /// <summary>Page flag of a branch page.</summary>
    public const ushort BranchPageFlag = 0x01;

    /// <summary>Page flag of a leaf page.</summary>
    public const ushort LeafPageFlag = 0x02;

    /// <summary>Page flag of a meta page.</summary>
    public const ushort MetaPageFlag = 0x04;

    /// <summary>Page flag of a freelist page.</summary>
    public const ushort FreelistPageFlag = 0x10;

    /// <summary>Leaf element flag marking a nested bucket.</summary>
    public const uint BucketLeafFlag = 0x01;

    /// <summary>The marker in every meta page (db.go <c>magic</c>).</summary>
    public const uint Magic = 0xED0CDAED;

    /// <summary>The data file format version (db.go <c>version</c>).</summary>
    public const uint Version = 2;

    /// <summary>Freelist pgid of a file whose freelist is not stored (etcd on Linux opens with NoFreelistSync).</summary>
    public const ulong NoFreelist = ulong.MaxValue;

    /// <summary>bbolt's page size on Linux (<c>os.Getpagesize()</c>), the default of <see cref="BboltWriter"/>.</summary>
    public const int DefaultPageSize = 4096;

    /// <summary>Largest key bbolt accepts (<c>MaxKeySize</c>, bytes).</summary>
    public const int MaxKeySize = 32768;

    /// <summary>Largest value bbolt accepts (<c>MaxValueSize</c>, bytes).</summary>
    public const int MaxValueSize = int.MaxValue - 1;

    /// <summary>bbolt's <c>ErrInvalid</c> text: both meta pages lack the magic or the file is shorter than a page.</summary>
    public const string InvalidDatabase = "invalid database";

    /// <summary>bbolt's <c>ErrVersionMismatch</c> text.</summary>
    public const string VersionMismatch = "version mismatch";

    /// <summary>bbolt's <c>ErrChecksum</c> text.</summary>
    public const string ChecksumError = "checksum error";

    /// <summary>FNV-1a 64-bit hash, the meta checksum (<c>meta.sum64</c>).</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in data)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return hash;
    }

    /// <summary>Writes a page header into the first 16 bytes of <paramref name="page"/>.</summary>
    internal static void WritePageHeader(Span<byte> page, ulong id, ushort flags, ushort count, uint overflow)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(page, id);
        BinaryPrimitives.WriteUInt16LittleEndian(page[8..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(page[10..], count);
        BinaryPrimitives.WriteUInt32LittleEndian(page[12..], overflow);
    }

    /// <summary>The page type as bbolt's <c>page.typ()</c> names it (used in integrity errors).</summary>
    public static string PageType(ushort flags) =>
        (flags & BranchPageFlag) != 0 ? "branch"
        : (flags & LeafPageFlag) != 0 ? "leaf"
        : (flags & MetaPageFlag) != 0 ? "meta"
        : (flags & FreelistPageFlag) != 0 ? "freelist"
        : $"unknown<{flags:x2}>";
}
