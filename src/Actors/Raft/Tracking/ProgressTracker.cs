using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>The result of counting votes in an election.</summary>
internal enum VoteResult
{
    Pending,
    Lost,
    Won,
}

/// <summary>
/// The configuration (voters and learners) and the per-member <see cref="Progress"/> and votes (etcd raft's
/// tracker.ProgressTracker with a single majority config: joint consensus is not used). Members are always
/// visited in ascending id order so that every run is deterministic.
/// </summary>
internal sealed class ProgressTracker
{
    private readonly Dictionary<ulong, bool> _votes = [];

    public ProgressTracker(int maxInflight) => MaxInflight = maxInflight;

    public int MaxInflight { get; }

    public SortedSet<ulong> Voters { get; } = [];

    public SortedSet<ulong> Learners { get; } = [];

    public SortedDictionary<ulong, Progress> Progress { get; } = [];

    /// <summary>The configuration as persisted in snapshots and returned by ApplyConfChange.</summary>
    public ConfState ConfState()
    {
        var cs = new ConfState();
        cs.Voters.AddRange(Voters);
        cs.Learners.AddRange(Learners);
        return cs;
    }

    /// <summary>Whether there is exactly one voter.</summary>
    public bool IsSingleton => Voters.Count == 1;

    /// <summary>
    /// The highest index replicated on a majority of voters (by Match). With no voters, 0.
    /// </summary>
    public ulong Committed()
    {
        if (Voters.Count == 0)
        {
            return 0;
        }

        var matches = new ulong[Voters.Count];
        var i = 0;
        foreach (var id in Voters)
        {
            matches[i++] = Progress.TryGetValue(id, out var pr) ? pr.Match : 0;
        }

        Array.Sort(matches);
        // Ascending: the value at n - quorum is held by at least quorum voters.
        return matches[matches.Length - (matches.Length / 2 + 1)];
    }

    /// <summary>Whether a majority of voters was recently active.</summary>
    public bool QuorumActive()
    {
        var active = Voters.Count(id => Progress.TryGetValue(id, out var pr) && pr.RecentActive);
        return active >= Voters.Count / 2 + 1;
    }

    public void ResetVotes() => _votes.Clear();

    /// <summary>Records <paramref name="id"/>'s vote unless it already voted.</summary>
    public void RecordVote(ulong id, bool granted) => _votes.TryAdd(id, granted);

    /// <summary>Counts the votes of the voters.</summary>
    public (int Granted, int Rejected, VoteResult Result) TallyVotes()
    {
        int granted = 0, rejected = 0, missing = 0;
        foreach (var id in Voters)
        {
            if (!_votes.TryGetValue(id, out var vote))
            {
                missing++;
            }
            else if (vote)
            {
                granted++;
            }
            else
            {
                rejected++;
            }
        }

        var quorum = Voters.Count / 2 + 1;
        var result = Voters.Count == 0 || granted >= quorum
            ? VoteResult.Won
            : granted + missing >= quorum ? VoteResult.Pending : VoteResult.Lost;
        return (granted, rejected, result);
    }
}
