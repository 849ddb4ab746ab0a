namespace Akka.Etcd.Storage.Backend;

/// <summary>
/// One stored key-value version: the row of the <c>kv</c> table keyed by revision (<see cref="Main"/>, <see cref="Sub"/>),
/// like one entry of etcd's "key" bucket. A tombstone row (<see cref="Tombstone"/>) marks a delete and carries only the key.
/// </summary>
/// <param name="Main">Main revision (the store revision of the write), &gt;= 2.</param>
/// <param name="Sub">Sub revision: position of the change inside its revision (0, 1, ... for a txn).</param>
/// <param name="Tombstone">True for a delete marker.</param>
/// <param name="Key">The key bytes.</param>
/// <param name="Value">The value bytes (empty for a tombstone, or when the value was not read).</param>
/// <param name="CreateRevision">Main revision that created the key's generation (0 for a tombstone).</param>
/// <param name="Version">Puts in the key's generation so far, starting at 1 (0 for a tombstone).</param>
/// <param name="Lease">Lease ID attached to the key (0 = none).</param>
public readonly record struct KvRow(
    long Main, int Sub, bool Tombstone, byte[] Key, byte[] Value, long CreateRevision, long Version, long Lease);
