using System.Buffers;

namespace Akka.Etcd.Api.Hosting.Hpack;

/// <summary>What <see cref="AuthorityHeaderBlockRewriter.Rewrite"/> did with a header block.</summary>
internal enum HeaderBlockRewrite
{
    /// <summary>Nothing to rewrite (or the rewrite was not safe or did not fit): pass the block on as it is.</summary>
    Unchanged,

    /// <summary>At least one <c>:authority</c> value lost its scheme; the new block is in the destination.</summary>
    Rewritten,

    /// <summary>The block is not valid HPACK; pass it (and the rest of the connection) on untouched, the server will refuse it.</summary>
    Unparsable,
}

/// <summary>
/// Rewrites HPACK header blocks (RFC 7541) of one HTTP/2 connection's client-to-server direction so that a literal
/// <c>:authority</c> carrying a URL, as grpc-go sends for clientv3 3.4's raw endpoints
/// (<c>:authority: http://127.0.0.1:2379</c>), carries only its authority part (<c>127.0.0.1:2379</c>): Kestrel validates
/// <c>:authority</c> as a Host value and resets such streams with PROTOCOL_ERROR, where Go's server (etcd) accepts them.
/// <para>
/// Every representation of RFC 7541 §6 is walked; a literal field whose name is static index 1 or the literal
/// <c>:authority</c> and whose value (plain or Huffman-coded) starts with <c>scheme://</c> is re-encoded with the same
/// representation kind (incremental indexing, without indexing, never indexed) and name encoding, and a plain (H = 0)
/// value running from after <c>://</c> to the first <c>/</c> (a URL's authority). All other octets are copied unchanged.
/// </para>
/// <para>
/// Dynamic table invariant (why rewriting a field that is added to the dynamic table is safe): the new value is always
/// shorter than the original, so each entry the server's decoder adds (32 + name + value octets, RFC 7541 §4.1) is
/// never larger than the client encoder's entry for the same field, while table size updates pass unchanged (same
/// maximum on both sides). Both sides evict oldest first (§4.4), so the server never has to evict an entry the client
/// still holds: the client's table, newest first, is always a prefix of the server's (which may keep entries the client
/// has evicted, or one the client could not fit at all and dropped with everything else), and since indices count from
/// the newest entry (§2.3.3) every index the client sends names the same field on both sides. Never lengthen a value here.
/// </para>
/// Stateless and thread-safe.
/// </summary>
internal static class AuthorityHeaderBlockRewriter
{
    private const int AuthorityStaticIndex = 1; // RFC 7541 Appendix A
    private const int StackScratchLength = 256;

    private static ReadOnlySpan<byte> AuthorityName => ":authority"u8;

    private static ReadOnlySpan<byte> SchemeSeparator => "://"u8;

    /// <summary>
    /// Walks one complete header block (the concatenated fragments of a HEADERS frame and its CONTINUATION frames) without
    /// writing anything: <see cref="HeaderBlockRewrite.Rewritten"/> when <see cref="Rewrite"/> would rewrite it (given room),
    /// <see cref="HeaderBlockRewrite.Unchanged"/> when there is nothing to rewrite, <see cref="HeaderBlockRewrite.Unparsable"/>
    /// for invalid HPACK. Cheap enough for every block: strings are skipped, only a <c>:authority</c> value is decoded.
    /// </summary>
    public static HeaderBlockRewrite Scan(ReadOnlySpan<byte> block) => Walk(block, [], scanOnly: true, out _);

    /// <summary>
    /// Walks one complete header block and, when a <c>:authority</c> value needs it, writes the rewritten block to
    /// <paramref name="destination"/> (<paramref name="written"/> octets). A rewritten block that would not fit
    /// <paramref name="destination"/> yields <see cref="HeaderBlockRewrite.Unchanged"/>.
    /// </summary>
    public static HeaderBlockRewrite Rewrite(ReadOnlySpan<byte> block, Span<byte> destination, out int written) =>
        Walk(block, destination, scanOnly: false, out written);

    /// <summary>
    /// For a value <c>scheme://authority[/...]</c> (scheme per RFC 3986 §3.1: a letter, then letters, digits, '+', '-', '.'),
    /// the range of its non-empty authority part; false for anything else (a plain <c>host:port</c> included).
    /// </summary>
    internal static bool TryGetAuthorityOfUrl(ReadOnlySpan<byte> value, out Range authority)
    {
        authority = default;
        var separator = value.IndexOf(SchemeSeparator);
        if (separator <= 0 || !char.IsAsciiLetter((char)value[0]))
            return false;
        foreach (var octet in value[1..separator])
        {
            if (!char.IsAsciiLetterOrDigit((char)octet) && octet is not ((byte)'+' or (byte)'-' or (byte)'.'))
                return false;
        }

        var start = separator + SchemeSeparator.Length;
        var length = value[start..].IndexOf((byte)'/');
        if (length < 0)
            length = value.Length - start;
        if (length == 0)
            return false;
        authority = new Range(start, start + length);
        return true;
    }

