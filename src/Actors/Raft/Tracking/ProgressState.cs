namespace Akka.Etcd.Actors.Raft;

/// <summary>How the leader replicates to one follower (etcd raft's tracker.StateType, raft/tracker/state.go).</summary>
public enum ProgressState
{
    /// <summary>The leader sends at most one append per heartbeat interval while it looks for the match point.</summary>
    Probe,

    /// <summary>The leader streams appends optimistically, bounded by the inflight window.</summary>
    Replicate,

    /// <summary>The follower needs a snapshot; appends are paused until it reports the snapshot's outcome.</summary>
    Snapshot,
}
