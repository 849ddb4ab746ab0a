namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// Settings of the peer transport over Akka.Remote (<see cref="PeerActor"/>); the defaults follow etcd 3.4's rafthttp
/// where it has one. Sizes in bytes, times as <see cref="TimeSpan"/>.
/// </summary>
public sealed record RaftTransportOptions
{
    /// <summary>
    /// Raft messages queued per peer before new ones are dropped (and Unreachable raised); etcd's streamBufSize, 4096.
    /// Must be at least 1.
    /// </summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>
    /// Most payload bytes of Raft messages in one remote message (a <c>RaftBatch</c>); a single larger message travels
    /// alone. Must stay under Akka.Remote's <c>maximum-frame-size</c> (default 1 MiB).
    /// </summary>
    public int MaxBatchBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Batches sent to one peer and not yet acknowledged before further Raft messages to it are dropped (and
    /// Unreachable raised): the bound on what one slow or paused peer can hold in memory (default 64).
    /// </summary>
    public int WindowBatches { get; init; } = 64;

    /// <summary>
    /// How long the oldest unacknowledged batch may wait for its acknowledgement before the window is reset (the
    /// batches are taken as lost; Raft resends) and the peer reported unreachable (default 5 s).
    /// </summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an idle link sends an empty batch so each side knows the other is there (default 1 s).</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A peer nothing was heard from for this long is inactive (etcd's ConnReadTimeout, 5 s): it leaves
    /// <c>ActivePeers</c>, and becomes active again with its next message.
    /// </summary>
    public TimeSpan InactiveAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The transport's clock and housekeeping period: lazy acknowledgements, pings, timeouts (default 100 ms).</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a request to another member (<see cref="PeerProtocol.AskPeer"/>) may wait for its answer by default (5 s).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Size of the chunks a snapshot's db file is sent in, in bytes (default 512 KiB, under the frame limit; at least 1).</summary>
    public int SnapshotChunkBytes { get; init; } = 512 * 1024;

    /// <summary>Chunks of one snapshot in flight before the sender waits for the receiver's acknowledgement (default 8).</summary>
    public int SnapshotWindowChunks { get; init; } = 8;

    /// <summary>
    /// How long a snapshot transfer may go without progress (an acknowledgement on the sender, a chunk on the receiver)
    /// before it is abandoned (default 30 s).
    /// </summary>
    public TimeSpan SnapshotStallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The largest backend db a snapshot may carry, in bytes: the sender refuses to send a larger one and the receiver
    /// to accept it (default 8 GiB, etcd's largest recommended <c>--quota-backend-bytes</c>).
    /// </summary>
    public long MaxSnapshotBytes { get; init; } = 8L * 1024 * 1024 * 1024;

    /// <summary>Directory where incoming snapshot db files are written (created if missing); required.</summary>
    public string SnapshotDirectory { get; init; } = string.Empty;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range or the snapshot directory is missing.</summary>
    public void Validate()
    {
        if (QueueCapacity < 1)
            throw new ArgumentException("The per-peer queue capacity must be at least 1.", nameof(QueueCapacity));
        if (MaxBatchBytes < 1 || WindowBatches < 1)
            throw new ArgumentException("The batch size and window must be at least 1.", nameof(MaxBatchBytes));
        if (SnapshotChunkBytes < 1 || SnapshotWindowChunks < 1 || MaxSnapshotBytes < 1)
            throw new ArgumentException("The snapshot chunk size, window and size cap must be at least 1.", nameof(SnapshotChunkBytes));
        if (AckTimeout <= TimeSpan.Zero || PingInterval <= TimeSpan.Zero || InactiveAfter <= TimeSpan.Zero
            || TickInterval <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero || SnapshotStallTimeout <= TimeSpan.Zero)
            throw new ArgumentException("Transport timings must be positive.", nameof(AckTimeout));
        if (string.IsNullOrWhiteSpace(SnapshotDirectory))
            throw new ArgumentException("A snapshot directory is required.", nameof(SnapshotDirectory));
    }
}
