using Google.Protobuf;

namespace Akka.Etcd.Actors.Watch;

/// <summary>How a <see cref="WatchRange"/> selects keys (etcd's <c>key</c>/<c>range_end</c> pair).</summary>
public enum WatchRangeKind
{
    /// <summary>Exactly one key (<c>range_end</c> empty).</summary>
    SingleKey,

    /// <summary>Every key &gt;= <c>key</c> (<c>range_end</c> = <c>"\0"</c>, etcdctl's <c>--from-key</c>).</summary>
    FromKey,

    /// <summary>The half-open interval [<c>key</c>, <c>range_end</c>) (prefix watches use <c>range_end</c> = prefix + 1).</summary>
    Range,
}

/// <summary>
/// The keys one watcher observes, normalised the way etcd 3.4's <c>v3rpc/watch.go</c> does: an empty key
/// becomes <c>"\0"</c> (the smallest key), an empty <c>range_end</c> means a single key, <c>"\0"</c> means
/// "from key", anything else is [key, range_end). Keys compare as unsigned bytes. Immutable.
/// </summary>
public sealed class WatchRange
{
    private static readonly ByteString SmallestKey = ByteString.CopyFrom(0);

    private WatchRange(ByteString key, ByteString rangeEnd, WatchRangeKind kind)
    {
        Key = key;
        RangeEnd = rangeEnd;
        Kind = kind;
    }

    /// <summary>The first key (inclusive); never empty.</summary>
    public ByteString Key { get; }

    /// <summary>The end key (exclusive) for <see cref="WatchRangeKind.Range"/>; empty otherwise.</summary>
    public ByteString RangeEnd { get; }

    /// <summary>How the range selects keys.</summary>
    public WatchRangeKind Kind { get; }

    /// <summary>A range holding exactly <paramref name="key"/> (an empty key means <c>"\0"</c>).</summary>
    public static WatchRange Single(ByteString key) =>
        new(key.IsEmpty ? SmallestKey : key, ByteString.Empty, WatchRangeKind.SingleKey);

    /// <summary>
    /// Builds the range of a <c>WatchCreateRequest</c>. Returns false when the range is empty
    /// (<c>range_end</c> set, not <c>"\0"</c>, and &lt;= key), which etcd answers with
    /// "mvcc: watcher range is empty".
    /// </summary>
    public static bool TryCreate(ByteString key, ByteString rangeEnd, out WatchRange range)
    {
        if (key.IsEmpty)
        {
            key = SmallestKey;
        }
        if (rangeEnd.IsEmpty)
        {
            range = new WatchRange(key, ByteString.Empty, WatchRangeKind.SingleKey);
            return true;
        }
        if (rangeEnd.Length == 1 && rangeEnd[0] == 0)
        {
            range = new WatchRange(key, ByteString.Empty, WatchRangeKind.FromKey);
            return true;
        }
        if (key.Span.SequenceCompareTo(rangeEnd.Span) >= 0)
        {
            range = null!;
            return false;
        }
        range = new WatchRange(key, rangeEnd, WatchRangeKind.Range);
        return true;
    }

    /// <summary>True when <paramref name="key"/> is inside the range.</summary>
    public bool Contains(ReadOnlySpan<byte> key) => Kind switch
    {
        WatchRangeKind.SingleKey => key.SequenceEqual(Key.Span),
        WatchRangeKind.FromKey => key.SequenceCompareTo(Key.Span) >= 0,
        _ => key.SequenceCompareTo(Key.Span) >= 0 && key.SequenceCompareTo(RangeEnd.Span) < 0,
    };

    /// <summary>Same kind and same bounds.</summary>
    internal bool SameBounds(WatchRange other) =>
        Kind == other.Kind && Key.Span.SequenceEqual(other.Key.Span) && RangeEnd.Span.SequenceEqual(other.RangeEnd.Span);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        WatchRangeKind.SingleKey => Key.ToStringUtf8(),
        WatchRangeKind.FromKey => $"[{Key.ToStringUtf8()}, +inf)",
        _ => $"[{Key.ToStringUtf8()}, {RangeEnd.ToStringUtf8()})",
    };
}
