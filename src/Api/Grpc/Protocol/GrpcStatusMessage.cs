using System.Text;

namespace Akka.Etcd.Api.Grpc;

/// <summary>
/// The <c>grpc-message</c> value encoding of grpc/doc/PROTOCOL-HTTP2.md: the UTF-8 bytes of the text, with every
/// byte outside printable ASCII (0x20-0x7E) and '%' itself written as "%XX" (upper-case hex). Thread-safe.
/// </summary>
public static class GrpcStatusMessage
{
    /// <summary>Percent-encodes a status message; returns the same string when nothing needs escaping.</summary>
    public static string Encode(string message)
    {
        var needsEscape = false;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%')
            {
                needsEscape = true;
                break;
            }
        }

        if (!needsEscape)
            return message;

        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E || b == (byte)'%')
                sb.Append('%').Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xF));
            else
                sb.Append((char)b);
        }

        return sb.ToString();
    }

    /// <summary>
    /// Decodes a percent-encoded status message. Malformed escapes are kept verbatim (as grpc-go does) and
    /// invalid UTF-8 becomes U+FFFD.
    /// </summary>
    public static string Decode(string encoded)
    {
        if (encoded.IndexOf('%') < 0)
            return encoded;

        var bytes = new byte[encoded.Length * 3];
        var n = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == '%' && i + 2 < encoded.Length
                && TryHex(encoded[i + 1], out var hi) && TryHex(encoded[i + 2], out var lo))
            {
                bytes[n++] = (byte)((hi << 4) | lo);
                i += 2;
            }
            else
            {
                n += Encoding.UTF8.GetBytes(encoded.AsSpan(i, 1), bytes.AsSpan(n));
            }
        }

        return Encoding.UTF8.GetString(bytes, 0, n);
    }

    private static char HexDigit(int v) => (char)(v < 10 ? '0' + v : 'A' + v - 10);

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
