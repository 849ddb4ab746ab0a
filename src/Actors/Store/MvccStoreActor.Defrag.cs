using System.Diagnostics;
using Akka.Actor;
using Akka.Etcd.Actors.Server;
using Akka.Event;
using Akka.Etcd.Storage.Backend;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Store;

/// <summary>
/// Maintenance.Defragment without stopping the member: the compacted copy of the backend is written and caught up on a
/// pool thread (<see cref="SqliteBackend.CopyCompacted"/>, <see cref="SqliteBackend.CatchUp"/>) while this actor goes on
/// applying and reading; only the final catch-up and the file swap (<see cref="SqliteBackend.TrySwapIn"/>) run here,
/// between two messages. Concurrent Defragment calls share one run.
/// </summary>
public sealed partial class MvccStoreActor
{
    private readonly List<IActorRef> _defragWaiters = new();
    private long _defragStarted;
    private long _defragSizeBefore;
    private int _backendGeneration;

    /// <summary>A background step of a defragmentation finished: the copy as far as it got, or the failure.</summary>
    private sealed record DefragStepDone(BackendCopy? Copy, Exception? Error, int Generation);

    private void StartDefragment(IActorRef replyTo)
    {
        _defragWaiters.Add(replyTo);
        if (_defragWaiters.Count > 1)
        {
            return; // one run serves every caller waiting now
        }
        _store.Commit();
        _defragStarted = Stopwatch.GetTimestamp();
        _defragSizeBefore = _store.DbSizeBytes;
        var livePath = _store.Backend.Path;
        var copyPath = livePath + ".defrag";
        var generation = _backendGeneration;
        _log.Info("defragmenting: path {0}, current db size {1} bytes, in use {2} bytes", livePath, _defragSizeBefore, _store.DbSizeInUseBytes);
        RunDefragStep(() => SqliteBackend.CatchUp(SqliteBackend.CopyCompacted(livePath, copyPath), livePath), generation);
    }

    private void RunDefragStep(Func<BackendCopy> step, int generation)
    {
        var self = Self;
        Task.Run(() =>
        {
            try
            {
                self.Tell(new DefragStepDone(step(), null, generation));
            }
            catch (Exception ex)
            {
                self.Tell(new DefragStepDone(null, ex, generation));
            }
        });
    }

    private void OnDefragStepDone(DefragStepDone done)
    {
        if (done.Generation != _backendGeneration)
        {
            // A snapshot's backend was installed meanwhile: the copy is of a file that is gone.
            if (done.Copy is not null)
            {
                SqliteBackend.DeleteCopy(done.Copy.Path);
            }
            FinishDefragment(new InvalidOperationException("the backend was replaced by a snapshot during the defragmentation"));
            return;
        }
        if (done.Error is not null)
        {
            SqliteBackend.DeleteCopy(_store.Backend.Path + ".defrag");
            FinishDefragment(done.Error);
            return;
        }
        var copy = done.Copy!;
        if (!_store.Backend.TrySwapIn(copy, out var pause))
        {
            // A compaction ran since the copy caught up: replay it off this thread, then try again.
            var livePath = _store.Backend.Path;
            RunDefragStep(() => SqliteBackend.CatchUp(copy, livePath), done.Generation);
            return;
        }
        PublishView();
        _log.Info("defragmented: path {0}, db size {1} bytes (diff {2}), in use {3} bytes, took {4}, writes paused {5}",
            _store.Backend.Path, _store.DbSizeBytes, _store.DbSizeBytes - _defragSizeBefore, _store.DbSizeInUseBytes,
            Stopwatch.GetElapsedTime(_defragStarted), pause);
        FinishDefragment(null);
    }

    private void FinishDefragment(Exception? error)
    {
        if (_defragWaiters.Count == 0)
        {
            return;
        }
        foreach (var waiter in _defragWaiters)
        {
            waiter.Tell(error is null
                ? new DefragmentResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision) }
                : new Status.Failure(error));
        }
        if (error is not null)
        {
            _log.Warning("failed to defragment the backend: {0}", error.Message);
        }
        _defragWaiters.Clear();
    }
}
