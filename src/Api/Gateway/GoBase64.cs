namespace Akka.Etcd.Api.Gateway;

/// <summary>
/// Where Go's <c>base64.StdEncoding.Decode</c> (what etcd's gateway decodes JSON bytes fields with) stops on bad
/// input, so the gateway answers "illegal base64 data at input byte N" with Go's N: the standard alphabet only, '='
/// padding required, CR and LF skipped, and Go's rules for where a short quantum or bad padding is reported.
/// </summary>
public static class GoBase64
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>The byte offset Go reports for <paramref name="text"/> (its UTF-8 bytes), or null when Go decodes it.</summary>
    public static int? ErrorOffset(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var src = System.Text.Encoding.UTF8.GetBytes(text);
        var si = 0;
        while (si < src.Length)
        {
            // One quantum of up to four symbols, as Go's decodeQuantum.
            for (var j = 0; j < 4; j++)
            {
                if (si == src.Length)
                {
                    if (j == 0)
                        return null;
                    return si - j;
                }
                var input = src[si++];
                if (Alphabet.IndexOf((char)input) >= 0 && input < 128)
                    continue;
                if (input is (byte)'\n' or (byte)'\r')
                {
                    j--;
                    continue;
                }
                if (input != (byte)'=')
                    return si - 1;
                switch (j)
                {
                    case 0:
                    case 1:
                        return si - 1;
                    case 2:
                        while (si < src.Length && src[si] is (byte)'\n' or (byte)'\r')
                            si++;
                        if (si == src.Length)
                            return src.Length;
                        if (src[si] != (byte)'=')
                            return si - 1;
                        si++;
                        break;
                }
                while (si < src.Length && src[si] is (byte)'\n' or (byte)'\r')
                    si++;
                return si < src.Length ? si : null;
            }
        }
        return null;
    }
}
