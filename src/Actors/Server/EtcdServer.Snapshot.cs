using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Backend;

namespace Akka.Etcd.Actors.Server;

/// <summary>The consistent backend view behind Maintenance.Snapshot (etcd's <c>Backend().Snapshot()</c>).</summary>
public sealed partial class EtcdServer
{
    /// <summary>
    /// Opens a point-in-time, read-only view of this member's backend: on the MvccStoreActor's thread, in order with
    /// applies, the pending backend batch is committed and a SQLite read transaction is pinned, so the view holds exactly
    /// the state after the last applied entry (keys, compaction, leases, membership, consistent index). The store is
    /// held only for that commit and the open (a few ms); afterwards the view is read on the caller's thread while
    /// writes go on (SQLite WAL mode). Like etcd's snapshot it is the local member's state, without a ReadIndex.
    /// The caller disposes the view, and should do so soon: SQLite cannot checkpoint past an open view.
    /// </summary>
    /// <param name="cancel">Gives up waiting.</param>
    /// <exception cref="EtcdException"><c>EtcdErrors.Stopped</c> when the member is stopping; <c>EtcdErrors.Timeout</c>
    /// when the store does not get to it within the request timeout.</exception>
    /// <exception cref="Microsoft.Data.Sqlite.SqliteException">The backend cannot be committed or opened for reading.</exception>
    public Task<SqliteReadView> OpenBackendSnapshotAsync(CancellationToken cancel) =>
        AskAsync<SqliteReadView>(_refs.Store, new StoreProtocol.RunQuery(0, StoreProtocol.OpenReadView.Instance), cancel);
}
