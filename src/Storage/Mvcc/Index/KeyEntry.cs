namespace Akka.Etcd.Storage.Mvcc.Index;

/// <summary>
/// One key of the <see cref="KeyIndex"/> (etcd's keyIndex, mvcc/key_index.go) in a compact form: the revisions of all its
/// generations flattened in ascending order, each tombstone ending a generation. The newest revision is held inline, so a
/// key with one revision (the usual case after compaction) costs one object (~72 bytes) plus its key array.
/// Only the newest generation's create revision and version are kept: older ones are read from the backend rows, which store
/// create_revision and version with each version of the key.
/// </summary>
internal sealed class KeyEntry
{
    /// <summary>The key bytes (never mutated; shared with responses).</summary>
    public readonly byte[] Key;

    IndexedRevision[]? _older;
    int _olderCount;
    IndexedRevision _newest;
    bool _hasRevision;

    /// <summary>Creates an entry with no revisions yet.</summary>
    public KeyEntry(byte[] key) => Key = key;

    /// <summary>Main revision that created the current generation; 0 when the key is deleted (newest revision is a tombstone).</summary>
    public long CreatedMain { get; private set; }

    /// <summary>Puts in the current generation (etcd's version); 0 when the key is deleted.</summary>
    public long Version { get; private set; }

    /// <summary>True when the newest revision is a put (the key exists at the current revision).</summary>
    public bool IsLive => _hasRevision && !_newest.Tombstone;

    /// <summary>The newest revision (valid when <see cref="RevisionCount"/> &gt; 0).</summary>
    public IndexedRevision Newest => _newest;

    /// <summary>Number of revisions held.</summary>
    public int RevisionCount => _hasRevision ? _olderCount + 1 : 0;

    /// <summary>The i-th revision in ascending order (0 = oldest).</summary>
    public IndexedRevision RevisionAt(int i) => i == _olderCount ? _newest : _older![i];

    /// <summary>Records a put at (main, sub) whose row carries <paramref name="createdMain"/> and <paramref name="version"/>.</summary>
    public void AddPut(long main, int sub, long createdMain, long version)
    {
        Append(new IndexedRevision(main, sub, tombstone: false));
        CreatedMain = createdMain;
        Version = version;
    }

    /// <summary>Records a delete at (main, sub): ends the current generation.</summary>
    public void AddTombstone(long main, int sub)
    {
        Append(new IndexedRevision(main, sub, tombstone: true));
        CreatedMain = 0;
        Version = 0;
    }

    /// <summary>
    /// The newest revision with Main &lt;= <paramref name="atRevision"/> if it is a put (the key is visible at that revision).
    /// </summary>
    public bool TryGetVisible(long atRevision, out IndexedRevision revision)
    {
        var i = IndexOfNewestAtOrBelow(atRevision);
        if (i < 0)
        {
            revision = default;
            return false;
        }
        revision = RevisionAt(i);
        return !revision.Tombstone;
    }

    /// <summary>True when (main, sub) is one of the held revisions.</summary>
    public bool Contains(long main, int sub)
    {
        var i = IndexOfNewestAtOrBelow(main);
        for (; i >= 0; i--)
        {
            var r = RevisionAt(i);
            if (r.Main != main) return false;
            if (r.Sub == sub) return true;
        }
        return false;
    }

    /// <summary>
    /// Compacts at <paramref name="atRevision"/> like etcd's keyIndex.compact: drops every revision superseded at or before it,
    /// keeps the newest revision &lt;= it when that is a put, drops it too when it is a tombstone.
    /// Returns true when no revision is left (the key should leave the index).
    /// </summary>
    public bool Compact(long atRevision)
    {
        var i = IndexOfNewestAtOrBelow(atRevision);
        if (i < 0) return false;
        var drop = RevisionAt(i).Tombstone ? i + 1 : i;
        if (drop == 0) return false;
        var count = RevisionCount;
        if (drop == count)
        {
            _older = null;
            _olderCount = 0;
            _hasRevision = false;
            _newest = default;
            return true;
        }
        // keep [drop, count): the newest stays inline; the rest shift down.
        var keepOlder = _olderCount - drop;
        if (keepOlder == 0)
        {
            _older = null;
        }
        else
        {
            var shrunk = new IndexedRevision[keepOlder];
            Array.Copy(_older!, drop, shrunk, 0, keepOlder);
            _older = shrunk;
        }
        _olderCount = keepOlder;
        return false;
    }

    int IndexOfNewestAtOrBelow(long atRevision)
    {
        if (!_hasRevision) return -1;
        if (_newest.Main <= atRevision) return _olderCount;
        // binary search in the older revisions for the last Main <= atRevision
        int lo = 0, hi = _olderCount - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_older![mid].Main <= atRevision)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    void Append(IndexedRevision revision)
    {
        if (_hasRevision)
        {
            if (_older is null || _olderCount == _older.Length)
                Array.Resize(ref _older, _older is null ? 1 : _older.Length * 2);
            _older[_olderCount++] = _newest;
        }
        _newest = revision;
        _hasRevision = true;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var parts = new string[RevisionCount];
        for (var i = 0; i < parts.Length; i++) parts[i] = RevisionAt(i).ToString();
        return $"{Convert.ToHexString(Key)}: [{string.Join(", ", parts)}]";
    }
}
