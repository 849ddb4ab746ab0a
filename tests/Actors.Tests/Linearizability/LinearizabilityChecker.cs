using System.Text;

namespace Akka.Etcd.Actors.Tests.Linearizability;

/// <summary>The verdict of <see cref="LinearizabilityChecker.Check"/>.</summary>
public enum LinearizabilityVerdict
{
    /// <summary>Every key's history has a linearization.</summary>
    Linearizable,

    /// <summary>Some key's history has none.</summary>
    NotLinearizable,

    /// <summary>The search ran out of its step budget before deciding (treat as a failure to investigate).</summary>
    Undecided,
}

/// <summary>The verdict and, when it is not <see cref="LinearizabilityVerdict.Linearizable"/>, what went wrong.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="Key">The key whose history failed, else null.</param>
/// <param name="Explanation">The failed key's operations and the longest linearized prefix found, else empty.</param>
/// <param name="Steps">Search steps taken over all keys.</param>
public sealed record LinearizabilityResult(LinearizabilityVerdict Verdict, string? Key, string Explanation, long Steps);

/// <summary>
/// Checks a key-value history for linearizability, Wing &amp; Gong's search with Lowe's memoization as Porcupine does
/// it (Lowe, "Testing for linearizability", 2017; Porcupine's <c>checkSingle</c>): the history is partitioned by key,
/// then a depth-first search linearizes pending calls one by one, backtracking at a response whose call was not
/// linearized yet, and caching the (set of linearized operations, state) configurations already explored.
/// <para>
/// Partitioning by key is sound here because linearizability is local (Herlihy &amp; Wing: a history is linearizable
/// iff each object's subhistory is) and every operation of this model touches exactly one key: Get, Put, Delete and a
/// compare-and-set on one key. Operations that touch several keys at once (a txn over several keys, a range read of a
/// prefix, a lease revoke deleting every key of the lease) would need their keys checked as one object; the callers
/// give this checker only one-key operations, and project a lease revoke on each of its keys (so the revoke's
/// atomicity across keys is not checked).
/// </para>
/// <para>
/// <see cref="KvOutcome.Unknown"/> operations never respond (pending forever); unknown Gets are dropped as they
/// constrain nothing. Two prunings keep histories with many unknown operations tractable, both sound because an
/// unknown operation is never required to take effect (it may always be linearized after everything else): the search
/// ends once every operation with a known outcome is linearized, and it never linearizes an unknown operation that
/// would leave the state unchanged (the configuration that leaves it pending has the same state and strictly more
/// choices left, so it covers every linearization the other one has). Pure and thread-safe.
/// </para>
/// </summary>
public static class LinearizabilityChecker
{
    /// <summary>Default budget of search steps over the whole history.</summary>
    public const long DefaultMaxSteps = 20_000_000;

    /// <summary>Checks <paramref name="history"/>; the first failing key (in ordinal key order) is reported.</summary>
    /// <param name="history">The operations, in any order; ids must be unique.</param>
    /// <param name="maxSteps">Budget of search steps; when exceeded the verdict is <see cref="LinearizabilityVerdict.Undecided"/>.</param>
    public static LinearizabilityResult Check(IReadOnlyList<KvOperation> history, long maxSteps = DefaultMaxSteps)
    {
        ArgumentNullException.ThrowIfNull(history);
        var byKey = history
            .Where(op => !(op.Outcome == KvOutcome.Unknown && op.Kind == KvOperationKind.Get))
            .GroupBy(op => op.Key, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        long steps = 0;
        foreach (var partition in byKey)
        {
            var ops = partition.ToList();
            var (verdict, longest) = CheckPartition(ops, maxSteps - steps, ref steps);
            if (verdict != LinearizabilityVerdict.Linearizable)
            {
                return new LinearizabilityResult(verdict, partition.Key, Explain(partition.Key, ops, longest), steps);
            }
        }

        return new LinearizabilityResult(LinearizabilityVerdict.Linearizable, null, string.Empty, steps);
    }

    private static (LinearizabilityVerdict Verdict, Bitset Longest) CheckPartition(List<KvOperation> ops, long budget, ref long steps)
    {
        var head = BuildEventList(ops);
        var linearized = new Bitset(ops.Count);
        var cache = new HashSet<(Bitset Linearized, string? State)>();
        var calls = new Stack<(Event Call, string? StateBefore)>();
        var longest = linearized;
        var longestCount = 0;
        string? state = null;
        var entry = head.Next;
        var pendingKnown = ops.Count(o => o.Outcome == KvOutcome.Ok);
        long taken = 0;

        // Unknown operations respond after everything (BuildEventList), so while a known operation is pending the scan
        // meets its response before the end of the list.
        while (pendingKnown > 0)
        {
            if (++taken > budget)
            {
                steps += taken;
                return (LinearizabilityVerdict.Undecided, longest);
            }

            if (entry!.IsCall)
            {
                var known = entry.Operation.Outcome == KvOutcome.Ok;
                if (KvModel.Step(state, entry.Operation, out var next) && (known || !string.Equals(next, state, StringComparison.Ordinal)))
                {
                    var candidate = linearized.With(entry.Index);
                    if (cache.Add((candidate, next)))
                    {
                        calls.Push((entry, state));
                        state = next;
                        linearized = candidate;
                        entry.Lift();
                        if (known)
                        {
                            pendingKnown--;
                        }

                        if (calls.Count > longestCount)
                        {
                            longestCount = calls.Count;
                            longest = linearized;
                        }

                        entry = head.Next;
                        continue;
                    }
                }

                entry = entry.Next;
            }
            else
            {
                // A response whose call is not linearized yet: undo the last choice.
                if (calls.Count == 0)
                {
                    steps += taken;
                    return (LinearizabilityVerdict.NotLinearizable, longest);
                }

                var (call, before) = calls.Pop();
                state = before;
                linearized = linearized.Without(call.Index);
                call.Unlift();
                if (call.Operation.Outcome == KvOutcome.Ok)
                {
                    pendingKnown++;
                }

                entry = call.Next;
            }
        }

        steps += taken;
        return (LinearizabilityVerdict.Linearizable, longest);
    }

    private static Event BuildEventList(List<KvOperation> ops)
    {
        var events = new List<(long Time, int Order, Event Event)>(ops.Count * 2);
        for (var i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            var call = new Event(op, i, isCall: true);
            var response = new Event(op, i, isCall: false);
            call.Match = response;
            events.Add((op.Invoke, 0, call));

            // Unknown operations never respond: their response sorts after everything.
            events.Add((op.Outcome == KvOutcome.Unknown ? long.MaxValue : op.Response, 1, response));
        }

        // At equal instants calls come first: touching operations count as concurrent.
        events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Order != b.Order ? a.Order.CompareTo(b.Order) : a.Event.Index.CompareTo(b.Event.Index));
        var head = new Event(null!, -1, isCall: false);
        var last = head;
        foreach (var (_, _, e) in events)
        {
            last.Next = e;
            e.Previous = last;
            last = e;
        }

        return head;
    }

