using Akka.Etcd.Storage.Wal;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.MicroBenchmarks.Wal;

/// <summary>
/// The WAL's group commit (src/Storage/Wal/WriteAheadLog.cs, driven by WalJournalActor: every Save in the mailbox is
/// one <see cref="WriteAheadLog.Append"/>, then one <see cref="WriteAheadLog.Sync"/> when the mailbox drains).
/// One operation = one batch: <see cref="EntriesPerBatch"/> raft entries with a 256-byte payload appended, and for
/// <see cref="AppendAndSync"/> one fdatasync. Per-entry cost = the figure / <see cref="EntriesPerBatch"/>.
/// <see cref="AppendAndSync"/> runs on the real file system in a temp dir and is bounded by the disk's fsync latency;
/// <see cref="AppendOnly"/> runs on <see cref="DiscardingFileSystem"/> and is the CPU part alone (protobuf encode,
/// CRC-32C, framing). Segments are 64 MiB (etcd's default); old ones are released as the log grows, as after snapshots.
/// </summary>
[MemoryDiagnoser]
public class WalAppendBenchmarks
{
    private const int PayloadBytes = 256;
    private string _dir = null!;
    private WriteAheadLog _durable = null!;
    private WriteAheadLog _discarding = null!;
    private Entry[] _entries = null!;

    /// <summary>Raft entries appended per batch (one Append call, then at most one Sync).</summary>
    [Params(1, 10, 100)]
    public int EntriesPerBatch { get; set; }

    /// <summary>Creates a WAL in a new temp dir (real file system) and one on the discarding file system, and the
    /// entries of one batch (term 1, normal type, 256-byte data).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-bench-wal-" + Guid.NewGuid().ToString("N"));
        _durable = WriteAheadLog.Create(_dir, new WalOptions { MaxSegmentsToKeep = 2 }, memberId: 1, clusterId: 1);
        _discarding = WriteAheadLog.Create("/discarded/wal", new WalOptions { FileSystem = new DiscardingFileSystem(), MaxSegmentsToKeep = 2 }, 1, 1);
        var payload = new byte[PayloadBytes];
        new Random(42).NextBytes(payload);
        var data = ByteString.CopyFrom(payload);
        _entries = new Entry[EntriesPerBatch];
        for (var i = 0; i < _entries.Length; i++)
            _entries[i] = new Entry { Term = 1, Type = EntryType.EntryNormal, Data = data };
    }

    /// <summary>Closes both WALs and deletes the temp dir.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _durable.Dispose();
        _discarding.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>One batch appended and fdatasynced on the real file system: the durability cost of one group commit.</summary>
    [Benchmark]
    public ulong AppendAndSync()
    {
        AppendBatch(_durable);
        _durable.Sync();
        return _durable.LastIndex;
    }

    /// <summary>One batch appended without any I/O (discarding file system): encode + CRC-32C + framing only.</summary>
    [Benchmark]
    public ulong AppendOnly()
    {
        AppendBatch(_discarding);
        return _discarding.LastIndex;
    }

    private void AppendBatch(WriteAheadLog wal)
    {
        var next = wal.LastIndex + 1;
        for (var i = 0; i < _entries.Length; i++)
            _entries[i].Index = next + (ulong)i;
        wal.Append(null, _entries);
        if (wal.SegmentCount > 2)
            wal.ReleaseTo(wal.LastIndex);
    }
}
