namespace Akka.Etcd.Benchmark.Running;

/// <summary>
/// Benchmark keys as etcd's tools/benchmark makes them: a zero-filled buffer of <c>--key-size</c> bytes holding the
/// key number as a Go <c>binary.PutVarint</c> (zig-zag, then 7 bits per byte, low group first). Stateless.
/// </summary>
internal static class KeyEncoding
{
    /// <summary>Bytes <see cref="Write"/> needs for <paramref name="number"/>.</summary>
    public static int VarintLength(long number)
    {
        var zigzag = (ulong)((number << 1) ^ (number >> 63));
        var length = 1;
        while (zigzag >= 0x80)
        {
            zigzag >>= 7;
            length++;
        }

        return length;
    }

    /// <summary>Clears <paramref name="key"/> and writes <paramref name="number"/> as a varint at its start.</summary>
    /// <exception cref="ArgumentException">The varint does not fit in the key.</exception>
    public static void Write(Span<byte> key, long number)
    {
        key.Clear();
        var zigzag = (ulong)((number << 1) ^ (number >> 63));
        var i = 0;
        while (zigzag >= 0x80)
        {
            key[i++] = (byte)(zigzag | 0x80);
            zigzag >>= 7;
        }

        key[i] = (byte)zigzag;
    }

    /// <summary>Fails early when the largest key number of a key space does not fit in <paramref name="keySize"/> bytes.</summary>
    /// <exception cref="ArgumentException">Key size too small.</exception>
    public static void CheckFits(int keySize, long keySpaceSize)
    {
        var needed = VarintLength(Math.Max(0, keySpaceSize - 1));
        if (needed > keySize)
            throw new ArgumentException($"--key-size {keySize} is too small for --key-space-size {keySpaceSize} (needs {needed} bytes)");
    }
}
