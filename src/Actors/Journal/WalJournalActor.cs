using Akka.Actor;
using Akka.Etcd.Actors.Metrics;
using Akka.Etcd.Storage.Wal;
using Akka.Event;
using Raftpb;

namespace Akka.Etcd.Actors.Journal;

/// <summary>The protocol of the <see cref="WalJournalActor"/>: what the RaftActor asks of the WAL, and the answers.</summary>
public static class JournalProtocol
{
    /// <summary>
    /// Appends a HardState (null if unchanged) and entries. Answered with <see cref="Persisted"/> once they are fsynced,
    /// together with every other Save queued before the fsync began (group commit). On an I/O error the journal fails
    /// (its supervisor stops the member) and no answer comes.
    /// </summary>
    /// <param name="HardState">The Ready's HardState, null when it did not change.</param>
    /// <param name="Entries">The Ready's new entries, in index order (a later entry for an index overrides an earlier one on replay).</param>
    public sealed record Save(HardState? HardState, IReadOnlyList<Entry> Entries);

    /// <summary>Records that a Raft snapshot at (<paramref name="Index"/>, <paramref name="Term"/>) was saved; answered with <see cref="Persisted"/> once fsynced.</summary>
    public sealed record SaveSnapshotMarker(ulong Index, ulong Term);

    /// <summary>Releases WAL segments wholly below <paramref name="Index"/> (after a snapshot). Not answered.</summary>
    public sealed record Release(ulong Index);

    /// <summary>The answer to a <see cref="Save"/> or <see cref="SaveSnapshotMarker"/>: everything asked so far is durable.</summary>
    public sealed record Persisted
    {
        /// <summary>The one instance.</summary>
        public static readonly Persisted Instance = new();
    }

    /// <summary>Self-sent after the first Save of a burst: the fsync runs when it reaches the head of the mailbox.</summary>
    internal sealed record Flush
    {
        public static readonly Flush Instance = new();
    }
}

/// <summary>
/// Owns the <see cref="WriteAheadLog"/> and makes Raft state durable with group commit (etcd's <c>wal.Save</c> plus
/// the batching of its raftNode loop): a Save is appended at once, and the first Save of a burst sends this actor a
/// <see cref="JournalProtocol.Flush"/>; by the time the Flush reaches the head of the mailbox every Save queued behind
/// the first one has been appended too, so ONE fdatasync makes the whole burst durable and answers all of their
/// senders with <see cref="JournalProtocol.Persisted"/>. The RaftActor neither applies nor acknowledges anything
/// before its Save was answered.
/// </summary>
/// <remarks>
/// Runs on its own thread (the <c>akka.etcd.journal-dispatcher</c>, a PinnedDispatcher), because an fsync blocks.
/// Any exception (an append or fsync error) fails the actor; its supervisor, the MemberActor, stops the member as
/// etcd does (a member that cannot persist must not go on). The WAL is closed in <see cref="PostStop"/>.
/// </remarks>
public sealed class WalJournalActor : ReceiveActor
{
    /// <summary>The dispatcher id of the journal (a PinnedDispatcher, defined in the member's reference config).</summary>
    public const string DispatcherId = "akka.etcd.journal-dispatcher";

    private readonly WriteAheadLog _wal;
    private readonly List<IActorRef> _waiting = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _flushQueued;

    /// <summary>Props of the actor over an open WAL, which it owns and closes when it stops; on the journal dispatcher.</summary>
    public static Props Props(WriteAheadLog wal) =>
        Akka.Actor.Props.Create(() => new WalJournalActor(wal)).WithDispatcher(DispatcherId);

    /// <summary>Creates the actor; use <see cref="Props(WriteAheadLog)"/>.</summary>
    public WalJournalActor(WriteAheadLog wal)
    {
        _wal = wal;
        Receive<JournalProtocol.Save>(save =>
        {
            _wal.Append(save.HardState, save.Entries);
            EtcdMetrics.WalWriteBytes.Inc(EntryBytes(save));
            Wait(Sender);
        });
        Receive<JournalProtocol.SaveSnapshotMarker>(marker =>
        {
            _wal.SaveSnapshotMarker(marker.Index, marker.Term);
            Wait(Sender);
        });
        Receive<JournalProtocol.Flush>(_ => Flush());
        Receive<JournalProtocol.Release>(release => _wal.ReleaseTo(release.Index));
    }

    /// <summary>The protobuf size of a Save's HardState and entries (what etcd's etcd_disk_wal_write_bytes_total adds up).</summary>
    private static long EntryBytes(JournalProtocol.Save save)
    {
        long bytes = save.HardState?.CalculateSize() ?? 0;
        foreach (var entry in save.Entries)
            bytes += entry.CalculateSize();
        return bytes;
    }

    private void Wait(IActorRef sender)
    {
        _waiting.Add(sender);
        if (!_flushQueued)
        {
            _flushQueued = true;
            Self.Tell(JournalProtocol.Flush.Instance);
        }
    }

    private void Flush()
    {
        _flushQueued = false;
        if (_waiting.Count == 0)
        {
            return;
        }
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            _wal.Sync();
            EtcdMetrics.WalFsyncDuration.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        catch (Exception ex)
        {
            _log.Error(ex, "failed to fsync the WAL");
            throw;
        }
        foreach (var sender in _waiting)
        {
            sender.Tell(JournalProtocol.Persisted.Instance, Self);
        }
        _waiting.Clear();
    }

    /// <inheritdoc />
    protected override void PreRestart(Exception reason, object message)
    {
        // Never restarted (the member stops on a journal failure), but a restart must not leave the WAL open twice.
        _wal.Dispose();
        base.PreRestart(reason, message);
    }

    /// <inheritdoc />
    protected override void PostStop() => _wal.Dispose();
}
