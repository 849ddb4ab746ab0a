using Akka.Actor;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Store;

/// <summary>The messages the <see cref="MvccStoreActor"/> accepts and the answers it gives.</summary>
public static class StoreProtocol
{
    /// <summary>
    /// Committed Raft entries to apply, in index order (from the RaftActor only). For every entry whose request ID is a
    /// key of <paramref name="Replies"/>, the apply's response (or <c>Status.Failure</c> with the apply's
    /// <c>EtcdException</c>) is sent to that actor: the proposer's ask. Only the first entry with a given ID answers (a
    /// proposal appended twice is applied twice but answered once, as etcd's wait registry triggers once).
    /// </summary>
    public sealed record Apply(IReadOnlyList<Entry> Entries, IReadOnlyDictionary<ulong, IActorRef>? Replies);

    /// <summary>
    /// Runs <paramref name="Query"/> once everything up to <paramref name="MinAppliedIndex"/> is applied (0 = at once, a
    /// serializable read) and answers the sender with the query's result, or <c>Status.Failure</c> with the error
    /// (e.g. Compacted, FutureRev). Queries wait in order with applies, so a linearizable read sees every write
    /// committed before its read index.
    /// </summary>
    public sealed record RunQuery(ulong MinAppliedIndex, Query Query);

    /// <summary>A read (or maintenance step) run on the store's thread; each subtype says what it answers.</summary>
    public abstract record Query;

    /// <summary>KV.Range; answers a <c>RangeResponse</c> with its header filled.</summary>
    public sealed record Range(RangeRequest Request) : Query;

    /// <summary>KV.Txn whose branches only read (etcd's isTxnReadonly); answers a <c>TxnResponse</c>.</summary>
    public sealed record ReadTxn(TxnRequest Request) : Query;

    /// <summary>Maintenance.HashKV at a revision (0 = latest); answers a <c>HashKVResponse</c>.</summary>
    public sealed record HashKV(HashKVRequest Request) : Query;

    /// <summary>Maintenance.Status's store part; answers a <see cref="StoreStatus"/>.</summary>
    public sealed record GetStatus : Query
    {
        /// <summary>The one instance.</summary>
        public static readonly GetStatus Instance = new();
    }

    /// <summary>Waits for the applied index only; answers <see cref="BarrierPassed"/> with the applied index.</summary>
    public sealed record Barrier : Query
    {
        /// <summary>The one instance.</summary>
        public static readonly Barrier Instance = new();
    }

    /// <summary>
    /// Maintenance.Defragment: rewrites the backend file compacted while reads and writes go on (only the final swap
    /// pauses the store); answers a <c>DefragmentResponse</c> once the new file is in use.
    /// </summary>
    public sealed record Defragment : Query
    {
        /// <summary>The one instance.</summary>
        public static readonly Defragment Instance = new();
    }

    /// <summary>
    /// Writes a consistent copy of the backend to <paramref name="Path"/> (SQLite online backup), for a MsgSnap to a
    /// lagging member; answers <see cref="BackupWritten"/>.
    /// </summary>
    public sealed record Backup(string Path) : Query;

    /// <summary>
    /// Commits the backend batch and pins a SQLite read transaction on a new connection (Maintenance.Snapshot); answers
    /// the <c>SqliteReadView</c>, which the asker disposes.
    /// </summary>
    public sealed record OpenReadView : Query
    {
        /// <summary>The one instance.</summary>
        public static readonly OpenReadView Instance = new();
    }

    /// <summary>A watcher's catch-up read of event history; answers a <see cref="HistoryResult"/>.</summary>
    public sealed record History(HistoryRequest Request) : Query;

    /// <summary>Every lease record and key attachment (to rebuild a restarted lessor); answers <see cref="LeasesLoaded"/>.</summary>
    public sealed record LoadLeases : Query
    {
        /// <summary>The one instance.</summary>
        public static readonly LoadLeases Instance = new();
    }

    /// <summary>The store part of Maintenance.Status.</summary>
    /// <param name="Revision">Current revision.</param>
    /// <param name="DbSizeBytes">Backend file size in bytes.</param>
    /// <param name="DbSizeInUseBytes">Bytes of the backend in use (file size minus free pages).</param>
    public sealed record StoreStatus(long Revision, long DbSizeBytes, long DbSizeInUseBytes)
    {
        /// <summary>The raised alarms (every type, every member), as applied from the log; empty when none.</summary>
        public IReadOnlyList<AlarmMember> Alarms { get; init; } = Array.Empty<AlarmMember>();
    }

    /// <summary>Answer of <see cref="Barrier"/>: the store has applied up to <paramref name="AppliedIndex"/>.</summary>
    public sealed record BarrierPassed(ulong AppliedIndex);

    /// <summary>Answer of <see cref="Backup"/>: the copy at <paramref name="Path"/> is complete.</summary>
    public sealed record BackupWritten(string Path);

    /// <summary>Answer of <see cref="LoadLeases"/>.</summary>
    /// <param name="Leases">Every lease with its granted TTL.</param>
    /// <param name="Attachments">Key and lease ID of every live leased key.</param>
    public sealed record LeasesLoaded(IReadOnlyList<LeaseRecord> Leases, IReadOnlyList<KeyValuePair<ByteString, long>> Attachments);

    /// <summary>Commits the backend batch (the actor's own timer, every 100 ms).</summary>
    public sealed record CommitBatch
    {
        /// <summary>The one instance.</summary>
        public static readonly CommitBatch Instance = new();
    }

    /// <summary>
    /// Replaces the backend with the db file received with a leader's snapshot (<paramref name="DbPath"/>), then
    /// reloads leases and membership from it; answers <see cref="BackendInstalled"/>.
    /// </summary>
    public sealed record InstallBackend(string DbPath);

    /// <summary>Answer of <see cref="InstallBackend"/>: the new backend's consistent index.</summary>
    public sealed record BackendInstalled(ulong ConsistentIndex);

    /// <summary>Commits the backend durably; answers <see cref="PersistedForSnapshot"/> (before a Raft snapshot).</summary>
    public sealed record PersistForSnapshot
    {
        /// <summary>The one instance.</summary>
        public static readonly PersistForSnapshot Instance = new();
    }

    /// <summary>Answer of <see cref="PersistForSnapshot"/>: everything up to <paramref name="AppliedIndex"/> is durable in the backend.</summary>
    public sealed record PersistedForSnapshot(ulong AppliedIndex);

    /// <summary>
    /// A WatcherActor (the sender) subscribes to applied revisions; answered with <see cref="WatchStreamRegistered"/>,
    /// after which every applied revision is published to it until it stops (the store watches it).
    /// </summary>
    public sealed record RegisterWatchStream
    {
        /// <summary>The one instance.</summary>
        public static readonly RegisterWatchStream Instance = new();
    }

    /// <summary>Answer of <see cref="RegisterWatchStream"/>: every revision after <paramref name="Revision"/> will be published.</summary>
    public sealed record WatchStreamRegistered(long Revision);

    /// <summary>
    /// Watchers that want <c>prev_kv</c> came (<paramref name="Delta"/> &gt; 0) or went (&lt; 0): while any exist, the
    /// store fills <c>prev_kv</c> on published events.
    /// </summary>
    public sealed record PrevKvWatchers(int Delta);
}
