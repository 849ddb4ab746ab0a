using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Etcd.Storage.Wal;

namespace Akka.Etcd.Actors.Journal;

/// <summary>
/// Where the <see cref="WalJournal"/> keeps each persistence id's log: a WAL directory, the member and cluster IDs
/// written in its segment headers (and checked when it is opened), and the WAL's options (segment size,
/// <c>--max-wals</c>, the file-system seam, the logger).
/// </summary>
/// <param name="Directory">The WAL directory (<c>--wal-dir</c>, or <c>&lt;data-dir&gt;/member/wal</c>).</param>
/// <param name="MemberId">The member the log belongs to.</param>
/// <param name="ClusterId">The cluster the member belongs to.</param>
/// <param name="Options">Segment size, segments kept, file system, logger.</param>
public sealed record WalJournalTarget(string Directory, ulong MemberId, ulong ClusterId, WalOptions Options);

/// <summary>
/// The persistence ids the <see cref="WalJournal"/> of an ActorSystem serves, registered by the member before it
/// replays its log (a journal plugin is created from HOCON, which cannot carry a file system or a logger). Also
/// remembers which logs a journal instance left open when it stopped or restarted: their writer must replay before it
/// writes again, so a journal failure never goes unnoticed. Thread-safe.
/// </summary>
public sealed class WalJournalTargets : IExtension
{
    private readonly ConcurrentDictionary<string, WalJournalTarget> _targets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _abandoned = new(StringComparer.Ordinal);

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static WalJournalTargets For(ActorSystem system) => system.WithExtension<WalJournalTargets, WalJournalTargetsProvider>();

    /// <summary>Makes the journal keep <paramref name="persistenceId"/>'s log in <paramref name="target"/> (replaces an earlier registration).</summary>
    public void Register(string persistenceId, WalJournalTarget target) => _targets[persistenceId] = target;

    /// <summary>The registration of <paramref name="persistenceId"/>, if any.</summary>
    public bool TryGet(string persistenceId, out WalJournalTarget target) => _targets.TryGetValue(persistenceId, out target!);

    /// <summary>A journal instance stopped with this log open: its writer lost whatever was in flight.</summary>
    internal void Abandoned(string persistenceId) => _abandoned[persistenceId] = true;

    /// <summary>The log was replayed (its writer recovered): writes are accepted again.</summary>
    internal void Recovered(string persistenceId) => _abandoned.TryRemove(persistenceId, out _);

    /// <summary>True when a journal instance stopped with the log open and nobody replayed it since.</summary>
    internal bool IsAbandoned(string persistenceId) => _abandoned.ContainsKey(persistenceId);
}

/// <summary>The extension id of <see cref="WalJournalTargets"/>.</summary>
public sealed class WalJournalTargetsProvider : ExtensionIdProvider<WalJournalTargets>
{
    /// <inheritdoc />
    public override WalJournalTargets CreateExtension(ExtendedActorSystem system) => new();
}
