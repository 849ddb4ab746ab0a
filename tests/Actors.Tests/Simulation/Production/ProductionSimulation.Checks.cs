using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Tests.Linearizability;
using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Simulation.Production;

/// <summary>A client's watch of the key prefix: where it is, and every event it received in order.</summary>
internal sealed class WatcherState(int index)
{
    public int Index { get; } = index;

    public SimulatedMember? Member { get; set; }

    public int MemberTag { get; set; }

    public WatchStream? Stream { get; set; }

    public bool Opening { get; set; }

    /// <summary>The revision the watcher asks for when it (re)watches: one past the last event it got.</summary>
    public long NextRevision { get; set; } = 1;

    public List<WatchedEvent> Events { get; } = new();

    public int Reopens { get; set; }
}

internal sealed partial class ProductionSimulation
{
    private const int WatchPollMs = 10;

    /// <summary>Reads what the watcher's stream holds; re-watches on a live member when its member died or its watch ended.</summary>
    private void PollWatcher(WatcherState watcher)
    {
        if (watcher.Stream is { } stream && watcher.Member is { } member && member.IsUp && member.Tag == watcher.MemberTag)
        {
            while (stream.Outbox.TryRead(out var response))
            {
                foreach (var e in response.Events)
                {
                    var watched = ToWatched(e);
                    watcher.Events.Add(watched);
                    watcher.NextRevision = watched.Revision + 1;
                }
                if (response.Canceled)
                {
                    Trace($"watcher {watcher.Index} canceled on m{member.Index}: {response.CancelReason}");
                    watcher.Stream = null;
                }
            }
        }
        else if (!watcher.Opening)
        {
            Open(watcher);
        }
        if (!_clientsStopped || watcher.Stream is not null)
        {
            _loop.At(TimeSpan.FromMilliseconds(WatchPollMs), 0, () => PollWatcher(watcher));
        }
    }

