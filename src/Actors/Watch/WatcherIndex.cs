using Google.Protobuf;

namespace Akka.Etcd.Actors.Watch;

/// <summary>
/// Finds the watchers of one stream that observe a key (etcd's <c>watcherGroup</c>): single-key watchers
/// in a dictionary by exact key, range and from-key watchers grouped by identical bounds in a list sorted
/// by start key (scanned only up to the first start key above the looked-up key). Lookups allocate nothing.
/// Not thread-safe: used on the owning actor's loop only.
/// </summary>
internal sealed class WatcherIndex
{
    private readonly Dictionary<ByteString, List<Watcher>> _byKey = new();
    private readonly List<RangeGroup> _ranges = new();

    public int Count { get; private set; }

    public void Add(Watcher watcher)
    {
        Count++;
        if (watcher.Range.Kind == WatchRangeKind.SingleKey)
        {
            if (!_byKey.TryGetValue(watcher.Range.Key, out var list))
            {
                list = new List<Watcher>(1);
                _byKey.Add(watcher.Range.Key, list);
            }
            list.Add(watcher);
            return;
        }
        var at = FindGroup(watcher.Range, out var found);
        if (found)
        {
            _ranges[at].Watchers.Add(watcher);
            return;
        }
        _ranges.Insert(at, new RangeGroup(watcher.Range, new List<Watcher>(1) { watcher }));
    }

    public bool Remove(Watcher watcher)
    {
        if (watcher.Range.Kind == WatchRangeKind.SingleKey)
        {
            if (!_byKey.TryGetValue(watcher.Range.Key, out var list) || !list.Remove(watcher))
            {
                return false;
            }
            if (list.Count == 0)
            {
                _byKey.Remove(watcher.Range.Key);
            }
            Count--;
            return true;
        }
        var at = FindGroup(watcher.Range, out var found);
        if (!found || !_ranges[at].Watchers.Remove(watcher))
        {
            return false;
        }
        if (_ranges[at].Watchers.Count == 0)
        {
            _ranges.RemoveAt(at);
        }
        Count--;
        return true;
    }

    /// <summary>Appends every watcher observing <paramref name="key"/> to <paramref name="into"/>.</summary>
    public void CollectMatches(ByteString key, List<Watcher> into)
    {
        if (_byKey.Count > 0 && _byKey.TryGetValue(key, out var exact))
        {
            into.AddRange(exact);
        }
        var span = key.Span;
        foreach (var group in _ranges)
        {
            if (group.Range.Key.Span.SequenceCompareTo(span) > 0)
            {
                break;
            }
            if (group.Range.Contains(span))
            {
                into.AddRange(group.Watchers);
            }
        }
    }

    /// <summary>Binary search by start key, then a short scan among groups with the same start key.</summary>
    private int FindGroup(WatchRange range, out bool found)
    {
        int lo = 0, hi = _ranges.Count;
        var key = range.Key.Span;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_ranges[mid].Range.Key.Span.SequenceCompareTo(key) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        for (var i = lo; i < _ranges.Count && _ranges[i].Range.Key.Span.SequenceEqual(key); i++)
        {
            if (_ranges[i].Range.SameBounds(range))
            {
                found = true;
                return i;
            }
        }
        found = false;
        return lo;
    }

    private sealed record RangeGroup(WatchRange Range, List<Watcher> Watchers);
}
