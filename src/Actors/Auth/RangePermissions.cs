using Authpb;

namespace Akka.Etcd.Actors.Auth;

/// <summary>
/// One user's key permissions merged over all of the user's roles (etcd's unifiedRangePermissions, auth/range_perm_cache.go):
/// the READ and the WRITE intervals, each sorted by start. A READWRITE permission counts for both. Immutable.
/// </summary>
/// <remarks>
/// Keys compare as etcd's <c>adt.BytesAffineComparable</c>: bytewise, except that an empty key is greater than every
/// other (so a permission whose range end is <c>\0</c>, "from key", reaches to the end of the keyspace). A single-key
/// permission is the interval [key, key + <c>\0</c>).
/// </remarks>
public sealed class RangePermissions
{
    private readonly Interval[] _read;
    private readonly Interval[] _write;

    private RangePermissions(Interval[] read, Interval[] write)
    {
        _read = read;
        _write = write;
    }

    /// <summary>No permission at all.</summary>
    public static readonly RangePermissions Empty = new([], []);

    /// <summary>Merges the key permissions of <paramref name="roles"/> (missing roles are skipped, as etcd does).</summary>
    public static RangePermissions Merge(IEnumerable<Role?> roles)
    {
        var read = new List<Interval>();
        var write = new List<Interval>();
        foreach (var role in roles)
        {
            if (role is null)
            {
                continue;
            }
            foreach (var perm in role.KeyPermission)
            {
                var key = perm.Key.ToByteArray();
                var rangeEnd = perm.RangeEnd.ToByteArray();
                var interval = rangeEnd.Length == 0
                    ? Interval.Point(key)
                    : new Interval(key, rangeEnd is [0] ? [] : rangeEnd);
                switch (perm.PermType)
                {
                    case Permission.Types.Type.Readwrite:
                        read.Add(interval);
                        write.Add(interval);
                        break;
                    case Permission.Types.Type.Read:
                        read.Add(interval);
                        break;
                    case Permission.Types.Type.Write:
                        write.Add(interval);
                        break;
                }
            }
        }
        return new RangePermissions(Sorted(read), Sorted(write));
    }

    /// <summary>
    /// True when the READ (<paramref name="write"/> false) or WRITE permissions allow an operation on
    /// <paramref name="key"/> (a single key when <paramref name="rangeEnd"/> is empty) up to <paramref name="rangeEnd"/>
    /// (<c>\0</c>: to the end of the keyspace), as etcd's isRangeOpPermitted: a single key must fall in some permission;
    /// a range must be covered, without a gap, by the permissions that overlap it.
    /// </summary>
    public bool Allows(bool write, ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd)
    {
        var intervals = write ? _write : _read;
        if (rangeEnd.Length == 0)
        {
            var point = Interval.Point(key.ToArray());
            foreach (var interval in intervals)
            {
                if (interval.Overlaps(point))
                {
                    return true;
                }
            }
            return false;
        }
        var wanted = new Interval(key.ToArray(), rangeEnd is [0] ? [] : rangeEnd.ToArray());
        return Covers(intervals, wanted);
    }

    /// <summary>etcd's intervalTree.Contains over the intervals overlapping <paramref name="wanted"/>, in start order.</summary>
    private static bool Covers(Interval[] intervals, Interval wanted)
    {
        byte[]? minBegin = null;
        byte[]? maxEnd = null;
        foreach (var interval in intervals)
        {
            if (!interval.Overlaps(wanted))
            {
                continue;
            }
            if (minBegin is null)
            {
                minBegin = interval.Begin;
                maxEnd = interval.End;
                continue;
            }
            if (Interval.Compare(maxEnd!, interval.Begin) < 0)
            {
                return false;
            }
            if (Interval.Compare(interval.End, maxEnd!) > 0)
            {
                maxEnd = interval.End;
            }
        }
        return minBegin is not null && Interval.Compare(maxEnd!, wanted.End) >= 0 && Interval.Compare(minBegin, wanted.Begin) <= 0;
    }

    private static Interval[] Sorted(List<Interval> intervals)
    {
        var array = intervals.ToArray();
        // Stable, as the in-order walk of etcd's interval tree (equal starts keep their insertion order).
        var order = Enumerable.Range(0, array.Length).ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byBegin = Interval.Compare(array[a].Begin, array[b].Begin);
            return byBegin != 0 ? byBegin : a.CompareTo(b);
        });
        return order.Select(i => array[i]).ToArray();
    }

    /// <summary>[Begin, End) with etcd's affine byte order (empty = after every key).</summary>
    private readonly record struct Interval(byte[] Begin, byte[] End)
    {
        public static Interval Point(byte[] key)
        {
            var end = new byte[key.Length + 1];
            key.CopyTo(end, 0);
            return new Interval(key, end);
        }

        /// <summary>adt.Interval.Compare == 0: neither lies wholly before the other.</summary>
        public bool Overlaps(Interval other) => Compare(Begin, other.End) < 0 && Compare(End, other.Begin) > 0;

        public static int Compare(byte[] a, byte[] b)
        {
            if (a.Length == 0)
            {
                return b.Length == 0 ? 0 : 1;
            }
            if (b.Length == 0)
            {
                return -1;
            }
            return a.AsSpan().SequenceCompareTo(b);
        }
    }
}
