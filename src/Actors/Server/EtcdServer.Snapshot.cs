using System.Diagnostics;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Backend;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>The consistent backend view behind Maintenance.Snapshot (etcd's <c>Backend().Snapshot()</c>).</summary>
public sealed partial class EtcdServer
{
    /// <summary>
    /// Opens a point-in-time, read-only view of this member's backend: on the MvccStoreActor's loop, in order with
    /// applies, the pending backend batch is committed and a SQLite read transaction is pinned, so the view holds exactly
    /// the state after the last applied entry (keys, compaction, leases, membership, consistent index). The store loop
    /// is held only for that commit and the open (a few ms); afterwards the view is read on the caller's thread while
    /// writes go on (SQLite WAL mode). Like etcd's snapshot it is the local member's state, without a ReadIndex.
    /// The caller disposes the view, and should do so soon: SQLite cannot checkpoint past an open view.
    /// </summary>
    /// <param name="cancel">Gives up waiting; a view opened after that is disposed at once.</param>
    /// <exception cref="EtcdException"><c>EtcdErrors.Stopped</c> when the member is stopping; <c>EtcdErrors.Timeout</c>
    /// when the store does not get to it within the request timeout.</exception>
    /// <exception cref="Microsoft.Data.Sqlite.SqliteException">The backend cannot be committed or opened for reading.</exception>
    public async Task<SqliteReadView> OpenBackendSnapshotAsync(CancellationToken cancel)
    {
        var opened = new TaskCompletionSource<SqliteReadView>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(_requestTimeout);
        using var giveUp = deadline.Token.Register(() => opened.TrySetCanceled(deadline.Token));
        var message = new StoreMessage.Query(0, store =>
        {
            if (opened.Task.IsCompleted) return;
            var started = Stopwatch.GetTimestamp();
            store.Commit();
            var view = SqliteReadView.Open(store.Backend.Path);
            if (!opened.TrySetResult(view))
            {
                view.Dispose();
                return;
            }
            _logger.LogInformation("opened a backend snapshot at consistent index {index}, revision {revision}; the store paused {pause}",
                view.ConsistentIndex, store.CurrentRevision, Stopwatch.GetElapsedTime(started));
        }, error => opened.TrySetException(error));
        if (!_store.Tell(message))
        {
            throw EtcdErrors.Stopped;
        }
        try
        {
            return await opened.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout;
        }
    }
}
