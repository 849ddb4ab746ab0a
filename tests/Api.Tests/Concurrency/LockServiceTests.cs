using Akka.Etcd.Api.Concurrency;
using Akka.Etcd.Protos.Errors;
using Google.Protobuf;
using V3Lockpb;

namespace Akka.Etcd.Api.Tests.Concurrency;

public sealed class LockServiceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly FakeConcurrencyBackend _backend = new();
    private readonly LockService _locks;

    public LockServiceTests() => _locks = new LockService(_backend);

    private Task<LockResponse> Lock(string name, long lease, CancellationToken cancel = default) =>
        _locks.LockAsync(new LockRequest { Name = ByteString.CopyFromUtf8(name), Lease = lease }, cancel);

    private Task<UnlockResponse> Unlock(ByteString key) => _locks.UnlockAsync(new UnlockRequest { Key = key }, CancellationToken.None);

    private Task WaitingOn(ByteString predecessor, long fromRevision = 0) =>
        _backend.WatchOpened(w => w.Key == predecessor.ToStringUtf8() && w.StartRevision >= fromRevision).WaitAsync(Deadline);

    private List<string> KeysUnder(string name) => _backend.Keys(name + "/").Select(kv => kv.Key.ToStringUtf8()).ToList();

    [Fact]
    public async Task Uncontended_lock_returns_name_slash_lease_hex_at_once()
    {
        _backend.GrantLease(0x694d7);

        var held = await Lock("mylock", 0x694d7).WaitAsync(Deadline);

        Assert.Equal("mylock/694d7", held.Key.ToStringUtf8());
        Assert.Equal(_backend.Revision, held.Header.Revision);
        var kv = Assert.Single(_backend.Keys("mylock/"));
        Assert.Equal(0x694d7, kv.Lease);
        Assert.Empty(_backend.Registrations);
    }

    [Fact]
    public async Task Second_locker_gets_the_lock_only_after_the_first_unlocks()
    {
        _backend.GrantLease(1);
        _backend.GrantLease(2);
        var first = await Lock("l", 1).WaitAsync(Deadline);

        var second = Lock("l", 2);
        await WaitingOn(first.Key);
        Assert.False(second.IsCompleted);

        var unlocked = await Unlock(first.Key);
        var acquired = await second.WaitAsync(Deadline);

        Assert.Equal("l/2", acquired.Key.ToStringUtf8());
        Assert.True(acquired.Header.Revision >= unlocked.Header.Revision);
        Assert.Equal(["l/2"], KeysUnder("l"));
    }

    [Fact]
    public async Task Each_waiter_watches_only_its_own_predecessor()
    {
        foreach (var lease in new long[] { 1, 2, 3 })
        {
            _backend.GrantLease(lease);
        }
        var first = await Lock("l", 1).WaitAsync(Deadline);
        var second = Lock("l", 2);
        await WaitingOn(first.Key);
        var third = Lock("l", 3);
        await WaitingOn(ByteString.CopyFromUtf8("l/2"));

        await Unlock(first.Key);
        var secondHeld = await second.WaitAsync(Deadline);
        Assert.False(third.IsCompleted);

        await Unlock(secondHeld.Key);
        var thirdHeld = await third.WaitAsync(Deadline);

        Assert.Equal("l/3", thirdHeld.Key.ToStringUtf8());
        Assert.Equal(["l/1", "l/2"], _backend.Registrations.Select(w => w.Key).Order().ToList());
        Assert.All(_backend.Registrations, w => Assert.Equal("", w.RangeEnd));
    }

    [Fact]
    public async Task Revoked_holder_lease_passes_the_lock_on()
    {
        _backend.GrantLease(1);
        _backend.GrantLease(2);
        var first = await Lock("l", 1).WaitAsync(Deadline);
        var second = Lock("l", 2);
        await WaitingOn(first.Key);

        _backend.RevokeLease(1);

        var acquired = await second.WaitAsync(Deadline);
        Assert.Equal("l/2", acquired.Key.ToStringUtf8());
    }

    [Fact]
    public async Task Cancelled_waiter_removes_its_key_and_the_next_waiter_moves_up()
    {
        foreach (var lease in new long[] { 1, 2, 3 })
        {
            _backend.GrantLease(lease);
        }
        var first = await Lock("l", 1).WaitAsync(Deadline);
        using var giveUp = new CancellationTokenSource();
        var second = Lock("l", 2, giveUp.Token);
        await WaitingOn(first.Key);
        var third = Lock("l", 3);
        await WaitingOn(ByteString.CopyFromUtf8("l/2"));

        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Deadline));
        Assert.Equal(["l/1", "l/3"], KeysUnder("l"));

        // The third waiter saw its predecessor go and now waits on the holder.
        await WaitingOn(first.Key, fromRevision: _backend.Revision);
        Assert.False(third.IsCompleted);
        await Unlock(first.Key);
        var acquired = await third.WaitAsync(Deadline);
        Assert.Equal("l/3", acquired.Key.ToStringUtf8());
        Assert.Equal(0, _backend.ActiveWatchCount);
    }

    [Fact]
    public async Task Lock_with_an_unknown_lease_fails_with_lease_not_found_and_writes_nothing()
    {
        var error = await Assert.ThrowsAsync<EtcdException>(() => Lock("l", 42));

        Assert.Equal(RpcStatusCode.NotFound, error.Code);
        Assert.Equal("etcdserver: requested lease not found", error.Message);
        Assert.Empty(KeysUnder("l"));
        Assert.Equal(1, _backend.Revision);
    }

    [Fact]
    public async Task Lock_without_a_lease_runs_under_a_new_sixty_second_lease()
    {
        var held = await Lock("l", 0).WaitAsync(Deadline);

        var lease = Assert.Single(_backend.Leases);
        Assert.Equal($"l/{lease:x}", held.Key.ToStringUtf8());
        Assert.Equal(lease, Assert.Single(_backend.Keys("l/")).Lease);
        Assert.Equal(60, (await _backend.LeaseTimeToLiveAsync(new() { ID = lease }, CancellationToken.None)).TTL);
    }

    [Fact]
    public async Task Waiter_whose_lease_is_past_its_deadline_at_the_recheck_fails_and_deletes_its_key()
    {
        _backend.GrantLease(1);
        _backend.GrantLease(2);
        var first = await Lock("l", 1).WaitAsync(Deadline);
        var second = Lock("l", 2);
        await WaitingOn(first.Key);

        _backend.ExpireLease(2);
        await Unlock(first.Key);

        var error = await Assert.ThrowsAsync<EtcdException>(() => second.WaitAsync(Deadline));
        Assert.Equal("etcdserver: requested lease not found", error.Message);
        Assert.Empty(KeysUnder("l"));
    }

    [Fact]
    public async Task Uncontended_lock_under_an_expiring_lease_fails_and_deletes_its_key()
    {
        _backend.GrantLease(1);
        _backend.ExpireLease(1);

        var error = await Assert.ThrowsAsync<EtcdException>(() => Lock("l", 1));

        Assert.Equal(RpcStatusCode.NotFound, error.Code);
        Assert.Empty(KeysUnder("l"));
    }

    [Fact]
    public async Task Waiter_whose_lease_expired_while_waiting_fails_after_the_recheck_and_holds_no_key()
    {
        _backend.GrantLease(1);
        _backend.GrantLease(2);
        var first = await Lock("l", 1).WaitAsync(Deadline);
        var second = Lock("l", 2);
        await WaitingOn(first.Key);

        _backend.RevokeLease(2);
        Assert.False(second.IsCompleted);
        await Unlock(first.Key);

        var error = await Assert.ThrowsAsync<EtcdException>(() => second.WaitAsync(Deadline));
        Assert.Equal(RpcStatusCode.NotFound, error.Code);
        Assert.Equal("etcdserver: requested lease not found", error.Message);
        Assert.Empty(KeysUnder("l"));
    }

    [Fact]
    public async Task Lock_again_with_the_same_lease_reuses_the_key_without_a_write()
    {
        _backend.GrantLease(7);
        var first = await Lock("l", 7).WaitAsync(Deadline);
        var revision = _backend.Revision;

        var again = await Lock("l", 7).WaitAsync(Deadline);

        Assert.Equal(first.Key, again.Key);
        Assert.Equal(revision, _backend.Revision);
        Assert.Equal(revision, again.Header.Revision);
    }

    [Fact]
    public async Task Locks_with_different_names_do_not_wait_on_each_other()
    {
        _backend.GrantLease(1);
        _backend.GrantLease(2);

        var a = await Lock("a", 1).WaitAsync(Deadline);
        var b = await Lock("a2", 2).WaitAsync(Deadline);

        Assert.Equal("a/1", a.Key.ToStringUtf8());
        Assert.Equal("a2/2", b.Key.ToStringUtf8());
    }

    [Fact]
    public async Task Unlock_deletes_the_key_and_answers_the_header_of_the_delete()
    {
        _backend.GrantLease(1);
        var held = await Lock("l", 1).WaitAsync(Deadline);

        var unlocked = await Unlock(held.Key);

        Assert.Empty(KeysUnder("l"));
        Assert.Equal(held.Header.Revision + 1, unlocked.Header.Revision);
    }
}
