using Mvccpb;

namespace Akka.Etcd.Actors.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>
/// A catch-up read of the store's event history, asked by a <see cref="WatcherActor"/> for its unsynced
/// watchers (etcd's <c>syncWatchers</c> range over the key bucket).
/// </summary>
/// <param name="FromRevision">First revision wanted (may be below the compact revision or &lt;= 0).</param>
/// <param name="MaxRevisions">Most distinct revisions to return (etcd's <c>watchBatchMaxRevs</c>, 1000); &gt;= 1.</param>
/// <param name="KeyHint">When set, only events on keys inside this range are needed (others may be returned).</param>
/// <param name="WithPrevKv">When true, each event's <c>prev_kv</c> must be filled (the key's version at revision - 1), except for creations.</param>
public sealed record HistoryRequest(long FromRevision, int MaxRevisions, WatchRange? KeyHint, bool WithPrevKv);

/// <summary>The answer to a <see cref="HistoryRequest"/>, taken at one moment on the store's thread.</summary>
/// <param name="Events">
/// Every event (of keys in the hint, when one was given) of revisions [max(from, compact revision), <paramref name="UpToRevision"/>],
/// ordered by revision then by position inside the revision, in the same shape as published live
/// (DELETE: kv = {key, mod_revision}). Treated as immutable once replied.
/// </param>
/// <param name="UpToRevision">
/// Last revision covered: the store's current revision at the read, or less when
/// <see cref="HistoryRequest.MaxRevisions"/> cut the read short.
/// </param>
/// <param name="CompactRevision">
/// The store's compact revision (0 = never compacted). A watcher whose next revision is below it is canceled
/// with <c>compact_revision</c> set, like etcd (revision == compact revision is still served).
/// </param>
public sealed record HistoryResult(IReadOnlyList<Event> Events, long UpToRevision, long CompactRevision);
