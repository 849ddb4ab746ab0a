using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Storage.FileSystem;
using Akka.Etcd.Storage.Wal;
using Akka.Persistence;

namespace Akka.Etcd.Actors.Journal;

/// <summary>
/// The Raft log's journal plugins in an ActorSystem: their HOCON (<c>journal.conf</c>: the WAL plugin, the
/// Akka.Persistence.Sql settings, the serializer of the log's events, the journal's pinned dispatcher) and how a member
/// finds its own: the plugin named by <c>akka.persistence.journal.plugin</c>, told where this member's log lives.
/// </summary>
public static class RaftLogPlugins
{
    /// <summary>The HOCON path of the WAL journal plugin.</summary>
    public const string WalPluginId = "akka.persistence.journal.etcd-wal";

    /// <summary>The HOCON path of the Akka.Persistence.Sql journal plugin.</summary>
    public const string SqlPluginId = "akka.persistence.journal.sql";

    /// <summary>The file name of the SQLite database the SQL journal uses when no connection string is set (in the WAL directory).</summary>
    public const string SqliteFileName = "raft-log.db";

    /// <summary>The journal HOCON every ActorSystem running a member needs, as a fallback (a user's config overrides it).</summary>
    public static Config DefaultConfig { get; } = ConfigurationFactory.FromResource("Akka.Etcd.Actors.Journal.journal.conf", typeof(RaftLogPlugins).Assembly);

    /// <summary>
    /// The journal plugin a member with <paramref name="memberId"/> in <paramref name="clusterId"/> writes its Raft log
    /// through (<paramref name="pluginId"/>, or <c>akka.persistence.journal.plugin</c> when null): for the WAL journal,
    /// its directory and options are registered first; for the SQL journal over SQLite with no connection string, one is
    /// set to <c>&lt;wal-dir&gt;/raft-log.db</c> (before the plugin starts). Returns the plugin actor, its HOCON path,
    /// the log's persistence id, and whether it is the WAL journal (which keeps the log open until told to close it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The plugin is not configured.</exception>
    public static (IActorRef Journal, string PluginId, string PersistenceId, bool IsWal) Resolve(ActorSystem system, string? pluginId, string walDir,
        WalOptions walOptions, ulong memberId, ulong clusterId)
    {
        system.Settings.InjectTopLevelFallback(DefaultConfig);
        var config = system.Settings.Config;
        var id = string.IsNullOrEmpty(pluginId) ? config.GetString("akka.persistence.journal.plugin", WalPluginId) : pluginId;
        if (!config.HasPath(id) || string.IsNullOrEmpty(config.GetString(id + ".class", "")))
        {
            throw new InvalidOperationException($"journal plugin '{id}' is not configured (no {id}.class)");
        }
        var persistenceId = RaftLogJournal.PersistenceIdOf(clusterId, memberId);
        var type = config.GetString(id + ".class", "");
        var isWal = type.StartsWith(typeof(WalJournal).FullName + ",", StringComparison.Ordinal);
        if (isWal)
        {
            WalJournalTargets.For(system).Register(persistenceId, new WalJournalTarget(walDir, memberId, clusterId, walOptions));
        }
        else if (string.IsNullOrEmpty(config.GetString(id + ".connection-string", ""))
            && config.GetString(id + ".provider-name", "").StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
        {
            walOptions.FileSystem.CreateDirectory(walDir);
            var path = Path.GetFullPath(Path.Combine(walDir, SqliteFileName));
            system.Settings.InjectTopLevelFallback(ConfigurationFactory.ParseString(
                $"{id}.connection-string = \"Data Source={Escape(path)}\""));
        }
        var journal = Persistence.Persistence.Instance.Apply(system).JournalFor(id);
        return (journal, id, persistenceId, isWal);
    }

    /// <summary>True when a Raft log exists in <paramref name="walDir"/> in either journal's default place: WAL segments,
    /// or the SQL journal's SQLite file.</summary>
    public static bool LogExists(string walDir, IStorageFileSystem fileSystem) =>
        WriteAheadLog.Exists(walDir, fileSystem) || fileSystem.FileExists(Path.Combine(walDir, SqliteFileName));

    private static string Escape(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
