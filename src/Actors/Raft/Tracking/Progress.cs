namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// The leader's view of one member's log (etcd raft's tracker.Progress, raft/tracker/progress.go): Match is the
/// highest index known replicated, Next the next index to send.
/// </summary>
internal sealed class Progress
{
    public Progress(ulong next, int maxInflight, bool isLearner)
    {
        Next = next;
        Inflights = new Inflights(maxInflight);
        IsLearner = isLearner;
    }

    public ulong Match { get; set; }

    public ulong Next { get; set; }

    public ProgressState State { get; private set; } = ProgressState.Probe;

    /// <summary>The index of the snapshot being sent while in <see cref="ProgressState.Snapshot"/>.</summary>
    public ulong PendingSnapshot { get; set; }

    /// <summary>Whether the member was heard from since the last check-quorum round.</summary>
    public bool RecentActive { get; set; }

    /// <summary>In probe state: an append was sent and not answered yet, so sending pauses.</summary>
    public bool ProbeSent { get; set; }

    public Inflights Inflights { get; }

    public bool IsLearner { get; set; }

    private void ResetState(ProgressState state)
    {
        ProbeSent = false;
        PendingSnapshot = 0;
        State = state;
        Inflights.Reset();
    }

    public void BecomeProbe()
    {
        if (State == ProgressState.Snapshot)
        {
            var pendingSnapshot = PendingSnapshot;
            ResetState(ProgressState.Probe);
            Next = Math.Max(Match + 1, pendingSnapshot + 1);
        }
        else
        {
            ResetState(ProgressState.Probe);
            Next = Match + 1;
        }
    }

    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        Next = Match + 1;
    }

    public void BecomeSnapshot(ulong snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>An append up to <paramref name="n"/> was acknowledged; returns whether Match moved.</summary>
    public bool MaybeUpdate(ulong n)
    {
        var updated = false;
        if (Match < n)
        {
            Match = n;
            updated = true;
            ProbeSent = false;
        }

        Next = Math.Max(Next, n + 1);
        return updated;
    }

    /// <summary>Moves Next past entries sent optimistically in replicate state.</summary>
    public void OptimisticUpdate(ulong n) => Next = n + 1;

    /// <summary>
    /// The follower rejected an append at <paramref name="rejected"/> and its last index is <paramref name="last"/>
    /// (the reject hint): back Next off. Returns false for a stale rejection.
    /// </summary>
    public bool MaybeDecrTo(ulong rejected, ulong last)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match + 1;
            return true;
        }

        if (Next - 1 != rejected)
        {
            return false;
        }

        Next = Math.Max(Math.Min(rejected, last + 1), 1);
        ProbeSent = false;
        return true;
    }

    /// <summary>Whether sending appends to this member is paused.</summary>
    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };
}
