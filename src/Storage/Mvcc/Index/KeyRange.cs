using Google.Protobuf;

namespace Akka.Etcd.Storage.Mvcc.Index;

/// <summary>
/// A request's (key, range_end) as etcd reads it: empty range_end = the single key; range_end "\0" = every key &gt;= key
/// (etcd's mkGteRange); otherwise the half-open interval [key, range_end).
/// </summary>
internal readonly struct KeyRange
{
    /// <summary>The start key (or the single key).</summary>
    public readonly byte[] Key;

    /// <summary>The exclusive end; null for no upper bound (only meaningful when not <see cref="IsSingleKey"/>).</summary>
    public readonly byte[]? End;

    /// <summary>True when the range is the single key <see cref="Key"/>.</summary>
    public readonly bool IsSingleKey;

    KeyRange(byte[] key, byte[]? end, bool single)
    {
        Key = key;
        End = end;
        IsSingleKey = single;
    }

    /// <summary>Interprets a request's key and range_end.</summary>
    public static KeyRange From(ByteString key, ByteString rangeEnd) => From(key.ToByteArray(), rangeEnd.Length == 0 ? null : rangeEnd.Span);

    /// <summary>Interprets key and range end (null or empty = single key, "\0" = from key).</summary>
    public static KeyRange From(byte[] key, ReadOnlySpan<byte> rangeEnd)
    {
        if (rangeEnd.Length == 0) return new KeyRange(key, null, single: true);
        if (rangeEnd.Length == 1 && rangeEnd[0] == 0) return new KeyRange(key, null, single: false);
        return new KeyRange(key, rangeEnd.ToArray(), single: false);
    }

    /// <summary>True when <paramref name="key"/> falls inside the range.</summary>
    public bool Contains(ReadOnlySpan<byte> key)
    {
        if (IsSingleKey) return key.SequenceEqual(Key);
        if (KeyIndex.CompareKeys(key, Key) < 0) return false;
        return End is null || KeyIndex.CompareKeys(key, End) < 0;
    }
}
