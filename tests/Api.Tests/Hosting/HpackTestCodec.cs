using System.Text;
using Akka.Etcd.Api.Hosting.Hpack;

namespace Akka.Etcd.Api.Tests.Hosting;

/// <summary>
/// A complete HPACK decoder (RFC 7541: static table, dynamic table with eviction, size updates) built on the
/// production primitives, standing in for Kestrel's decoder (or for the client's view of its own table).
/// </summary>
internal sealed class HpackTestDecoder(int maxTableSize = 4096)
{
    public static readonly (string Name, string Value)[] StaticTable =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    private readonly List<(string Name, string Value)> _dynamic = []; // newest first

    public int MaxTableSize { get; private set; } = maxTableSize;

    public int TableSize { get; private set; }

    /// <summary>The dynamic table, newest first (index 62 first).</summary>
    public IReadOnlyList<(string Name, string Value)> DynamicTable => _dynamic;

    public static int EntrySize((string Name, string Value) entry) =>
        32 + Encoding.Latin1.GetByteCount(entry.Name) + Encoding.Latin1.GetByteCount(entry.Value);

    public (string Name, string Value) Lookup(int index)
    {
        if (index >= 1 && index <= StaticTable.Length)
            return StaticTable[index - 1];
        var dynamicIndex = index - StaticTable.Length - 1;
        if (dynamicIndex < 0 || dynamicIndex >= _dynamic.Count)
            throw new InvalidDataException($"index {index} is not in the table");
        return _dynamic[dynamicIndex];
    }

    public List<(string Name, string Value)> Decode(ReadOnlySpan<byte> block)
    {
        var fields = new List<(string, string)>();
        var position = 0;
        while (position < block.Length)
        {
            var first = block[position];
            if ((first & 0x80) != 0)
            {
                Require(HpackInteger.TryRead(block, ref position, 7, out var index) && index > 0, "indexed field");
                fields.Add(Lookup(index));
                continue;
            }

            if ((first & 0xE0) == 0x20)
            {
                Require(fields.Count == 0, "size update after a field");
                Require(HpackInteger.TryRead(block, ref position, 5, out var size), "size update");
                MaxTableSize = size;
                Evict(0);
                continue;
            }

            var incremental = (first & 0xC0) == 0x40;
            Require(HpackInteger.TryRead(block, ref position, incremental ? 6 : 4, out var nameIndex), "name index");
            var name = nameIndex == 0 ? ReadString(block, ref position) : Lookup(nameIndex).Name;
            var value = ReadString(block, ref position);
            fields.Add((name, value));
            if (incremental)
                Add((name, value));
        }

        return fields;
    }

    private void Add((string Name, string Value) entry)
    {
        var size = EntrySize(entry);
        Evict(size);
        if (size > MaxTableSize)
            return; // the table is left empty, RFC 7541 §4.4
        _dynamic.Insert(0, entry);
        TableSize += size;
    }

    private void Evict(int room)
    {
        while (_dynamic.Count > 0 && TableSize + room > MaxTableSize)
        {
            TableSize -= EntrySize(_dynamic[^1]);
            _dynamic.RemoveAt(_dynamic.Count - 1);
        }
    }

    private static string ReadString(ReadOnlySpan<byte> block, ref int position)
    {
        Require(HpackString.TryRead(block, ref position, out var huffman, out var octets), "string");
        var scratch = new byte[HpackHuffman.MaxDecodedLength(octets.GetOffsetAndLength(block.Length).Length)];
        Require(HpackString.TryDecode(block[octets], huffman, scratch, out var value), "huffman");
        return Encoding.Latin1.GetString(value);
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
            throw new InvalidDataException($"invalid HPACK: {what}");
    }
}

/// <summary>Builds HPACK representations and HTTP/2 frames for tests (Huffman encoding from the production code table).</summary>
internal static class HpackBuild
{
    public const byte IncrementalIndexing = 0x40;
    public const byte WithoutIndexing = 0x00;
    public const byte NeverIndexed = 0x10;

    public static byte[] Huffman(string text)
    {
        var output = new List<byte>();
        ulong bits = 0;
        var count = 0;
        foreach (var symbol in Encoding.Latin1.GetBytes(text))
        {
            bits = (bits << HpackHuffmanTable.CodeLengths[symbol]) | HpackHuffmanTable.Codes[symbol];
            count += HpackHuffmanTable.CodeLengths[symbol];
            while (count >= 8)
            {
                output.Add((byte)(bits >> (count - 8)));
                count -= 8;
            }
        }

        if (count > 0)
            output.Add((byte)((bits << (8 - count)) | (0xFFu >> count))); // pad with EOS's leading ones
        return output.ToArray();
    }

    public static byte[] Integer(int value, int prefixBits, byte flags)
    {
        var buffer = new byte[8];
        return buffer[..HpackInteger.Write(buffer, value, prefixBits, flags)];
    }

    public static byte[] String(string text, bool huffman)
    {
        var octets = huffman ? Huffman(text) : Encoding.Latin1.GetBytes(text);
        return [.. Integer(octets.Length, 7, huffman ? HpackString.HuffmanFlag : (byte)0), .. octets];
    }

    public static byte[] Indexed(int index) => Integer(index, 7, 0x80);

    public static byte[] SizeUpdate(int size) => Integer(size, 5, 0x20);

    /// <summary>A literal field with an indexed name (kind = IncrementalIndexing, WithoutIndexing or NeverIndexed).</summary>
    public static byte[] Literal(byte kind, int nameIndex, string value, bool huffman) =>
        [.. Integer(nameIndex, kind == IncrementalIndexing ? 6 : 4, kind), .. String(value, huffman)];

    /// <summary>A literal field with a literal name.</summary>
    public static byte[] Literal(byte kind, string name, bool huffmanName, string value, bool huffman) =>
        [kind, .. String(name, huffmanName), .. String(value, huffman)];

    public static byte[] Block(params byte[][] representations) => representations.SelectMany(r => r).ToArray();

    public static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(char.IsAsciiHexDigit)));
}

/// <summary>HTTP/2 frames (RFC 7540 §4.1) for tests.</summary>
internal static class Frames
{
    public const byte Data = 0x0, Headers = 0x1, Priority = 0x2, Settings = 0x4, Ping = 0x6, WindowUpdate = 0x8, Continuation = 0x9;
    public const byte EndStream = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20;

    public static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        frame[5] = (byte)(streamId >> 24);
        frame[6] = (byte)(streamId >> 16);
        frame[7] = (byte)(streamId >> 8);
        frame[8] = (byte)streamId;
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
