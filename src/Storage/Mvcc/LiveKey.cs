using Akka.Etcd.Storage.Mvcc.Index;

namespace Akka.Etcd.Storage.Mvcc;

/// <summary>
/// A key that exists at the store's latest revision, as the in-memory key index knows it: its revisions and version
/// without reading the stored row (<see cref="MvccTxn.Read"/> reads value and lease). Valid until the next write to the
/// key; use it on the store's thread only.
/// </summary>
public readonly struct LiveKey
{
    internal LiveKey(KeyEntry entry) => Entry = entry;

    internal KeyEntry Entry { get; }

    /// <summary>The key's bytes (the index's copy: do not modify).</summary>
    public ReadOnlySpan<byte> Key => Entry.Key;

    /// <summary>Revision of the put that created the key's current generation.</summary>
    public long CreateRevision => Entry.CreatedMain;

    /// <summary>Revision of the key's last put.</summary>
    public long ModRevision => Entry.Newest.Main;

    /// <summary>Puts since the key was created (1 for a new key).</summary>
    public long Version => Entry.Version;
}
