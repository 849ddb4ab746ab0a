using System.Diagnostics;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Akka.Etcd.Actors.Tests.Lease;

public class LessorTests
{
    private const long Start = 1_000_000;
    private readonly ITestOutputHelper _output;

    public LessorTests(ITestOutputHelper output) => _output = output;

    private static Lessor NewPrimary(long nowMs = Start)
    {
        var lessor = new Lessor(new LessorOptions());
        lessor.Promote(nowMs, 0);
        return lessor;
    }

    private static ByteString Key(string key) => ByteString.CopyFromUtf8(key);

    private static void AssertError(EtcdException expected, Action action)
    {
        var ex = Assert.Throws<EtcdException>(action);
        Assert.Equal(expected.Code, ex.Code);
        Assert.Equal(expected.Message, ex.Message);
    }

    [Theory]
    [InlineData(10, 100, 2)] // etcd defaults: 1.5 s rounded up
    [InlineData(10, 50, 1)]
    [InlineData(5, 100, 1)] // (3 * 5) / 2 = 7 ticks = 0.7 s
    [InlineData(10, 1000, 15)]
    public void Min_ttl_follows_etcds_rule(int electionTicks, int heartbeatMs, long expectedSeconds)
    {
        Assert.Equal(expectedSeconds, LessorOptions.MinTtlFor(electionTicks, heartbeatMs));
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 2)]
    [InlineData(-5, 2)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(9_000_000_000, 9_000_000_000)]
    public void Grant_raises_ttl_to_the_minimum(long requested, long granted)
    {
        var lessor = NewPrimary();
        Assert.Equal(granted, lessor.Grant(7, requested, Start).TtlSeconds);
        Assert.Equal(Start + granted * 1000, lessor.DeadlineOf(7));
    }

    [Fact]
    public void Grant_rejects_too_large_ttl_existing_id_and_id_zero()
    {
        var lessor = NewPrimary();
        AssertError(EtcdErrors.LeaseTTLTooLarge, () => lessor.Grant(1, LessorOptions.MaxTtlSeconds + 1, Start));
        lessor.Grant(1, 10, Start);
        AssertError(EtcdErrors.LeaseExist, () => lessor.Grant(1, 20, Start));
        Assert.Equal(10, lessor.Lookup(1)!.TtlSeconds);
        AssertError(EtcdErrors.LeaseNotFound, () => lessor.Grant(Lessor.NoLease, 10, Start));
        Assert.Equal(1, lessor.Count);
    }

    [Fact]
    public void Server_chosen_ids_are_positive_nonzero_and_client_ids_are_kept()
    {
        var supplied = new Queue<ulong>(new[] { 0UL, 1UL << 63, 0xFFFF_0000_0000_0001UL, 42UL });
        var ids = new LeaseIdGenerator(() => supplied.Dequeue());
        Assert.Equal(0x7FFF_0000_0000_0001L, ids.Next()); // 0 and the bare sign bit both give 0: drawn again
        Assert.Equal(42L, ids.Resolve(0));
        Assert.Equal(1234L, ids.Resolve(1234));
        Assert.Empty(supplied);

        var fromServer = new LeaseIdGenerator(new Akka.Etcd.Actors.Server.RequestIdGenerator(0xddd67b312462fd7bUL).Next);
        var seen = new HashSet<long>();
        for (var i = 0; i < 1000; i++)
        {
            var id = fromServer.Next();
            Assert.True(id > 0);
            Assert.True(seen.Add(id));
        }
    }

    [Fact]
    public void Lease_does_not_expire_before_its_ttl_and_expires_at_its_deadline()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 10, Start);
        Assert.Empty(lessor.Expired(Start + 9_999, 100));
        Assert.Equal(new[] { 1L }, lessor.Expired(Start + 10_000, 100));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(137)]
    [InlineData(499)]
    public void Lease_is_reported_within_ttl_plus_one_tick(long grantOffsetMs)
    {
        var lessor = NewPrimary(0);
        lessor.Grant(1, 5, grantOffsetMs);
        long? reportedAt = null;
        for (long tick = 0; tick < 20_000 && reportedAt is null; tick += 500)
        {
            if (lessor.Expired(tick, 500).Count > 0)
            {
                reportedAt = tick;
            }
        }
        Assert.NotNull(reportedAt);
        Assert.InRange(reportedAt!.Value, grantOffsetMs + 5_000, grantOffsetMs + 5_000 + 500);
    }

    [Fact]
    public void Renew_moves_the_deadline_to_now_plus_ttl()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 10, Start);
        Assert.Equal(10, lessor.Renew(1, Start + 9_000));
        Assert.Empty(lessor.Expired(Start + 18_999, 100));
        Assert.Equal(new[] { 1L }, lessor.Expired(Start + 19_000, 100));
    }

    [Fact]
    public void Renew_fails_for_unknown_expired_or_when_not_primary()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 10, Start);
        AssertError(EtcdErrors.LeaseNotFound, () => lessor.Renew(2, Start));
        Assert.True(lessor.IsExpired(1, Start + 10_000));
        AssertError(EtcdErrors.LeaseNotFound, () => lessor.Renew(1, Start + 10_000));
        lessor.Demote();
        AssertError(EtcdErrors.NotLeader, () => lessor.Renew(1, Start));
    }

    [Fact]
    public void Expired_reports_by_deadline_at_most_max_per_call()
    {
        var lessor = NewPrimary();
        lessor.Grant(30, 30, Start);
        lessor.Grant(10, 10, Start);
        lessor.Grant(20, 20, Start);
        lessor.Grant(11, 10, Start + 1);
        var now = Start + 60_000;
        Assert.Equal(new[] { 10L, 11L }, lessor.Expired(now, 2));
        Assert.Equal(new[] { 20L, 30L }, lessor.Expired(now, 100));
        Assert.Empty(lessor.Expired(now, 100));
    }

    [Fact]
    public void Reported_lease_is_reported_again_after_the_retry_interval_if_still_there()
    {
        var lessor = new Lessor(new LessorOptions { ExpiredRetryMs = 3000 });
        lessor.Promote(Start, 0);
        lessor.Grant(1, 10, Start);
        lessor.Grant(2, 10, Start);
        var expiry = Start + 10_000;
        Assert.Equal(new[] { 1L, 2L }, lessor.Expired(expiry, 100));
        lessor.Revoke(2);
        Assert.Empty(lessor.Expired(expiry + 2_999, 100));
        Assert.Equal(new[] { 1L }, lessor.Expired(expiry + 3_000, 100));
    }

    [Fact]
    public void Revoke_returns_attached_keys_in_byte_order_and_removes_the_lease()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 10, Start);
        lessor.Grant(2, 10, Start);
        foreach (var k in new[] { "b", "a", "\u00ff", "ab" })
        {
            lessor.Attach(1, Key(k));
        }
        lessor.Attach(2, Key("other"));
        var keys = lessor.Revoke(1);
        Assert.Equal(new[] { "a", "ab", "b", "\u00ff" }, keys.Select(k => k.ToStringUtf8()));
        Assert.Null(lessor.Lookup(1));
        Assert.Equal(Lessor.NoLease, lessor.GetLease(Key("a")));
        Assert.Equal(2, lessor.GetLease(Key("other")));
        Assert.Equal(new[] { 2L }, lessor.Expired(Start + 10_000, 100));
        AssertError(EtcdErrors.LeaseNotFound, () => lessor.Revoke(1));
    }

    [Fact]
    public void A_key_belongs_to_at_most_one_lease()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 10, Start);
        lessor.Grant(2, 10, Start);
        AssertError(EtcdErrors.LeaseNotFound, () => lessor.Attach(3, Key("k")));
        Assert.Equal(Lessor.NoLease, lessor.GetLease(Key("k")));

        lessor.Attach(1, Key("k"));
        lessor.Attach(2, Key("k"));
        Assert.Equal(2, lessor.GetLease(Key("k")));
        Assert.Empty(lessor.TimeToLive(1, Start, includeKeys: true).Keys);
        Assert.Single(lessor.TimeToLive(2, Start, includeKeys: true).Keys);

        Assert.False(lessor.Detach(1, Key("k")));
        Assert.False(lessor.Detach(3, Key("k")));
        Assert.True(lessor.Detach(2, Key("k")));
        Assert.Equal(Lessor.NoLease, lessor.GetLease(Key("k")));
        Assert.Empty(lessor.Revoke(2));
    }

    [Fact]
    public void Time_to_live_truncates_remaining_seconds_and_lists_keys_on_request()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 10, Start);
        lessor.Attach(1, Key("x"));
        var ttl = lessor.TimeToLive(1, Start + 1, includeKeys: false);
        Assert.Equal(new LeaseTimeToLive(1, 9, 10, Array.Empty<ByteString>()), ttl with { Keys = Array.Empty<ByteString>() });
        Assert.Empty(ttl.Keys);
        Assert.Equal(10, lessor.TimeToLive(1, Start, includeKeys: false).TtlSeconds);
        Assert.Equal(0, lessor.TimeToLive(1, Start + 60_000, includeKeys: false).TtlSeconds);
        Assert.Equal("x", lessor.TimeToLive(1, Start, includeKeys: true).Keys.Single().ToStringUtf8());
        AssertError(EtcdErrors.LeaseNotFound, () => lessor.TimeToLive(2, Start, includeKeys: false));
    }

    [Fact]
    public void Leases_lists_every_id_soonest_deadline_first()
    {
        var lessor = NewPrimary();
        lessor.Grant(5, 50, Start);
        lessor.Grant(3, 30, Start);
        lessor.Grant(4, 30, Start);
        Assert.Equal(new[] { 3L, 4L, 5L }, lessor.Leases());
        lessor.Renew(3, Start + 10_000);
        Assert.Equal(new[] { 4L, 3L, 5L }, lessor.Leases());
    }

    [Fact]
    public void Followers_never_expire_leases()
    {
        var lessor = new Lessor(new LessorOptions());
        lessor.Grant(1, 2, Start);
        Assert.False(lessor.IsPrimary);
        Assert.Equal(Lessor.Forever, lessor.DeadlineOf(1));
        Assert.Empty(lessor.Expired(long.MaxValue - 1, 100));
        Assert.Equal(2, lessor.TimeToLive(1, Start + 100_000, includeKeys: false).TtlSeconds);

        lessor.Promote(Start, 0);
        lessor.Demote();
        Assert.Empty(lessor.Expired(long.MaxValue - 1, 100));
        Assert.Equal(0, lessor.QueueLength);
    }

    [Fact]
    public void Promote_gives_every_lease_its_full_ttl_plus_the_extension()
    {
        var lessor = new Lessor(new LessorOptions());
        lessor.Grant(1, 10, Start);
        lessor.Grant(2, 60, Start);
        var promotedAt = Start + 500_000;
        lessor.Promote(promotedAt, 1_000);
        Assert.Equal(promotedAt + 11_000, lessor.DeadlineOf(1));
        Assert.Equal(promotedAt + 61_000, lessor.DeadlineOf(2));
        Assert.Empty(lessor.Expired(promotedAt + 10_999, 100));
        Assert.Equal(new[] { 1L }, lessor.Expired(promotedAt + 11_000, 100));

        // A leader change in the middle of a lease's life restarts its countdown: never an early expiry.
        lessor.Demote();
        lessor.Promote(promotedAt + 50_000, 1_000);
        Assert.Equal(promotedAt + 111_000, lessor.DeadlineOf(2));
    }

    [Fact]
    public void Promote_spreads_piled_up_deadlines_to_three_quarters_of_the_revoke_rate()
    {
        var lessor = new Lessor(new LessorOptions());
        for (var id = 1; id <= 2000; id++)
        {
            lessor.Grant(id, 10, 0);
        }
        lessor.Promote(Start, 1_000);
        var deadlines = Enumerable.Range(1, 2000).Select(id => lessor.DeadlineOf(id)!.Value - Start).ToList();
        Assert.All(deadlines, d => Assert.True(d >= 11_000));
        Assert.Equal(750, deadlines.Count(d => d <= 12_000));
        Assert.Equal(2000, lessor.Expired(Start + 20_000, 5000).Count);
    }

    [Fact]
    public void Checkpointed_remaining_ttl_is_used_by_promote()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 100, Start);
        lessor.Grant(2, 20, Start);
        var checkpoints = lessor.Checkpoints(Start + 30_500, 10);
        Assert.Equal(new[] { (1L, 70L) }, checkpoints.Select(c => (c.ID, c.RemainingTTL))); // lease 2 is past its deadline
        Assert.True(lessor.Checkpoint(1, 70));
        Assert.False(lessor.Checkpoint(9, 70));
        Assert.Equal(new LeaseRecord(1, 100, 70), lessor.Lookup(1));

        lessor.Demote();
        lessor.Promote(Start + 40_000, 0);
        Assert.Equal(Start + 40_000 + 70_000, lessor.DeadlineOf(1));
        Assert.Equal(Start + 40_000 + 20_000, lessor.DeadlineOf(2));
    }

    [Fact]
    public void Restore_keeps_ttl_remaining_ttl_and_attachments()
    {
        var source = NewPrimary();
        source.Grant(1, 60, Start);
        source.Grant(2, 30, Start);
        source.Checkpoint(1, 20);
        var records = source.Export().ToList();
        Assert.Equal(new[] { new LeaseRecord(1, 60, 20), new LeaseRecord(2, 30, 0) }, records);

        var restored = NewPrimary();
        restored.Grant(99, 10, Start);
        var skipped = restored.Restore(
            records.Append(new LeaseRecord(3, 1, 0)),
            new[]
            {
                KeyValuePair.Create(Key("a"), 1L),
                KeyValuePair.Create(Key("b"), 2L),
                KeyValuePair.Create(Key("gone"), 77L),
            });
        Assert.Equal(1, skipped);
        Assert.False(restored.IsPrimary);
        Assert.Null(restored.Lookup(99));
        Assert.Equal(2, restored.Lookup(3)!.TtlSeconds); // raised to the minimum, as etcd's recovery does
        Assert.Equal(1, restored.GetLease(Key("a")));
        Assert.Equal(2, restored.GetLease(Key("b")));
        Assert.Equal(Lessor.NoLease, restored.GetLease(Key("gone")));

        restored.Promote(Start + 5_000, 0);
        Assert.Equal(20, restored.TimeToLive(1, Start + 5_000, includeKeys: false).TtlSeconds);
        Assert.Equal(60, restored.TimeToLive(1, Start + 5_000, includeKeys: false).GrantedTtlSeconds);
        Assert.Equal(30, restored.TimeToLive(2, Start + 5_000, includeKeys: false).TtlSeconds);
        Assert.Equal(new[] { Key("a") }, restored.Revoke(1));
    }

    [Fact]
    public void Stale_queue_entries_are_dropped_when_they_outnumber_live_ones()
    {
        var lessor = NewPrimary();
        lessor.Grant(1, 10, Start);
        lessor.Grant(2, 10, Start);
        for (var i = 1; i <= 5_000; i++)
        {
            lessor.Renew(1, Start + i);
        }
        Assert.InRange(lessor.QueueLength, 2, 2 * 2 + 1024 + 1);
        Assert.Equal(new[] { 2L }, lessor.Expired(Start + 10_000, 100));
        lessor.Revoke(2);
        Assert.Empty(lessor.Expired(Start + 15_000 - 1, 100));
        Assert.Equal(new[] { 1L }, lessor.Expired(Start + 15_000, 100));
    }

    [Fact]
    public void Ten_thousand_leases_with_keepalives_stay_cheap()
    {
        const int leases = 10_000;
        const int rounds = 30;
        var lessor = NewPrimary(0);
        for (var id = 1; id <= leases; id++)
        {
            lessor.Grant(id, 10, 0);
            lessor.Attach(id, ByteString.CopyFromUtf8("key/" + id));
        }
        GC.Collect();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        long now = 0;
        var maxQueue = 0;
        for (var round = 0; round < rounds; round++)
        {
            for (long tick = 0; tick < 5_000; tick += 500)
            {
                now += 500;
                Assert.Empty(lessor.Expired(now, 500));
            }
            for (var id = 1; id <= leases; id++)
            {
                lessor.Renew(id, now);
            }
            maxQueue = Math.Max(maxQueue, lessor.QueueLength);
        }
        stopwatch.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        _output.WriteLine($"{leases * rounds} renewals + {rounds * 10} expiry checks: {stopwatch.ElapsedMilliseconds} ms, " +
                          $"{allocated / 1024} KiB allocated, queue peak {maxQueue}, heap {GC.GetTotalMemory(false) / 1024} KiB");

        Assert.True(stopwatch.ElapsedMilliseconds < 5_000, $"took {stopwatch.ElapsedMilliseconds} ms");
        Assert.True(allocated < 64L * 1024 * 1024, $"allocated {allocated} bytes");
        Assert.True(maxQueue <= 2 * leases + 1024, $"queue grew to {maxQueue}");
        Assert.Equal(leases, lessor.Expired(now + 10_000, 20_000).Count);
    }
}
