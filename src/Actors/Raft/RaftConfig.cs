namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// Parameters of one Raft member (etcd raft's <c>Config</c>, raft/raft.go). Times are in ticks: the member decides how
/// long a tick is (etcd's --heartbeat-interval, 100 ms by default, is one tick; --election-timeout 1000 ms is 10).
/// </summary>
public sealed record RaftConfig
{
    /// <summary>This member's id; must not be 0 (0 means "none" in Raft messages).</summary>
    public required ulong Id { get; init; }

    /// <summary>
    /// Ticks a follower waits without hearing from a leader before it campaigns; the actual timeout is randomized in
    /// [ElectionTick, 2 * ElectionTick). Must be greater than <see cref="HeartbeatTick"/>. Default 10.
    /// </summary>
    public int ElectionTick { get; init; } = 10;

    /// <summary>Ticks between the leader's heartbeats. Default 1.</summary>
    public int HeartbeatTick { get; init; } = 1;

    /// <summary>
    /// The last index the application already applied (restart); committed entries up to it are not handed out again.
    /// Default 0.
    /// </summary>
    public ulong Applied { get; init; }

    /// <summary>Maximum size in bytes of the entries in one MsgApp (at least one entry is always sent). Default 1 MiB.</summary>
    public ulong MaxSizePerMsg { get; init; } = 1024 * 1024;

    /// <summary>
    /// Maximum size in bytes of <see cref="Ready.CommittedEntries"/> in one Ready (at least one entry); 0 means
    /// <see cref="MaxSizePerMsg"/>. Default 0.
    /// </summary>
    public ulong MaxCommittedSizePerReady { get; init; }

    /// <summary>
    /// Most bytes of entry payload (<see cref="Raftpb.Entry.Data"/>) the leader holds appended but not yet committed and
    /// applied (etcd raft's <c>MaxUncommittedEntriesSize</c>): a proposal that would go past it is dropped
    /// (<see cref="ProposalDroppedException"/> with <see cref="ProposalDroppedException.UncommittedLimit"/> set), so a
    /// leader that cannot commit (no quorum) stops growing its log in memory. A proposal is always accepted while
    /// nothing is uncommitted, whatever its size; empty entries (the new leader's entry) never count. 0 = no limit.
    /// Default 0.
    /// </summary>
    public ulong MaxUncommittedEntriesSize { get; init; }

    /// <summary>Maximum in-flight MsgApp messages per follower in replicate state. Default 512.</summary>
    public int MaxInflightMsgs { get; init; } = 512;

    /// <summary>Run a pre-vote round (Raft thesis §9.6) before raising the term in an election. Default false.</summary>
    public bool PreVote { get; init; }

    /// <summary>
    /// The leader steps down when it has not heard from a quorum within an election timeout, and members ignore vote
    /// requests while they hear from a leader (leader lease). Default false.
    /// </summary>
    public bool CheckQuorum { get; init; }

    /// <summary>
    /// Seed of the randomized election timeout; the member's <see cref="Id"/> is mixed in so members with the same
    /// seed still draw different timeouts. Default 0.
    /// </summary>
    public int Seed { get; init; }

    /// <summary>
    /// Voter ids of a brand-new cluster, used only when the storage holds no configuration (empty ConfState);
    /// ignored on restart. Default empty.
    /// </summary>
    public IReadOnlyList<ulong> Peers { get; init; } = [];

    /// <summary>Learner ids of a brand-new cluster, used like <see cref="Peers"/>. Default empty.</summary>
    public IReadOnlyList<ulong> Learners { get; init; } = [];

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">Id is 0, a tick count is not positive, ElectionTick &lt;= HeartbeatTick, or
    /// MaxInflightMsgs is not positive.</exception>
    public void Validate()
    {
        if (Id == 0)
        {
            throw new ArgumentException("cannot use none as id", nameof(Id));
        }

        if (HeartbeatTick <= 0)
        {
            throw new ArgumentException("heartbeat tick must be greater than 0", nameof(HeartbeatTick));
        }

        if (ElectionTick <= HeartbeatTick)
        {
            throw new ArgumentException("election tick must be greater than heartbeat tick", nameof(ElectionTick));
        }

        if (MaxInflightMsgs <= 0)
        {
            throw new ArgumentException("max inflight messages must be greater than 0", nameof(MaxInflightMsgs));
        }
    }
}
