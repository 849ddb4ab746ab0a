namespace Akka.Etcd.Storage.Wal;

/// <summary>
/// A Raft log event saying that a Raft snapshot covers the log up to <paramref name="Index"/> (written at
/// <paramref name="Term"/>): entries at or below it are not needed any more, and replay drops them. The WAL stores it
/// as a <see cref="WalRecordType.SnapshotMarker"/> record (etcd's walpb.Snapshot); the SQL journal stores it as an
/// event like an entry or a HardState.
/// </summary>
/// <param name="Index">Raft index the snapshot covers (inclusive).</param>
/// <param name="Term">Raft term of the entry at <paramref name="Index"/>.</param>
public sealed record SnapshotMarker(ulong Index, ulong Term);
