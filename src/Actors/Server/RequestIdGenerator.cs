namespace Akka.Etcd.Actors.Server;

/// <summary>
/// Generates proposal IDs unique across members and restarts, as etcd's <c>idutil.Generator</c>: the top
/// 16 bits are the low 16 bits of the member ID, the low 48 bits start at (unix ms &lt;&lt; 8) truncated to
/// 48 bits and count up. Thread-safe and lock-free.
/// </summary>
public sealed class RequestIdGenerator
{
    private const int SuffixBits = 48;
    private const ulong SuffixMask = (1UL << SuffixBits) - 1;
    private readonly ulong _prefix;
    private long _suffix;

    /// <summary>Creates a generator for the member <paramref name="memberId"/>, seeded from the wall clock.</summary>
    public RequestIdGenerator(ulong memberId)
    {
        _prefix = (memberId & 0xFFFF) << SuffixBits;
        _suffix = (long)(((ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 8) & SuffixMask);
    }

    /// <summary>
    /// Creates a generator for the member <paramref name="memberId"/> whose first ID has the low 48 bits
    /// <paramref name="firstSuffix"/> + 1 (truncated to 48 bits): the deterministic simulation starts every run from the
    /// same IDs. Production uses the wall-clock constructor, which keeps IDs unique across restarts.
    /// </summary>
    public RequestIdGenerator(ulong memberId, ulong firstSuffix)
    {
        _prefix = (memberId & 0xFFFF) << SuffixBits;
        _suffix = (long)(firstSuffix & SuffixMask);
    }

    /// <summary>Returns the next ID.</summary>
    public ulong Next()
    {
        var suffix = (ulong)Interlocked.Increment(ref _suffix) & SuffixMask;
        return _prefix | suffix;
    }
}