    private void Open(WatcherState watcher)
    {
        var member = RandomUpMember();
        if (member is null)
        {
            return;
        }
        watcher.Stream = null;
        watcher.Opening = true;
        watcher.Member = member;
        watcher.MemberTag = member.Tag;
        watcher.Reopens++;
        var from = watcher.NextRevision;
        Send(member, member.Refs!.WatchStreams, WatcherProtocol.OpenStream.Instance, answer =>
        {
            watcher.Opening = false;
            if (answer is not WatchStream stream || member.Tag != watcher.MemberTag || !member.IsUp)
            {
                return;
            }
            watcher.Stream = stream;
            var request = new WatchRequest
            {
                CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8(Prefix), RangeEnd = ByteString.CopyFromUtf8(PrefixEnd), StartRevision = from },
            };
            // A permit is free on a new stream, so this completes at once, on this thread.
            var sent = stream.RequestAsync(request, CancellationToken.None);
            if (!sent.IsCompletedSuccessfully)
            {
                Violation($"watcher {watcher.Index}: the watch request of a new stream waited for a permit");
            }
        });
    }

    private static WatchedEvent ToWatched(Mvccpb.Event e) =>
        new(e.Kv.ModRevision, e.Kv.Key.ToStringUtf8(), e.Type == Mvccpb.Event.Types.EventType.Delete,
            e.Type == Mvccpb.Event.Types.EventType.Delete ? null : e.Kv.Value.ToStringUtf8());

    // ---------------------------------------------------------------- checks

    /// <summary>
    /// Waits (in virtual time) until every member has applied the same index, then compares their keys: the same
    /// key-values with the same revisions everywhere. Returns the final state as text.
    /// </summary>
    private string CheckConvergence()
    {
        var deadline = _loop.Now + TimeSpan.FromSeconds(10);
        while (!_members.All(m => m.IsUp) || _members.Select(m => (m.Opened!.Status.AppliedIndex, m.Opened.Status.Revision)).Distinct().Count() > 1
            || _members.Max(m => m.Opened!.Status.CommitIndex) > _members.Min(m => m.Opened!.Status.AppliedIndex))
        {
            if (_loop.Now >= deadline)
            {
                Violation("the members did not converge on one applied index: " +
                    string.Join(", ", _members.Select(m => $"m{m.Index} up={m.IsUp} applied={m.Opened?.Status.AppliedIndex} commit={m.Opened?.Status.CommitIndex} rev={m.Opened?.Status.Revision}")));
                return "";
            }
            RunUntil(_loop.Now + TimeSpan.FromMilliseconds(50));
        }
        var states = _members.Select(m => (m, Text: LocalRange(m))).ToList();
        foreach (var (m, text) in states.Skip(1))
        {
            if (text != states[0].Text)
            {
                Violation($"m{m.Index} holds other keys than m1 at the same applied index:\n  m1: {states[0].Text}\n  m{m.Index}: {text}");
            }
        }
        return $"applied={_members[0].Opened!.Status.AppliedIndex} {states[0].Text}";
    }

    /// <summary>The member's keys under the prefix, read from its own store (serializable), as text.</summary>
    private string LocalRange(SimulatedMember member)
    {
        RangeResponse? range = null;
        var request = new RangeRequest { Key = ByteString.CopyFromUtf8(Prefix), RangeEnd = ByteString.CopyFromUtf8(PrefixEnd) };
        Send(member, member.Refs!.Store, new StoreProtocol.RunQuery(0, new StoreProtocol.Range(request)), answer => range = answer as RangeResponse);
        _loop.RunReady();
        return range is null
            ? "<no answer>"
            : $"rev={range.Header?.Revision} " + string.Join(' ', range.Kvs.Select(kv => $"{kv.Key.ToStringUtf8()}={kv.Value.ToStringUtf8()}@{kv.ModRevision}/lease={kv.Lease:x}"));
    }

    /// <summary>Every lease has outlived its TTL by now (no keep-alives are sent): no key may still be attached to one.</summary>
    private void CheckLeasesExpired()
    {
        foreach (var member in _members.Where(m => m.IsUp))
        {
            var text = LocalRange(member);
            foreach (var part in text.Split(' ').Where(p => p.Contains("/lease=", StringComparison.Ordinal) && !p.EndsWith("/lease=0", StringComparison.Ordinal)))
            {
                Violation($"m{member.Index}: key {part} outlived its lease's TTL (every lease expired {_options.OperationTimeoutMs + 3_000} ms ago)");
            }
        }
    }

    /// <summary>
    /// The cluster's event history of the prefix, from a watch from revision 1 on member 1 after convergence, and whether
    /// it is complete. Its revisions must run 2, 3, ... up to the store's revision without a hole (every write of the run
    /// is under the prefix).
    /// </summary>
    private (List<WatchedEvent> Events, bool Complete) ReferenceEvents()
    {
        var member = _members[0];
        var target = member.Opened!.Status.Revision;
        var watcher = new WatcherState(-1) { NextRevision = 1 };
        var events = new List<WatchedEvent>();
        Send(member, member.Refs!.WatchStreams, WatcherProtocol.OpenStream.Instance, answer =>
        {
            var stream = (WatchStream)answer;
            watcher.Stream = stream;
            _ = stream.RequestAsync(new WatchRequest
            {
                CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8(Prefix), RangeEnd = ByteString.CopyFromUtf8(PrefixEnd), StartRevision = 1 },
            }, CancellationToken.None);
        });
        var deadline = _loop.Now + TimeSpan.FromSeconds(5);
        while ((events.Count == 0 ? 1 : events[^1].Revision) < target && _loop.Now < deadline)
        {
            RunUntil(_loop.Now + TimeSpan.FromMilliseconds(20));
            while (watcher.Stream is { } stream && stream.Outbox.TryRead(out var response))
            {
                events.AddRange(response.Events.Select(ToWatched));
            }
        }
        watcher.Stream?.Stop();
        var last = 1L;
        var complete = true;
        foreach (var e in events)
        {
            if (e.Revision != last && e.Revision != last + 1)
            {
                Violation($"the cluster's event history skips from revision {last} to {e.Revision}");
                complete = false;
            }
            last = e.Revision;
        }
        if (last < target)
        {
            Violation($"the reference watch ended at revision {last}, the store is at {target}");
            complete = false;
        }
        return (events, complete);
    }

    /// <summary>Each watcher's events must be exactly the reference's from revision 2 on: nothing missing, repeated or reordered.</summary>
    private void CheckWatches(IReadOnlyList<WatchedEvent> reference)
    {
        foreach (var watcher in _watchers)
        {
            if (CheckWatch(watcher.Events, reference) is { } problem)
            {
                Violation($"watcher {watcher.Index} ({watcher.Reopens} watches): {problem}");
            }
        }
    }

    /// <summary>Null when <paramref name="events"/> is a prefix of <paramref name="reference"/>, else what differs first.</summary>
    internal static string? CheckWatch(IReadOnlyList<WatchedEvent> events, IReadOnlyList<WatchedEvent> reference)
    {
        for (var i = 0; i < events.Count; i++)
        {
            if (i >= reference.Count)
            {
                return $"event {i} ({events[i]}) is past the end of the cluster's history (revision {reference.LastOrDefault()?.Revision})";
            }
            if (events[i] != reference[i])
            {
                var seen = i > 0 ? events[i - 1].ToString() : "nothing";
                var kind = events.Take(i).Contains(events[i]) ? "a duplicate"
                    : events.Skip(i + 1).Contains(reference[i]) ? "out of order"
                    : "after a gap";
                return $"event {i} is {events[i]} ({kind}), expected {reference[i]} after {seen}";
            }
        }
        return null;
    }

    /// <summary>
    /// Checks the KV history (<see cref="ReduceUnknownWrites"/> first when the cluster's event history is complete:
    /// every write that took effect is in it).
    /// </summary>
    private void CheckHistory(IReadOnlyList<WatchedEvent> reference, bool referenceComplete)
    {
        var history = referenceComplete ? ReduceUnknownWrites(_history, reference) : _history;
        var projected = ProjectLeases(history, _leases);
        var check = LinearizabilityChecker.Check(projected);
        _checkSteps = check.Steps;
        if (check.Verdict != LinearizabilityVerdict.Linearizable)
        {
            var reduced = referenceComplete ? $"; {_history.Count - history.Count} unknown writes absent from the cluster's event history left out" : "";
            Violation($"the KV history is {check.Verdict} ({projected.Count} operations{reduced})\n{check.Explanation}");
        }
    }

    /// <summary>
    /// The history without the unknown-outcome puts and compare-and-sets whose value is in no event of the cluster's
    /// event history <paramref name="reference"/> (every value a client writes is unique to its operation): those never
    /// took effect. Etcd's robustness tests patch their histories the same way from the watch. This only ever takes
    /// choices away from the checker (an unknown operation may take effect or not; left out, it did not), so it cannot
    /// turn a violation into a pass; what it buys is a search without those choices: a partition leaves dozens of
    /// unknown writes on two or three keys, each of which could have taken effect at any later point, and exploring
    /// their subsets ran the checker out of its budget. Were the event history missing a write a client saw, the check
    /// would fail: a bug as well (the watch lost an event).
    /// </summary>
    internal static List<KvOperation> ReduceUnknownWrites(IReadOnlyList<KvOperation> history, IReadOnlyList<WatchedEvent> reference)
    {
        var written = reference.Where(e => !e.Delete).Select(e => (e.Key, e.Value)).ToHashSet();
        return history.Where(o => o.Outcome == KvOutcome.Ok || o.Kind is not (KvOperationKind.Put or KvOperationKind.Cas) || written.Contains((o.Key, o.Value)))
            .ToList();
    }

    private long _checkSteps;

    /// <summary>The leases of the run (for the negative controls, which re-check a planted history).</summary>
    internal IReadOnlyList<LeaseRecord> Leases => _leases;
}
