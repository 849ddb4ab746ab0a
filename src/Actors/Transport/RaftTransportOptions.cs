namespace Akka.Etcd.Actors.Transport;

/// <summary>Settings of an <see cref="IRaftTransport"/>; the defaults follow etcd 3.4's rafthttp where it has one.</summary>
public sealed class RaftTransportOptions
{
    /// <summary>This member's ID; sent as <c>x-server-from</c> and checked against incoming <c>x-raft-to</c>.</summary>
    public ulong LocalId { get; set; }

    /// <summary>The cluster ID; sent as <c>x-etcd-cluster-id</c> and required to match on incoming requests.</summary>
    public ulong ClusterId { get; set; }

    /// <summary>
    /// Messages queued per peer before new ones are dropped (and Unreachable raised); etcd's streamBufSize, 4096.
    /// Must be at least 1.
    /// </summary>
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>Size of the data chunks a snapshot's db file is streamed in, in bytes (default 1 MiB; at least 1).</summary>
    public int SnapshotChunkBytes { get; set; } = 1024 * 1024;

    /// <summary>First wait before reconnecting a failed stream (default 100 ms); doubles on each failure up to <see cref="ReconnectMaxBackoff"/>.</summary>
    public TimeSpan ReconnectMinBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between reconnect attempts (default 1 s).</summary>
    public TimeSpan ReconnectMaxBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long connecting a stream may take, TCP connect and the peer's acknowledgement (etcd's peer DialTimeout, 1 s).</summary>
    public TimeSpan DialTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Idle time before an HTTP/2 ping checks a peer connection, and how long the answer may take: a peer that vanished
    /// without closing its connection is detected within about twice this (default 5 s, etcd's ConnReadTimeout).
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Directory where incoming snapshot db files are written (created if missing); required.</summary>
    public string SnapshotDirectory { get; set; } = string.Empty;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range or the snapshot directory is missing.</summary>
    public void Validate()
    {
        if (LocalId == 0)
            throw new ArgumentException("The local member ID must not be 0.", nameof(LocalId));
        if (QueueCapacity < 1)
            throw new ArgumentException("The per-peer queue capacity must be at least 1.", nameof(QueueCapacity));
        if (SnapshotChunkBytes < 1)
            throw new ArgumentException("The snapshot chunk size must be at least 1 byte.", nameof(SnapshotChunkBytes));
        if (ReconnectMinBackoff <= TimeSpan.Zero || ReconnectMaxBackoff < ReconnectMinBackoff)
            throw new ArgumentException("Reconnect backoff must be positive and min <= max.", nameof(ReconnectMinBackoff));
        if (DialTimeout <= TimeSpan.Zero)
            throw new ArgumentException("The dial timeout must be positive.", nameof(DialTimeout));
        if (KeepAliveInterval <= TimeSpan.Zero)
            throw new ArgumentException("The keep-alive interval must be positive.", nameof(KeepAliveInterval));
        if (string.IsNullOrWhiteSpace(SnapshotDirectory))
            throw new ArgumentException("A snapshot directory is required.", nameof(SnapshotDirectory));
    }
}