    private static string Explain(string key, List<KvOperation> ops, Bitset longest)
    {
        var text = new StringBuilder();
        var linearized = ops.Where((_, i) => longest.Contains(i)).OrderBy(o => o.Invoke).ToList();
        text.AppendLine($"key {key}: {ops.Count} operations, no linearization; the longest linearizable prefix has {linearized.Count}, its last by invocation:");
        foreach (var op in linearized.TakeLast(12))
        {
            text.AppendLine("  " + op);
        }

        text.AppendLine("operations not linearized there, by invocation:");
        foreach (var op in ops.Where((_, i) => !longest.Contains(i)).OrderBy(o => o.Invoke).Take(30))
        {
            text.AppendLine("  " + op);
        }

        return text.ToString();
    }

    /// <summary>A call or response in the doubly linked event list; lifting a call unlinks it and its response.</summary>
    private sealed class Event(KvOperation operation, int index, bool isCall)
    {
        public KvOperation Operation { get; } = operation;

        public int Index { get; } = index;

        public bool IsCall { get; } = isCall;

        public Event? Match { get; set; }

        public Event? Previous { get; set; }

        public Event? Next { get; set; }

        public void Lift()
        {
            Unlink(this);
            Unlink(Match!);
        }

        public void Unlift()
        {
            Relink(Match!);
            Relink(this);
        }

        private static void Unlink(Event e)
        {
            e.Previous!.Next = e.Next;
            if (e.Next is not null)
            {
                e.Next.Previous = e.Previous;
            }
        }

        private static void Relink(Event e)
        {
            e.Previous!.Next = e;
            if (e.Next is not null)
            {
                e.Next.Previous = e;
            }
        }
    }

    /// <summary>An immutable set of operation indexes with value equality, the memoization key.</summary>
    private sealed class Bitset : IEquatable<Bitset>
    {
        private readonly ulong[] _words;
        private readonly int _hash;

        public Bitset(int size)
            : this(new ulong[(size + 63) / 64])
        {
        }

        private Bitset(ulong[] words)
        {
            _words = words;
            var hash = new HashCode();
            foreach (var w in words)
            {
                hash.Add(w);
            }

            _hash = hash.ToHashCode();
        }

        public bool Contains(int index) => (_words[index / 64] & (1UL << (index % 64))) != 0;

        public Bitset With(int index)
        {
            var words = (ulong[])_words.Clone();
            words[index / 64] |= 1UL << (index % 64);
            return new Bitset(words);
        }

        public Bitset Without(int index)
        {
            var words = (ulong[])_words.Clone();
            words[index / 64] &= ~(1UL << (index % 64));
            return new Bitset(words);
        }

        public bool Equals(Bitset? other) => other is not null && _hash == other._hash && _words.AsSpan().SequenceEqual(other._words);

        public override bool Equals(object? obj) => Equals(obj as Bitset);

        public override int GetHashCode() => _hash;
    }
}
