using Raftpb;

namespace Akka.Etcd.Actors.Transport;

/// <summary>
/// Carries Raft messages between the members of one cluster, after etcd 3.4's <c>etcdserver/api/rafthttp</c>
/// Transporter: one long-lived ordered stream per peer for small messages (appends, heartbeats, votes, read index),
/// a separate chunked pipeline for MsgSnap and its backend db file, and status notifications the owner (the RaftActor)
/// feeds back into <c>RawNode.ReportUnreachable</c> / <c>ReportSnapshot</c>. The wire format is our own (only our
/// members talk to each other), not etcd's.
/// </summary>
/// <remarks>
/// Threading: every member is safe to call from any thread. <see cref="Send"/> never blocks and never throws; messages
/// to one peer are delivered in the order sent (per peer FIFO), with no ordering between peers. The events and
/// callbacks run on transport threads (one at a time per incoming stream, several streams at once): keep them short
/// and thread-safe, e.g. <c>RaftActor.Tell</c>. Subscribe and set the callbacks before <see cref="Start"/>.
/// </remarks>
public interface IRaftTransport : IAsyncDisposable
{
    /// <summary>This member's ID (the <c>From</c> of every message sent).</summary>
    ulong LocalId { get; }

    /// <summary>
    /// A message a peer sent to this member (any type but MsgSnap, which arrives through <see cref="SnapshotReceived"/>);
    /// the owner Steps it. Messages of one peer arrive in order, on one thread at a time.
    /// </summary>
    event Action<Message>? Received;

    /// <summary>
    /// A message to the peer with this ID was dropped (its queue was full, or its stream is down or failed): the owner
    /// calls <c>RawNode.ReportUnreachable(id)</c>. Raised repeatedly while a peer stays down.
    /// </summary>
    event Action<ulong>? Unreachable;

    /// <summary>
    /// The outcome of sending a MsgSnap to the peer with this ID: true once the peer installed it, false when the send
    /// or the peer's install failed (the owner calls <c>RawNode.ReportSnapshot(id, ok)</c>).
    /// </summary>
    event Action<ulong, bool>? SnapshotStatus;

    /// <summary>
    /// The peer with this ID rejected our stream because this member has been removed from the cluster (etcd:
    /// "the member has been permanently removed from the cluster"); the owner should stop the member.
    /// </summary>
    event Action<ulong>? RemovedFromCluster;

    /// <summary>
    /// Opens the backend db file that goes with an outgoing MsgSnap (a consistent copy of the SQLite db, e.g. made
    /// with <c>MvccStore.BackupTo</c>). Called on a transport thread once per MsgSnap; the transport disposes the stream.
    /// A null callback or one that throws makes the send fail (SnapshotStatus false).
    /// </summary>
    Func<Message, Stream>? OpenSnapshot { get; set; }

    /// <summary>
    /// Installs an incoming snapshot: the MsgSnap message and the path of its backend db file, complete and fsynced
    /// in <see cref="RaftTransportOptions.SnapshotDirectory"/>. The owner installs the db (the file is then its own:
    /// move or delete it) and Steps the message. The sender hears of success only after the task completes; if it
    /// fails, the transport deletes the file and the sender reports SnapshotStatus false. Null rejects snapshots.
    /// </summary>
    Func<Message, string, Task>? SnapshotReceived { get; set; }

    /// <summary>
    /// True for IDs of members removed from the cluster: their streams and snapshots are rejected and they learn they
    /// were removed (etcd's <c>IsIDRemoved</c>). Null treats no one as removed.
    /// </summary>
    Func<ulong, bool>? IsMemberRemoved { get; set; }

    /// <summary>Starts connecting to the peers added so far (and to later ones as they are added) and accepting incoming streams. Idempotent.</summary>
    void Start();

    /// <summary>
    /// Stops: closes all outgoing streams (queued messages are dropped), cancels snapshot sends in flight (each
    /// reports SnapshotStatus false), ends incoming streams, and waits for its tasks. No event is raised after it
    /// completes. Idempotent; <see cref="IAsyncDisposable.DisposeAsync"/> does the same.
    /// </summary>
    Task StopAsync();

    /// <summary>
    /// Queues messages for their <c>To</c> peers and returns at once; never blocks, never throws. MsgSnap goes through
    /// the snapshot pipeline. Messages to unknown peers (or with <c>To == 0</c>) are ignored; when a peer's queue is
    /// full the message is dropped and <see cref="Unreachable"/> raised (a MsgSnap dropped that way also reports
    /// SnapshotStatus false). The messages are serialized later on transport threads: do not change them after the call.
    /// </summary>
    void Send(IReadOnlyList<Message> messages);

    /// <summary>Adds a peer reachable at <paramref name="peerUrls"/> (e.g. <c>http://10.0.0.2:2380</c>); a no-op if it is known or is this member.</summary>
    void AddPeer(ulong id, IReadOnlyList<string> peerUrls);

    /// <summary>Forgets a peer: closes its stream, drops its queue. Messages to it are then ignored. A no-op for unknown IDs.</summary>
    void RemovePeer(ulong id);

    /// <summary>Replaces a peer's URLs (member update); its stream reconnects to the new URLs. A no-op for unknown IDs.</summary>
    void UpdatePeer(ulong id, IReadOnlyList<string> peerUrls);

    /// <summary>Whether the peer is known (added and not removed).</summary>
    bool HasPeer(ulong id);

    /// <summary>IDs of the peers whose outgoing stream is connected now (etcd's <c>ActivePeers</c>, for "not enough started members" checks).</summary>
    IReadOnlyList<ulong> ActivePeers { get; }

    /// <summary>Whether the outgoing stream to the peer is connected.</summary>
    bool IsActive(ulong id);

    /// <summary>When the current outgoing stream to the peer connected (UTC); null while it is down or the peer is unknown (etcd's <c>ActiveSince</c>).</summary>
    DateTime? ActiveSince(ulong id);
}
