using Akka.Etcd.Actors.Tests.Linearizability;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>Plants the faults the checker must catch into a real run's history.</summary>
internal static class NegativeControls
{
    /// <summary>
    /// A stale read: a Get that began after a put P2 of its key was acknowledged reports the value of an earlier put P1
    /// (acknowledged before P2 began), as a deposed leader answering from its own state would. Null when the history
    /// has no such triple.
    /// </summary>
    public static List<KvOperation>? PlantStaleRead(IReadOnlyList<KvOperation> history)
    {
        var puts = history.Where(o => o.Kind == KvOperationKind.Put && o.Outcome == KvOutcome.Ok && o.Lease == 0).ToList();
        foreach (var get in history.Where(o => o.Kind == KvOperationKind.Get && o.Outcome == KvOutcome.Ok))
        {
            foreach (var p2 in puts.Where(p => p.Key == get.Key && p.Response < get.Invoke))
            {
                if (puts.FirstOrDefault(p1 => p1.Key == get.Key && p1.Response < p2.Invoke) is { } p1)
                {
                    return history.Select(o => o.Id == get.Id ? o with { Result = p1.Value } : o).ToList();
                }
            }
        }
        return null;
    }

    /// <summary>
    /// A lost acknowledged write: after the run (every operation over), a read of the key of the last acknowledged put
    /// finds the value the key had before that put, as a cluster that lost the put's entry in a crash would answer.
    /// Null when the history has no acknowledged put preceded by another acknowledged write.
    /// </summary>
    public static List<KvOperation>? PlantLostWrite(IReadOnlyList<KvOperation> history)
    {
        var acknowledged = history.Where(o => o.Kind == KvOperationKind.Put && o.Outcome == KvOutcome.Ok && o.Lease == 0).OrderBy(o => o.Response).ToList();
        var end = history.Max(o => Math.Max(o.Invoke, o.Response));
        foreach (var lost in Enumerable.Reverse(acknowledged))
        {
            if (acknowledged.LastOrDefault(p => p.Key == lost.Key && p.Response < lost.Invoke) is { } before)
            {
                var read = KvOperation.Get(history.Max(o => o.Id) + 1, 99, lost.Key, before.Value, end + 10, end + 11);
                return history.Append(read).ToList();
            }
        }
        return null;
    }
}
