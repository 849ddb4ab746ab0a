using Akka.Etcd.Actors.Raft;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>
/// Raft's safety properties (Raft paper, figure 3), checked as the simulation runs; a violation throws
/// <see cref="SimulationInvariantException"/> at the step that broke it.
/// <list type="bullet">
/// <item>Election safety: at most one leader per term.</item>
/// <item>Log matching: one entry per (index, term), and the same (index, term) always follows the same previous term —
/// by induction two logs agreeing on an (index, term) agree on everything before it.</item>
/// <item>Leader completeness: a leader's log holds every entry known committed when it takes office, and the leader
/// of the highest term holds every entry first seen committed while it leads.</item>
/// <item>State machine safety: every member applies the same entry at each index and reaches the same state.</item>
/// </list>
/// </summary>
internal sealed class RaftInvariants
{
    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];
    private readonly Dictionary<(ulong Index, ulong Term), (ulong PreviousTerm, Entry Entry)> _logEntries = [];
    private readonly Dictionary<ulong, Entry> _committed = [];
    private readonly Dictionary<ulong, ulong> _fingerprints = [];

    public IReadOnlyDictionary<ulong, ulong> LeaderOfTerm => _leaderOfTerm;

    public ulong MaxCommitted { get; private set; }

    /// <summary>A member reported (in a Ready) that it leads <paramref name="term"/>; <paramref name="log"/> holds its persisted log.</summary>
    public void ObserveLeader(ulong id, ulong term, MemoryRaftLogStorage log)
    {
        if (_leaderOfTerm.TryGetValue(term, out var other) && other != id)
        {
            throw new SimulationInvariantException($"election safety: members {other} and {id} both lead term {term}");
        }

        _leaderOfTerm[term] = id;
        for (var index = log.FirstIndex(); index <= MaxCommitted; index++)
        {
            if (_committed.TryGetValue(index, out var entry))
            {
                CheckHolds(id, term, log, entry);
            }
        }
    }

    /// <summary>A member is about to append <paramref name="entries"/> after its log <paramref name="log"/>.</summary>
    public void ObserveAppend(ulong id, IReadOnlyList<Entry> entries, MemoryRaftLogStorage log)
    {
        if (entries.Count == 0)
        {
            return;
        }

        ulong? previousTerm = entries[0].Index >= log.FirstIndex() && entries[0].Index - 1 <= log.LastIndex()
            ? log.Term(entries[0].Index - 1)
            : null;
        foreach (var entry in entries)
        {
            if (previousTerm is { } previous)
            {
                var key = (entry.Index, entry.Term);
                if (_logEntries.TryGetValue(key, out var known))
                {
                    if (known.PreviousTerm != previous || !known.Entry.Equals(entry))
                    {
                        throw new SimulationInvariantException(
                            $"log matching: member {id} appends index {entry.Index} term {entry.Term} after term {previous}, " +
                            $"but another log has it after term {known.PreviousTerm} (same entry: {known.Entry.Equals(entry)})");
                    }
                }
                else
                {
                    _logEntries[key] = (previous, entry.Clone());
                }
            }

            previousTerm = entry.Term;
        }
    }

    /// <summary>
    /// A member applied <paramref name="entry"/>, reaching state <paramref name="fingerprint"/>; <paramref name="leaders"/>
    /// are the members that currently believe they lead, with their term and log.
    /// </summary>
    public void ObserveApply(ulong id, Entry entry, ulong fingerprint, IEnumerable<(ulong Id, ulong Term, MemoryRaftLogStorage Log)> leaders)
    {
        if (_committed.TryGetValue(entry.Index, out var known))
        {
            if (!known.Equals(entry))
            {
                throw new SimulationInvariantException(
                    $"state machine safety: member {id} applied index {entry.Index} term {entry.Term} but term {known.Term} was applied elsewhere");
            }
        }
        else
        {
            _committed[entry.Index] = entry.Clone();
            MaxCommitted = Math.Max(MaxCommitted, entry.Index);

            // The entry was committed by the leader of some term C no higher than the highest term ever led; when that
            // term's leader still leads, it must hold the entry. (A stale leader of a lower term need not: the entry
            // may have been committed after it, in a later term.)
            var highest = _leaderOfTerm.Count == 0 ? 0 : _leaderOfTerm.Keys.Max();
            foreach (var (leader, term, log) in leaders)
            {
                if (term == highest)
                {
                    CheckHolds(leader, term, log, entry);
                }
            }
        }

        ObserveState(id, entry.Index, fingerprint);
    }

    /// <summary>A member's state machine is at <paramref name="index"/> with state <paramref name="fingerprint"/>.</summary>
    public void ObserveState(ulong id, ulong index, ulong fingerprint)
    {
        if (_fingerprints.TryGetValue(index, out var expected))
        {
            if (expected != fingerprint)
            {
                throw new SimulationInvariantException($"state machine safety: member {id} has a different state at applied index {index}");
            }
        }
        else
        {
            _fingerprints[index] = fingerprint;
        }
    }

    private static void CheckHolds(ulong leader, ulong term, MemoryRaftLogStorage log, Entry committed)
    {
        if (committed.Index < log.FirstIndex())
        {
            return; // covered by the leader's snapshot
        }

        if (committed.Index > log.LastIndex() || log.Term(committed.Index) != committed.Term)
        {
            throw new SimulationInvariantException(
                $"leader completeness: leader {leader} of term {term} lacks committed index {committed.Index} term {committed.Term}");
        }
    }
}
