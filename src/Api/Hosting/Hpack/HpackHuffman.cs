namespace Akka.Etcd.Api.Hosting.Hpack;

/// <summary>
/// Decoder for the HPACK static Huffman code (RFC 7541 §5.2, code table in Appendix B / <see cref="HpackHuffmanTable"/>).
/// Walks a binary tree built once from the code table, one bit at a time: meant for the few strings this layer reads
/// (the <c>:authority</c> value and literal header names), not for bulk data. Stateless and thread-safe.
/// </summary>
internal static class HpackHuffman
{
    // Node n's children are at [2n] (bit 0) and [2n+1] (bit 1): > 0 is an inner node, < 0 is the leaf -(symbol + 1).
    // The root is node 0, which is never a child, so 0 never occurs as a child (the code is complete: Kraft sum is 1).
    private static readonly short[] Tree = BuildTree();

    /// <summary>An upper bound of the decoded length of <paramref name="encodedLength"/> octets (the shortest code is 5 bits).</summary>
    public static int MaxDecodedLength(int encodedLength) => (int)((encodedLength * 8L + 4) / 5);

    /// <summary>
    /// Decodes <paramref name="encoded"/> into <paramref name="destination"/>. False when the input is invalid per RFC 7541
    /// §5.2 (it contains EOS, or its padding is longer than 7 bits or not the most significant bits of EOS, i.e. all ones)
    /// or the destination is too short (see <see cref="MaxDecodedLength"/>).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, Span<byte> destination, out int written)
    {
        written = 0;
        var tree = Tree;
        var node = 0;
        var bitsSinceSymbol = 0;
        var paddingIsAllOnes = true;
        foreach (var octet in encoded)
        {
            for (var bit = 7; bit >= 0; bit--)
            {
                var value = (octet >> bit) & 1;
                var child = tree[(node << 1) | value];
                bitsSinceSymbol++;
                paddingIsAllOnes &= value == 1;
                if (child > 0)
                {
                    node = child;
                    continue;
                }

                if (child == 0)
                    return false;
                var symbol = -child - 1;
                if (symbol == HpackHuffmanTable.EndOfString || written >= destination.Length)
                    return false;
                destination[written++] = (byte)symbol;
                node = 0;
                bitsSinceSymbol = 0;
                paddingIsAllOnes = true;
            }
        }

        return node == 0 || (bitsSinceSymbol <= 7 && paddingIsAllOnes);
    }

    private static short[] BuildTree()
    {
        var codes = HpackHuffmanTable.Codes;
        var lengths = HpackHuffmanTable.CodeLengths;
        var tree = new short[2 * codes.Length]; // a complete code over 257 symbols has 256 inner nodes
        short nextNode = 1;
        for (var symbol = 0; symbol < codes.Length; symbol++)
        {
            var node = 0;
            for (var bit = lengths[symbol] - 1; bit >= 0; bit--)
            {
                var slot = (node << 1) | (int)((codes[symbol] >> bit) & 1);
                if (bit == 0)
                {
                    tree[slot] = (short)(-symbol - 1);
                }
                else
                {
                    if (tree[slot] == 0)
                        tree[slot] = nextNode++;
                    node = tree[slot];
                }
            }
        }

        return tree;
    }
}
