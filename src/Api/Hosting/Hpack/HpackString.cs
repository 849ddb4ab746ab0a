namespace Akka.Etcd.Api.Hosting.Hpack;

/// <summary>
/// HPACK string literals (RFC 7541 §5.2): one octet with the H (Huffman) flag in its high bit and the octet length as a
/// 7-bit-prefix integer, then that many octets, raw or Huffman-coded. Stateless and thread-safe.
/// </summary>
internal static class HpackString
{
    /// <summary>The H flag: the string's octets are Huffman-coded.</summary>
    public const byte HuffmanFlag = 0x80;

    /// <summary>
    /// Reads the string literal at <paramref name="position"/> without decoding it: <paramref name="huffman"/> is its H flag
    /// and <paramref name="octets"/> the range of its (possibly Huffman-coded) octets in <paramref name="source"/>.
    /// Advances <paramref name="position"/> past the string. False when the source ends inside it.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, ref int position, out bool huffman, out Range octets)
    {
        huffman = false;
        octets = default;
        if ((uint)position >= (uint)source.Length)
            return false;

        huffman = (source[position] & HuffmanFlag) != 0;
        if (!HpackInteger.TryRead(source, ref position, 7, out var length) || length > source.Length - position)
            return false;

        octets = new Range(position, position + length);
        position += length;
        return true;
    }

    /// <summary>
    /// The string's value: <paramref name="octets"/> itself when not Huffman-coded, else its decoding written to
    /// <paramref name="scratch"/> (at least <see cref="HpackHuffman.MaxDecodedLength"/> octets). False for invalid Huffman data
    /// or a short scratch buffer.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> octets, bool huffman, Span<byte> scratch, out ReadOnlySpan<byte> value)
    {
        if (!huffman)
        {
            value = octets;
            return true;
        }

        if (!HpackHuffman.TryDecode(octets, scratch, out var written))
        {
            value = default;
            return false;
        }

        value = scratch[..written];
        return true;
    }

    /// <summary>Writes <paramref name="value"/> as a plain (H = 0) string literal; returns the octets written, 0 if it does not fit.</summary>
    public static int WritePlain(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        var lengthOctets = HpackInteger.Write(destination, value.Length, 7, 0);
        if (lengthOctets == 0 || destination.Length - lengthOctets < value.Length)
            return 0;
        value.CopyTo(destination[lengthOctets..]);
        return lengthOctets + value.Length;
    }
}
