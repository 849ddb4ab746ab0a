using Google.Protobuf;

namespace Akka.Etcd.Actors.Raft;

/// <summary>The role of a Raft member (etcd raft's <c>StateType</c>).</summary>
public enum RaftState
{
    /// <summary>Follows a leader (or waits for one).</summary>
    Follower,

    /// <summary>Asks for votes at a raised term.</summary>
    Candidate,

    /// <summary>Leads the term: accepts proposals and replicates the log.</summary>
    Leader,

    /// <summary>Runs a pre-vote round without raising its term.</summary>
    PreCandidate,
}

/// <summary>Volatile state that need not be persisted: the known leader (0 = none) and this member's role.</summary>
/// <param name="Lead">The leader's id, 0 when unknown.</param>
/// <param name="State">This member's role.</param>
public readonly record struct SoftState(ulong Lead, RaftState State);

/// <summary>
/// The answer to a <see cref="RawNode.ReadIndex"/> request: once the application has applied up to
/// <paramref name="Index"/>, a linearizable read issued before the request may be served.
/// </summary>
/// <param name="Index">The commit index at the time the leadership was confirmed.</param>
/// <param name="RequestCtx">The context given to <see cref="RawNode.ReadIndex"/>, to match the request.</param>
public sealed record ReadState(ulong Index, ByteString RequestCtx);

/// <summary>
/// Thrown when a proposal cannot be accepted: no leader is known, or a leadership transfer is in progress
/// (etcd raft's <c>ErrProposalDropped</c>). The caller may retry later.
/// </summary>
public sealed class ProposalDroppedException : Exception
{
    /// <summary>Creates the exception with etcd's message "raft proposal dropped".</summary>
    public ProposalDroppedException()
        : base("raft proposal dropped")
    {
    }

    /// <summary>Creates the exception; <paramref name="uncommittedLimit"/> tells why.</summary>
    /// <param name="uncommittedLimit">True when the leader dropped it for <see cref="RaftConfig.MaxUncommittedEntriesSize"/>.</param>
    public ProposalDroppedException(bool uncommittedLimit)
        : this() => UncommittedLimit = uncommittedLimit;

    /// <summary>
    /// True when the proposal was dropped because the leader's uncommitted entries would exceed
    /// <see cref="RaftConfig.MaxUncommittedEntriesSize"/> (a load condition: the member answers "too many requests");
    /// false for no leader or a leadership transfer.
    /// </summary>
    public bool UncommittedLimit { get; }
}
