using System.Buffers.Binary;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Mvcc.Hashing;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Mvccpb;

namespace Akka.Etcd.Storage.Mvcc;

public sealed partial class MvccStore
{
    static readonly byte[] KeyBucketName = "key"u8.ToArray();

    /// <summary>
    /// Compacts at <paramref name="revision"/>, as the raft entry at <paramref name="index"/> (etcd's store.Compact): every
    /// version superseded at or before the revision is dropped; a live key keeps its newest version &lt;= revision; a key
    /// deleted at or before it disappears. The physical deletion from SQLite runs in this call, in batches of
    /// <see cref="MvccStoreOptions.CompactionBatchLimit"/> rows, committing when the batch is full; a crash in between is
    /// finished on the next <see cref="Open"/> (scheduled vs finished compact revision). Creates no revision. The index
    /// is recorded as <see cref="ConsistentIndex"/> even when the compaction is refused.
    /// </summary>
    /// <exception cref="EtcdException"><c>EtcdErrors.Compacted</c> when revision &lt;= compact revision;
    /// <c>EtcdErrors.FutureRev</c> when revision &gt; current.</exception>
    /// <exception cref="InvalidOperationException">The store is faulted.</exception>
    public void Compact(long revision, ulong index)
    {
        ThrowIfFaulted();
        _lastEvents = [];
        _backend.ConsistentIndex = index;
        if (revision <= _compactRevision) throw EtcdErrors.Compacted;
        if (revision > _currentRevision) throw EtcdErrors.FutureRev;
        try
        {
            CompactCore(revision);
            _backend.CommitIfBatchFull();
        }
        catch
        {
            Fault();
            throw;
        }
    }

    void CompactCore(long revision)
    {
        _compactRevision = revision;
        _backend.WriteMeta(MetaScheduledCompact, revision);
        _index.Compact(revision);

        // delete every row <= revision the index no longer holds
        long afterMain = 0, deleted = 0;
        var afterSub = -1;
        var batch = _options.CompactionBatchLimit;
        while (true)
        {
            var rows = _backend.ScanRevisions(afterMain, afterSub, revision, batch);
            foreach (var row in rows)
            {
                var entry = _index.Find(row.Key);
                if (entry is not null && entry.Contains(row.Main, row.Sub)) continue;
                _backend.DeleteRevision(row.Main, row.Sub);
                deleted++;
            }
            if (rows.Count < batch) break;
            afterMain = rows[^1].Main;
            afterSub = rows[^1].Sub;
            _backend.CommitIfBatchFull();
        }
        _backend.WriteMeta(MetaFinishedCompact, revision);
        _logger.LogInformation("finished compaction at revision {Revision}: {Deleted} versions deleted", revision, deleted);
    }

    /// <summary>
    /// etcd's HashKV (store.HashByRev): CRC-32C over "key" and every stored row (revision bytes main|'_'|sub[|'t'], then
    /// the marshaled KeyValue) with main revision &lt;= <paramref name="revision"/> (0 = current), skipping rows at or below
    /// the compact revision that a compaction at <paramref name="revision"/> would drop; equal on members with equal history.
    /// </summary>
    /// <param name="revision">Hash up to this revision; 0 means the current revision.</param>
    /// <param name="compactRevision">The store's compact revision (-1 when never compacted).</param>
    /// <exception cref="EtcdException"><c>EtcdErrors.Compacted</c> when 0 &lt; revision &lt;= compact revision;
    /// <c>EtcdErrors.FutureRev</c> when revision &gt; current.</exception>
    public uint HashKV(long revision, out long compactRevision)
    {
        compactRevision = _compactRevision;
        if (revision > 0 && revision <= _compactRevision) throw EtcdErrors.Compacted;
        if (revision > 0 && revision > _currentRevision) throw EtcdErrors.FutureRev;
        if (revision == 0) revision = _currentRevision;

        var anyKept = false;
        foreach (var entry in _index.All())
        {
            if (!entry.TryGetVisible(revision, out _)) continue;
            anyKept = true;
            break;
        }

        var crc = new Crc32Castagnoli();
        crc.Append(KeyBucketName);
        var compact = _compactRevision;
        _backend.ForEachRevision(1, revision, withValues: true, row =>
        {
            if (row.Main <= compact && anyKept)
            {
                var entry = _index.Find(row.Key);
                if (entry is null || !entry.TryGetVisible(revision, out var kept) || !kept.Is(row.Main, row.Sub)) return;
            }
            Span<byte> bytes = stackalloc byte[18];
            BinaryPrimitives.WriteInt64BigEndian(bytes, row.Main);
            bytes[8] = (byte)'_';
            BinaryPrimitives.WriteInt64BigEndian(bytes[9..], row.Sub);
            var length = 17;
            if (row.Tombstone) bytes[length++] = (byte)'t';
            crc.Append(bytes[..length]);
            var kv = row.Tombstone
                ? new KeyValue { Key = UnsafeByteOperations.UnsafeWrap(row.Key) }
                : new KeyValue
                {
                    Key = UnsafeByteOperations.UnsafeWrap(row.Key),
                    CreateRevision = row.CreateRevision,
                    ModRevision = row.Main,
                    Version = row.Version,
                    Value = UnsafeByteOperations.UnsafeWrap(row.Value),
                    Lease = row.Lease,
                };
            crc.Append(kv.ToByteArray());
        });
        return crc.Value;
    }

    /// <summary>Total bytes on disk of the backend: the db file plus SQLite's WAL file.</summary>
    public long DbSizeBytes => _backend.SizeBytes;

    /// <summary>Bytes of backend pages in use ((page_count - freelist_count) × page_size).</summary>
    public long DbSizeInUseBytes => _backend.SizeInUseBytes;

    /// <summary>Commits and rebuilds the backend file (VACUUM), returning free pages to the file system.</summary>
    public void Defragment() => _backend.Vacuum();

    /// <summary>Commits and copies the backend to <paramref name="path"/> with SQLite's online backup (for Maintenance.Snapshot).</summary>
    public void BackupTo(string path) => _backend.BackupTo(path);
}
