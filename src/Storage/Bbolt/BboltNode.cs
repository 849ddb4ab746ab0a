using System.Buffers.Binary;

namespace Akka.Etcd.Storage.Bbolt;

/// <summary>
/// One B+tree node being filled before it is written as a page (bbolt's in-memory <c>node</c>): elements in key order
/// and their key (and, in a leaf, value) bytes back to back, which is exactly the data area of the page. Not
/// thread-safe; owned by one <see cref="BboltBucketWriter"/>.
/// </summary>
internal sealed class BboltNode
{
    readonly List<Element> _elements = new();
    byte[] _data = new byte[256];
    int _dataLength;

    /// <summary>Creates an empty leaf (<paramref name="isLeaf"/>) or branch node.</summary>
    public BboltNode(bool isLeaf) => IsLeaf = isLeaf;

    /// <summary>True for a leaf (key/value elements), false for a branch (key/child pgid elements).</summary>
    public bool IsLeaf { get; }

    /// <summary>Number of elements.</summary>
    public int Count => _elements.Count;

    /// <summary>Bytes the node takes when written: page header, elements and data (bbolt's <c>node.size()</c>).</summary>
    public int Size => BboltFormat.PageHeaderSize + _elements.Count * BboltFormat.LeafElementSize + _dataLength;

    /// <summary>True when some element is a nested bucket (such a bucket is never written inline).</summary>
    public bool HasBucketElement { get; private set; }

    /// <summary>The first element's key (a copy), which the parent branch stores for this node.</summary>
    public byte[] FirstKey() => _data.AsSpan(0, _elements[0].KeyLength).ToArray();

    /// <summary>Appends a leaf element; the caller keeps keys in order.</summary>
    public void AddLeaf(uint flags, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        EnsureCapacity(key.Length + value.Length);
        key.CopyTo(_data.AsSpan(_dataLength));
        value.CopyTo(_data.AsSpan(_dataLength + key.Length));
        _dataLength += key.Length + value.Length;
        _elements.Add(new Element(flags, key.Length, value.Length, 0));
        if ((flags & BboltFormat.BucketLeafFlag) != 0) HasBucketElement = true;
    }

    /// <summary>Appends a branch element pointing at <paramref name="pgid"/>; the caller keeps keys in order.</summary>
    public void AddBranch(ReadOnlySpan<byte> key, ulong pgid)
    {
        EnsureCapacity(key.Length);
        key.CopyTo(_data.AsSpan(_dataLength));
        _dataLength += key.Length;
        _elements.Add(new Element(0, key.Length, 0, pgid));
    }

    /// <summary>Empties the node for reuse.</summary>
    public void Clear()
    {
        _elements.Clear();
        _dataLength = 0;
        HasBucketElement = false;
    }

    /// <summary>
    /// Writes the node as a page into <paramref name="destination"/> (at least <see cref="Size"/> bytes, zeroed by the
    /// caller) with header id <paramref name="id"/> and <paramref name="overflow"/> extra pages (bbolt's <c>node.write</c>).
    /// </summary>
    public void Write(Span<byte> destination, ulong id, uint overflow)
    {
        BboltFormat.WritePageHeader(destination, id, IsLeaf ? BboltFormat.LeafPageFlag : BboltFormat.BranchPageFlag,
            checked((ushort)_elements.Count), overflow);
        var dataStart = BboltFormat.PageHeaderSize + _elements.Count * BboltFormat.LeafElementSize;
        var offset = dataStart;
        for (var i = 0; i < _elements.Count; i++)
        {
            var element = _elements[i];
            var at = BboltFormat.PageHeaderSize + i * BboltFormat.LeafElementSize;
            var slot = destination.Slice(at, BboltFormat.LeafElementSize);
            var pos = (uint)(offset - at);
            if (IsLeaf)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(slot, element.Flags);
                BinaryPrimitives.WriteUInt32LittleEndian(slot[4..], pos);
                BinaryPrimitives.WriteUInt32LittleEndian(slot[8..], (uint)element.KeyLength);
                BinaryPrimitives.WriteUInt32LittleEndian(slot[12..], (uint)element.ValueLength);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(slot, pos);
                BinaryPrimitives.WriteUInt32LittleEndian(slot[4..], (uint)element.KeyLength);
                BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], element.Pgid);
            }
            offset += element.KeyLength + element.ValueLength;
        }
        _data.AsSpan(0, _dataLength).CopyTo(destination[dataStart..]);
    }

    void EnsureCapacity(int more)
    {
        var needed = (long)_dataLength + more;
        if (needed <= _data.Length) return;
        var size = Math.Max(needed, Math.Min(Array.MaxLength, (long)_data.Length * 2));
        Array.Resize(ref _data, checked((int)size));
    }

    readonly record struct Element(uint Flags, int KeyLength, int ValueLength, ulong Pgid);
}
