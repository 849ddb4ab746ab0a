using Akka.Etcd.Actors.Metrics;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// What the RaftActor last published about consensus: an immutable snapshot, replaced as a whole after every
/// Ready round (etcd keeps the same figures in atomics read by its API layer).
/// </summary>
/// <param name="Term">Current Raft term.</param>
/// <param name="Leader">Current leader's member ID; 0 when there is none.</param>
/// <param name="CommitIndex">Highest Raft index known committed.</param>
/// <param name="LastIndex">Last index in this member's Raft log.</param>
public sealed record RaftView(ulong Term, ulong Leader, ulong CommitIndex, ulong LastIndex)
{
    /// <summary>Before the RaftActor's first round.</summary>
    public static readonly RaftView Initial = new(0, 0, 0, 0);
}

/// <summary>
/// What the MvccStoreActor last published about the applied state: an immutable snapshot, replaced after every apply
/// batch, backend commit (every 100 ms) and backend install.
/// </summary>
/// <param name="AppliedIndex">Highest Raft index applied to the MVCC store.</param>
/// <param name="Revision">The store's current revision.</param>
/// <param name="DbSizeBytes">Backend file size in bytes (what <c>--quota-backend-bytes</c> is checked against).</param>
public sealed record StoreView(ulong AppliedIndex, long Revision, long DbSizeBytes)
{
    /// <summary>Before the store published anything.</summary>
    public static readonly StoreView Initial = new(0, 0, 0);
}

/// <summary>
/// The member's read model: the latest <see cref="RaftView"/> and <see cref="StoreView"/>, each published by the one
/// actor that owns those figures (the RaftActor and the MvccStoreActor) and read lock-free by anyone (the gRPC
/// services for response headers and admission checks, /health, Status). No actor reads state of another actor
/// through it except the term and the revision in response headers, which etcd also reads atomically.
/// </summary>
public sealed class ServerStatus
{
    private RaftView _raft = RaftView.Initial;
    private StoreView _store = StoreView.Initial;
    private long _leaderChanges;

    /// <summary>This member's ID.</summary>
    public required ulong MemberId { get; init; }

    /// <summary>The cluster's ID.</summary>
    public required ulong ClusterId { get; init; }

    /// <summary>The latest consensus snapshot.</summary>
    public RaftView Raft => Volatile.Read(ref _raft);

    /// <summary>The latest applied-state snapshot.</summary>
    public StoreView Store => Volatile.Read(ref _store);

    /// <summary>Current Raft term.</summary>
    public ulong Term => Raft.Term;

    /// <summary>Current leader's member ID; 0 when there is none.</summary>
    public ulong Leader => Raft.Leader;

    /// <summary>Times a (new) leader was seen (etcd_server_leader_changes_seen_total).</summary>
    public long LeaderChangesSeen => Volatile.Read(ref _leaderChanges);

    /// <summary>True when a leader is known.</summary>
    public bool HasLeader => Leader != 0;

    /// <summary>True when this member is the leader.</summary>
    public bool IsLeader => Leader == MemberId;

    /// <summary>Highest Raft index known committed.</summary>
    public ulong CommitIndex => Raft.CommitIndex;

    /// <summary>Last index in this member's Raft log.</summary>
    public ulong LastIndex => Raft.LastIndex;

    /// <summary>The MVCC store's current revision.</summary>
    public long Revision => Store.Revision;

    /// <summary>Backend file size in bytes.</summary>
    public long DbSizeBytes => Store.DbSizeBytes;

    /// <summary>Highest Raft index applied to the MVCC store.</summary>
    public ulong AppliedIndex => Store.AppliedIndex;

    /// <summary>
    /// Publishes a new consensus snapshot. Called by the RaftActor only. Also sets etcd's leader and commit metrics
    /// (<see cref="EtcdMetrics.HasLeader"/>, <see cref="EtcdMetrics.IsLeader"/>, <see cref="EtcdMetrics.LeaderChangesSeen"/>,
    /// <see cref="EtcdMetrics.ProposalsCommitted"/>), as etcd sets them where it learns the figures.
    /// </summary>
    public void Publish(RaftView view)
    {
        var old = Interlocked.Exchange(ref _raft, view);
        if (old.Leader != view.Leader && view.Leader != 0)
        {
            Interlocked.Increment(ref _leaderChanges);
            EtcdMetrics.LeaderChangesSeen.Inc();
        }
        EtcdMetrics.HasLeader.Set(view.Leader != 0 ? 1 : 0);
        EtcdMetrics.IsLeader.Set(view.Leader != 0 && view.Leader == MemberId ? 1 : 0);
        EtcdMetrics.ProposalsCommitted.Set(view.CommitIndex);
    }

    /// <summary>
    /// Publishes a new applied-state snapshot. Called by the MvccStoreActor only. Also sets
    /// <see cref="EtcdMetrics.ProposalsApplied"/>, the db size gauges and <see cref="EtcdMetrics.CurrentRevision"/>.
    /// </summary>
    public void Publish(StoreView view)
    {
        Volatile.Write(ref _store, view);
        EtcdMetrics.ProposalsApplied.Set(view.AppliedIndex);
        EtcdMetrics.DbTotalSize.Set(view.DbSizeBytes);
        EtcdMetrics.DebuggingDbTotalSize.Set(view.DbSizeBytes);
        EtcdMetrics.CurrentRevision.Set(view.Revision);
    }
}
