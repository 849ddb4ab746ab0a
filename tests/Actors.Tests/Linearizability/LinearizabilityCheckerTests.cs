namespace Akka.Etcd.Actors.Tests.Linearizability;

public sealed class LinearizabilityCheckerTests
{
    private static LinearizabilityVerdict Verdict(params KvOperation[] history) => LinearizabilityChecker.Check(history).Verdict;

    [Fact]
    public void Empty_history_is_linearizable() =>
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict());

    [Fact]
    public void Sequential_put_then_get_of_that_value_is_linearizable() =>
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            KvOperation.Put(1, 1, "x", "1", 0, 10),
            KvOperation.Get(2, 2, "x", "1", 20, 30)));

    [Fact]
    public void Get_before_any_write_reads_absent() =>
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            KvOperation.Get(1, 1, "x", null, 0, 10),
            KvOperation.Put(2, 1, "x", "1", 20, 30)));

    [Fact]
    public void Stale_read_after_a_completed_overwrite_is_not_linearizable()
    {
        // The classic counterexample: x=2 is acknowledged, then a later read still returns 1 (an old leader's reply).
        var result = LinearizabilityChecker.Check([
            KvOperation.Put(1, 1, "x", "1", 0, 10),
            KvOperation.Put(2, 1, "x", "2", 20, 30),
            KvOperation.Get(3, 2, "x", "1", 40, 50),
        ]);

        Assert.Equal(LinearizabilityVerdict.NotLinearizable, result.Verdict);
        Assert.Equal("x", result.Key);
        Assert.Contains("get(x)=1", result.Explanation);
    }

    [Fact]
    public void Read_concurrent_with_an_overwrite_may_return_either_value()
    {
        KvOperation[] prefix = [KvOperation.Put(1, 1, "x", "1", 0, 10), KvOperation.Put(2, 1, "x", "2", 20, 40)];
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict([.. prefix, KvOperation.Get(3, 2, "x", "1", 30, 50)]));
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict([.. prefix, KvOperation.Get(3, 2, "x", "2", 30, 50)]));
    }

    [Fact]
    public void Two_concurrent_reads_cannot_see_the_new_value_then_the_old_one_in_real_time_order() =>
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            KvOperation.Put(1, 1, "x", "1", 0, 10),
            KvOperation.Put(2, 1, "x", "2", 20, 100),
            KvOperation.Get(3, 2, "x", "2", 30, 40),
            KvOperation.Get(4, 3, "x", "1", 50, 60)));

    [Fact]
    public void Read_of_a_value_never_written_is_not_linearizable() =>
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            KvOperation.Put(1, 1, "x", "1", 0, 10),
            KvOperation.Get(2, 2, "x", "7", 0, 30)));

    [Fact]
    public void Equal_instants_count_as_concurrent() =>
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            KvOperation.Put(1, 1, "x", "1", 0, 10),
            KvOperation.Get(2, 2, "x", null, 10, 20)));

    [Fact]
    public void Unknown_put_may_take_effect_at_any_later_time_or_never()
    {
        var put = KvOperation.Put(1, 1, "x", "1", 0, 0).AsUnknown();
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(put, KvOperation.Get(2, 2, "x", null, 500, 510)));
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(put, KvOperation.Get(2, 2, "x", null, 500, 510), KvOperation.Get(3, 2, "x", "1", 900, 910)));
    }

    [Fact]
    public void Unknown_put_cannot_be_undone_once_observed() =>
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            KvOperation.Put(1, 1, "x", "1", 0, 0).AsUnknown(),
            KvOperation.Get(2, 2, "x", "1", 500, 510),
            KvOperation.Get(3, 2, "x", null, 900, 910)));

    [Fact]
    public void Unknown_put_cannot_take_effect_before_it_was_invoked() =>
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            KvOperation.Get(1, 2, "x", "1", 0, 10),
            KvOperation.Put(2, 1, "x", "1", 20, 0).AsUnknown()));

    [Fact]
    public void Unknown_get_is_ignored() =>
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            KvOperation.Get(1, 2, "x", "garbage", 0, 10).AsUnknown(),
            KvOperation.Put(2, 1, "x", "1", 20, 30)));

    [Fact]
    public void Cas_succeeds_only_on_the_expected_value()
    {
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            KvOperation.Cas(1, 1, "x", null, "a", true, 0, 10),
            KvOperation.Cas(2, 1, "x", null, "b", false, 20, 30),
            KvOperation.Cas(3, 1, "x", "a", "c", true, 40, 50),
            KvOperation.Get(4, 1, "x", "c", 60, 70)));

        // Two create-if-absent that both succeed, one after the other: impossible.
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            KvOperation.Cas(1, 1, "x", null, "a", true, 0, 10),
            KvOperation.Cas(2, 2, "x", null, "b", true, 20, 30)));
    }

    [Fact]
    public void Concurrent_cas_pair_orders_itself()
    {
        // Both concurrent, one wins: linearizable either way round.
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            KvOperation.Put(1, 1, "x", "0", 0, 10),
            KvOperation.Cas(2, 1, "x", "0", "a", false, 20, 50),
            KvOperation.Cas(3, 2, "x", "0", "b", true, 25, 40),
            KvOperation.Get(4, 2, "x", "b", 60, 70)));
    }

    [Fact]
    public void Unknown_cas_applies_only_when_its_comparison_holds() =>
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            KvOperation.Put(1, 1, "x", "0", 0, 10),
            KvOperation.Cas(2, 2, "x", "9", "a", false, 20, 0).AsUnknown(),
            KvOperation.Get(3, 1, "x", "a", 30, 40)));

    [Fact]
    public void Delete_reports_whether_the_key_existed()
    {
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            KvOperation.Delete(1, 1, "x", false, 0, 10),
            KvOperation.Put(2, 1, "x", "1", 20, 30),
            KvOperation.Delete(3, 1, "x", true, 40, 50),
            KvOperation.Get(4, 1, "x", null, 60, 70)));
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            KvOperation.Put(1, 1, "x", "1", 0, 10),
            KvOperation.Delete(2, 1, "x", false, 20, 30)));
    }

    [Fact]
    public void Keys_are_checked_independently_and_the_failing_key_is_named()
    {
        var result = LinearizabilityChecker.Check([
            KvOperation.Put(1, 1, "a", "1", 0, 10),
            KvOperation.Get(2, 1, "b", "1", 20, 30),
            KvOperation.Get(3, 1, "a", "1", 20, 30),
        ]);

        Assert.Equal(LinearizabilityVerdict.NotLinearizable, result.Verdict);
        Assert.Equal("b", result.Key);
    }

    [Fact]
    public void Many_unknown_operations_that_would_change_nothing_are_decided_within_a_small_budget()
    {
        // Forty writes timed out (compare-and-sets of a value the key never holds, lease expiries of values never written):
        // each may take effect at any later instant. Linearizing one leaves the state as it was, so the checker must
        // not try their 2^40 subsets before concluding, either way.
        var unknown = Enumerable.Range(0, 40).Select(i => i % 2 == 0
            ? KvOperation.Cas(100 + i, 10 + i, "x", "never", $"u{i}", false, i, 0).AsUnknown()
            : new KvOperation(100 + i, 10 + i, KvOperationKind.RevokeLease, "x", null, null, i, 0, KvOutcome.Unknown, null, false)
            {
                RevokedValues = new HashSet<string> { $"gone{i}" },
            }).ToList();
        KvOperation[] good = [KvOperation.Put(1, 1, "x", "1", 50, 60), KvOperation.Get(2, 2, "x", "1", 70, 80), KvOperation.Put(3, 1, "x", "2", 90, 95)];
        KvOperation[] stale = [.. good, KvOperation.Get(4, 2, "x", "1", 100, 110)];

        Assert.Equal(LinearizabilityVerdict.Linearizable, LinearizabilityChecker.Check([.. unknown, .. good], maxSteps: 10_000).Verdict);
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, LinearizabilityChecker.Check([.. unknown, .. stale], maxSteps: 10_000).Verdict);
    }

    [Fact]
    public void Search_out_of_budget_is_undecided()
    {
        var history = ConcurrentRegisterHistory(new Random(1), 200, clients: 8);
        Assert.Equal(LinearizabilityVerdict.Undecided, LinearizabilityChecker.Check(history, maxSteps: 10).Verdict);
    }

    [Fact]
    public void Thousands_of_concurrent_operations_check_fast_and_one_corrupted_read_is_caught()
    {
        var history = ConcurrentRegisterHistory(new Random(7), 4000, clients: 6);
        var result = LinearizabilityChecker.Check(history, maxSteps: 2_000_000);
        Assert.Equal(LinearizabilityVerdict.Linearizable, result.Verdict);

        var victim = history.First(o => o.Kind == KvOperationKind.Get && o.Result is not null && o.Invoke > 2_000);
        var corrupted = history.Select(o => o.Id == victim.Id ? o with { Result = "never-written" } : o).ToList();
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, LinearizabilityChecker.Check(corrupted, maxSteps: 2_000_000).Verdict);
    }

    /// <summary>
    /// A linearizable history by construction: each operation takes effect at a random instant inside its interval,
    /// applied to a sequential store in that order; some writes time out (unknown) after taking effect or not.
    /// </summary>
    private static List<KvOperation> ConcurrentRegisterHistory(Random rng, int count, int clients)
    {
        var keys = new[] { "k0", "k1", "k2", "k3" };
        var pending = new List<(long Point, KvOperation Op, bool Effective)>();
        var clientFree = new long[clients];
        for (var id = 0; id < count; id++)
        {
            var client = id % clients;
            var invoke = clientFree[client] + rng.Next(1, 20);
            var response = invoke + rng.Next(1, 60);
            clientFree[client] = response;
            var key = keys[rng.Next(keys.Length)];
            var op = rng.Next(4) switch
            {
                0 => KvOperation.Put(id, client, key, $"v{id}", invoke, response),
                1 => KvOperation.Delete(id, client, key, false, invoke, response),
                2 => KvOperation.Cas(id, client, key, rng.Next(2) == 0 ? null : $"v{rng.Next(Math.Max(1, id))}", $"v{id}", false, invoke, response),
                _ => KvOperation.Get(id, client, key, null, invoke, response),
            };
            var unknown = op.Kind != KvOperationKind.Get && rng.Next(20) == 0;
            pending.Add((invoke + rng.NextInt64(response - invoke + 1), unknown ? op.AsUnknown() : op, !unknown || rng.Next(2) == 0));
        }

        var store = new Dictionary<string, string>();
        var history = new List<KvOperation>();
        foreach (var (_, op, effective) in pending.OrderBy(p => p.Point).ThenBy(p => p.Op.Id))
        {
            store.TryGetValue(op.Key, out var current);
            if (!effective)
            {
                history.Add(op);
                continue;
            }

            KvModel.Step(current, op with { Outcome = KvOutcome.Unknown }, out var next);
            var completed = op.Kind switch
            {
                KvOperationKind.Get => op with { Result = current },
                KvOperationKind.Delete => op with { Succeeded = current is not null },
                KvOperationKind.Cas => op with { Succeeded = string.Equals(current, op.Expected, StringComparison.Ordinal) },
                _ => op,
            };
            history.Add(op.Outcome == KvOutcome.Unknown ? op : completed);
            if (next is null)
            {
                store.Remove(op.Key);
            }
            else
            {
                store[op.Key] = next;
            }
        }

        return history;
    }
}
