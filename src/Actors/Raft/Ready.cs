using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>
/// Work the application must do, handed out by <see cref="RawNode.GetReady"/> and acknowledged by
/// <see cref="RawNode.Advance"/> (etcd raft's <c>Ready</c>, raft/node.go). Order: persist <see cref="HardState"/>,
/// <see cref="Entries"/> and <see cref="Snapshot"/> (fsync when <see cref="MustSync"/>), then send
/// <see cref="Messages"/>, then apply <see cref="Snapshot"/> and <see cref="CommittedEntries"/>, then Advance.
/// </summary>
public sealed class Ready
{
    /// <summary>The new leader/role when it changed since the previous Ready, else null.</summary>
    public SoftState? SoftState { get; init; }

    /// <summary>The term/vote/commit to persist when it changed since the previous Ready, else null.</summary>
    public HardState? HardState { get; init; }

    /// <summary>Answers to ReadIndex requests, in request order.</summary>
    public IReadOnlyList<ReadState> ReadStates { get; init; } = [];

    /// <summary>Entries to append to stable storage BEFORE <see cref="Messages"/> are sent.</summary>
    public IReadOnlyList<Entry> Entries { get; init; } = [];

    /// <summary>A snapshot received from the leader, to persist and apply, else null.</summary>
    public Snapshot? Snapshot { get; init; }

    /// <summary>Committed entries to apply to the state machine (already persisted, or in <see cref="Entries"/>).</summary>
    public IReadOnlyList<Entry> CommittedEntries { get; init; } = [];

    /// <summary>
    /// Messages to send to other members, after the entries are persisted; a leader may send its MsgApp, MsgHeartbeat
    /// and MsgSnap before (Raft thesis 10.2.1) provided it steps no response before its own write is durable.
    /// </summary>
    public IReadOnlyList<Message> Messages { get; init; } = [];

    /// <summary>Whether the HardState and entries must be synced to disk (term, vote or entries changed).</summary>
    public bool MustSync { get; init; }
}
