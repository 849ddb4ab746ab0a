using Raftpb;

namespace Akka.Etcd.Actors.Raft;

/// <summary>Size accounting of log entries in protobuf bytes, like etcd raft's <c>limitSize</c> (raft/util.go).</summary>
internal static class EntrySizes
{
    /// <summary>No limit on a batch size.</summary>
    public const ulong NoLimit = ulong.MaxValue;

    /// <summary>
    /// The longest prefix of <paramref name="entries"/> whose total encoded size is at most <paramref name="maxSize"/>
    /// bytes; always at least the first entry.
    /// </summary>
    public static IReadOnlyList<Entry> Limit(IReadOnlyList<Entry> entries, ulong maxSize)
    {
        if (entries.Count == 0 || maxSize == NoLimit)
        {
            return entries;
        }

        var size = (ulong)entries[0].CalculateSize();
        var limit = 1;
        for (; limit < entries.Count; limit++)
        {
            size += (ulong)entries[limit].CalculateSize();
            if (size > maxSize)
            {
                break;
            }
        }

        if (limit == entries.Count)
        {
            return entries;
        }

        var result = new Entry[limit];
        for (var i = 0; i < limit; i++)
        {
            result[i] = entries[i];
        }

        return result;
    }
}
