using Etcdserverpb;
using Mvccpb;

namespace Akka.Etcd.Actors.Watch;

// Akka.Event (a namespace) would otherwise shadow the mvccpb type for code under Akka.Etcd.
using Event = Mvccpb.Event;

/// <summary>Where a watcher stands relative to the revisions published to its stream.</summary>
internal enum WatcherSync
{
    /// <summary>Gets live events of revisions &gt;= <see cref="Watcher.NextRevision"/> as they are published.</summary>
    Synced,

    /// <summary>Ignores live events; catches up from history starting at <see cref="Watcher.NextRevision"/>.</summary>
    Unsynced,
}

/// <summary>
/// One watch of a stream (etcd's <c>mvcc.watcher</c> plus the per-id flags of <c>serverWatchStream</c>).
/// Owned by its <see cref="WatcherActor"/>; touched only on that actor's loop.
/// </summary>
internal sealed class Watcher
{
    public Watcher(long id, WatchRange range, WatchCreateRequest request, long nextRevision)
    {
        Id = id;
        Range = range;
        NextRevision = nextRevision;
        ProgressNotify = request.ProgressNotify;
        WantsPrevKv = request.PrevKv;
        Fragment = request.Fragment;
        foreach (var filter in request.Filters)
        {
            if (filter == WatchCreateRequest.Types.FilterType.Noput)
            {
                NoPut = true;
            }
            else if (filter == WatchCreateRequest.Types.FilterType.Nodelete)
            {
                NoDelete = true;
            }
        }
    }

    public long Id { get; }

    public WatchRange Range { get; }

    public bool NoPut { get; }

    public bool NoDelete { get; }

    public bool WantsPrevKv { get; }

    public bool Fragment { get; }

    public bool ProgressNotify { get; }

    public WatcherSync Sync { get; set; }

    /// <summary>First revision not yet delivered (etcd's <c>minRev</c>).</summary>
    public long NextRevision { get; set; }

    /// <summary>Set when canceled (by the client or by compaction); a canceled watcher never gets another response.</summary>
    public bool Canceled { get; set; }

    /// <summary>etcd's <c>progress[id]</c>: true when no event response went out since the last progress tick.</summary>
    public bool ProgressDue { get; set; } = true;

    /// <summary>The history read this unsynced watcher waits for (0 = none).</summary>
    public long ReadGeneration { get; set; }

    /// <summary>The response being filled for the revision (or history read) being dispatched; null otherwise.</summary>
    public WatchResponse? Pending { get; set; }

    /// <summary>
    /// The coalesced response of the live revisions matched in the current mailbox burst, not yet written
    /// (null when none): sent at the end of the burst, before any other message, or when a cap is reached.
    /// </summary>
    public WatchResponse? Batch { get; set; }

    /// <summary>First revision with events in <see cref="Batch"/>.</summary>
    public long BatchFirstRevision { get; set; }

    /// <summary>Last complete revision in <see cref="Batch"/> (its header revision when written).</summary>
    public long BatchLastRevision { get; set; }

    /// <summary>Encoded size (bytes, upper bound: prev_kv counted even when stripped) of the events in <see cref="Batch"/>.</summary>
    public long BatchBytes { get; set; }

    /// <summary>Events in <see cref="Batch"/> before the revision being dispatched.</summary>
    public int RevisionStartCount { get; set; }

    /// <summary><see cref="BatchBytes"/> before the revision being dispatched.</summary>
    public long RevisionStartBytes { get; set; }

    /// <summary>True while the revision being dispatched added events to <see cref="Batch"/>.</summary>
    public bool Dispatching { get; set; }

    /// <summary>A live event needing prev_kv came without it: the watcher must catch up from history instead.</summary>
    public bool MissingPrevKv { get; set; }

    /// <summary>True when the watcher's filters drop <paramref name="ev"/>.</summary>
    public bool Filters(Event ev) =>
        ev.Type == Event.Types.EventType.Put ? NoPut : NoDelete;
}