    private static HeaderBlockRewrite Walk(ReadOnlySpan<byte> block, Span<byte> destination, bool scanOnly, out int written)
    {
        written = 0;
        var fieldSeen = false;
        var rewritten = false;
        var fits = true;
        var copiedUpTo = 0; // once rewriting: block octets before this are in destination already
        var position = 0;
        while (position < block.Length)
        {
            var representation = block[position];
            if ((representation & 0x80) != 0) // indexed header field, §6.1
            {
                if (!HpackInteger.TryRead(block, ref position, 7, out var index) || index == 0)
                    return HeaderBlockRewrite.Unparsable;
                fieldSeen = true;
                continue;
            }

            if ((representation & 0xE0) == 0x20) // dynamic table size update, §6.3: only before the first field
            {
                if (fieldSeen || !HpackInteger.TryRead(block, ref position, 5, out _))
                    return HeaderBlockRewrite.Unparsable;
                continue;
            }

            // Literal header field, §6.2: 01 = incremental indexing (6-bit name index), 0000 = without indexing,
            // 0001 = never indexed (4-bit name index); name index 0 means a literal name follows.
            var incrementalIndexing = (representation & 0xC0) == 0x40;
            if (!HpackInteger.TryRead(block, ref position, incrementalIndexing ? 6 : 4, out var nameIndex))
                return HeaderBlockRewrite.Unparsable;
            var isAuthority = nameIndex == AuthorityStaticIndex;
            if (nameIndex == 0)
            {
                if (!HpackString.TryRead(block, ref position, out var nameHuffman, out var nameOctets) ||
                    !TryIsAuthorityName(block[nameOctets], nameHuffman, out isAuthority))
                    return HeaderBlockRewrite.Unparsable;
            }

            var valueStart = position;
            if (!HpackString.TryRead(block, ref position, out var valueHuffman, out var valueOctets))
                return HeaderBlockRewrite.Unparsable;
            fieldSeen = true;
            if (!isAuthority)
                continue;

            var outcome = RewriteAuthorityValue(block[valueOctets], valueHuffman, scanOnly || !fits ? [] : destination[written..],
                block[copiedUpTo..valueStart], out var appended);
            if (outcome != HeaderBlockRewrite.Rewritten)
            {
                if (outcome == HeaderBlockRewrite.Unparsable)
                    return outcome;
                continue;
            }

            if (scanOnly)
                return HeaderBlockRewrite.Rewritten;
            rewritten = true;
            fits &= appended > 0;
            written += appended;
            copiedUpTo = position;
        }

        if (rewritten && fits && TryAppend(destination, ref written, block[copiedUpTo..]))
            return HeaderBlockRewrite.Rewritten;
        written = 0;
        return HeaderBlockRewrite.Unchanged;
    }

    /// <summary>
    /// Decodes a <c>:authority</c> value: <see cref="HeaderBlockRewrite.Unchanged"/> when it is not a URL, else
    /// <see cref="HeaderBlockRewrite.Rewritten"/> with <paramref name="preceding"/> (the block octets since the last rewrite,
    /// up to this field's value) and the authority as a plain string appended to <paramref name="destination"/>
    /// (<paramref name="appended"/> octets, 0 when they do not fit).
    /// </summary>
    private static HeaderBlockRewrite RewriteAuthorityValue(ReadOnlySpan<byte> encoded, bool huffman, Span<byte> destination,
        ReadOnlySpan<byte> preceding, out int appended)
    {
        appended = 0;
        byte[]? rented = null;
        try
        {
            Span<byte> scratch = stackalloc byte[StackScratchLength];
            var decodedLength = huffman ? HpackHuffman.MaxDecodedLength(encoded.Length) : 0;
            if (decodedLength > scratch.Length)
                scratch = rented = ArrayPool<byte>.Shared.Rent(decodedLength);
            if (!HpackString.TryDecode(encoded, huffman, scratch, out var value))
                return HeaderBlockRewrite.Unparsable;
            if (!TryGetAuthorityOfUrl(value, out var authority))
                return HeaderBlockRewrite.Unchanged;

            var written = 0;
            if (TryAppend(destination, ref written, preceding) && TryAppendPlainString(destination, ref written, value[authority]))
                appended = written;
            return HeaderBlockRewrite.Rewritten;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryIsAuthorityName(ReadOnlySpan<byte> octets, bool huffman, out bool isAuthority)
    {
        isAuthority = false;
        if (!huffman)
        {
            isAuthority = octets.SequenceEqual(AuthorityName);
            return true;
        }

        // A Huffman-coded name longer than this cannot decode to ten octets; validity is the server's business then.
        if (octets.Length > AuthorityName.Length)
            return true;
        Span<byte> scratch = stackalloc byte[HpackHuffman.MaxDecodedLength(AuthorityName.Length)];
        if (!HpackHuffman.TryDecode(octets, scratch, out var length))
            return false;
        isAuthority = scratch[..length].SequenceEqual(AuthorityName);
        return true;
    }

    private static bool TryAppend(Span<byte> destination, ref int written, ReadOnlySpan<byte> octets)
    {
        if (!octets.TryCopyTo(destination[written..]))
            return false;
        written += octets.Length;
        return true;
    }

    private static bool TryAppendPlainString(Span<byte> destination, ref int written, ReadOnlySpan<byte> value)
    {
        var length = HpackString.WritePlain(destination[written..], value);
        written += length;
        return length > 0;
    }
}
