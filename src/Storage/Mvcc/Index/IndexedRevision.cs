namespace Akka.Etcd.Storage.Mvcc.Index;

/// <summary>
/// A revision (main, sub) as kept in the in-memory key index, with the tombstone mark of etcd's backend key.
/// 16 bytes: main (8) + sub (4) + flag.
/// </summary>
internal readonly struct IndexedRevision(long main, int sub, bool tombstone)
{
    /// <summary>Main revision: the store revision of the write.</summary>
    public readonly long Main = main;

    /// <summary>Sub revision: the change's position inside its revision.</summary>
    public readonly int Sub = sub;

    /// <summary>True when this revision deleted the key (ends a generation).</summary>
    public readonly bool Tombstone = tombstone;

    /// <summary>True when (Main, Sub) equals (<paramref name="main"/>, <paramref name="sub"/>).</summary>
    public bool Is(long main, int sub) => Main == main && Sub == sub;

    /// <inheritdoc />
    public override string ToString() => Tombstone ? $"{Main}.{Sub}t" : $"{Main}.{Sub}";
}
