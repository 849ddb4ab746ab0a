namespace Akka.Etcd.Actors.Raft;

/// <summary>The leader's view of one member's replication (a copy of etcd's tracker.Progress).</summary>
/// <param name="Match">Highest index known to be replicated on the member.</param>
/// <param name="Next">Next index the leader will send.</param>
/// <param name="State">Probe, replicate or snapshot.</param>
/// <param name="IsLearner">Whether the member is a learner (never votes, never counts for quorum).</param>
/// <param name="RecentActive">Whether the member was heard from since the last check-quorum round.</param>
/// <param name="PendingSnapshot">Index of the snapshot being sent, 0 when none.</param>
public sealed record ProgressStatus(ulong Match, ulong Next, ProgressState State, bool IsLearner, bool RecentActive, ulong PendingSnapshot);

/// <summary>A snapshot of a member's Raft state (etcd raft's <c>Status</c>, raft/status.go).</summary>
public sealed record RaftStatus
{
    /// <summary>This member's id.</summary>
    public required ulong Id { get; init; }

    /// <summary>The current term.</summary>
    public required ulong Term { get; init; }

    /// <summary>The member voted for in the current term, 0 when none.</summary>
    public required ulong Vote { get; init; }

    /// <summary>The known leader, 0 when none.</summary>
    public required ulong Lead { get; init; }

    /// <summary>This member's role.</summary>
    public required RaftState State { get; init; }

    /// <summary>The commit index.</summary>
    public required ulong Commit { get; init; }

    /// <summary>The applied index (as reported through Advance).</summary>
    public required ulong Applied { get; init; }

    /// <summary>The member leadership is being transferred to, 0 when none.</summary>
    public required ulong LeadTransferee { get; init; }

    /// <summary>Per-member replication progress; only filled on the leader, empty elsewhere.</summary>
    public required IReadOnlyDictionary<ulong, ProgressStatus> Progress { get; init; }
}
