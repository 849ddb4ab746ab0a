namespace Akka.Etcd.Api.Hosting.Hpack;

/// <summary>
/// HPACK integers with an N-bit prefix (RFC 7541 §5.1): values below 2^N-1 fit in the prefix; larger ones put 2^N-1 in the
/// prefix and the rest in 7-bit little-endian groups with a continuation bit. Values are limited to <see cref="int.MaxValue"/>.
/// Stateless and thread-safe.
/// </summary>
internal static class HpackInteger
{
    /// <summary>
    /// Decodes the integer whose prefix is in the low <paramref name="prefixBits"/> (1..8) bits of <c>source[position]</c>,
    /// advancing <paramref name="position"/> past it. False (position unspecified) when the source ends inside the
    /// integer or the value exceeds <see cref="int.MaxValue"/>.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, ref int position, int prefixBits, out int value)
    {
        value = 0;
        if ((uint)position >= (uint)source.Length)
            return false;

        var prefixMask = (1 << prefixBits) - 1;
        var prefix = source[position++] & prefixMask;
        if (prefix < prefixMask)
        {
            value = prefix;
            return true;
        }

        long accumulated = prefix;
        for (var shift = 0; shift <= 28; shift += 7)
        {
            if (position >= source.Length)
                return false;
            var octet = source[position++];
            accumulated += (long)(octet & 0x7f) << shift;
            if (accumulated > int.MaxValue)
                return false;
            if ((octet & 0x80) == 0)
            {
                value = (int)accumulated;
                return true;
            }
        }

        return false; // more than five continuation octets: beyond int range
    }

    /// <summary>
    /// Encodes <paramref name="value"/> (>= 0) with a <paramref name="prefixBits"/>-bit prefix; <paramref name="firstOctetFlags"/>
    /// supplies the bits above the prefix in the first octet. Returns the octets written, or 0 when
    /// <paramref name="destination"/> is too short.
    /// </summary>
    public static int Write(Span<byte> destination, int value, int prefixBits, byte firstOctetFlags)
    {
        if (destination.IsEmpty)
            return 0;

        var prefixMask = (1 << prefixBits) - 1;
        if (value < prefixMask)
        {
            destination[0] = (byte)(firstOctetFlags | value);
            return 1;
        }

        destination[0] = (byte)(firstOctetFlags | prefixMask);
        var rest = value - prefixMask;
        var written = 1;
        while (true)
        {
            if (written >= destination.Length)
                return 0;
            if (rest < 0x80)
            {
                destination[written++] = (byte)rest;
                return written;
            }

            destination[written++] = (byte)((rest & 0x7f) | 0x80);
            rest >>= 7;
        }
    }
}
