using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>The proposal waiters: trigger, deadline sweep (no timer per request) and client cancellation.</summary>
public sealed class ProposalWaitersTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Trigger_completes_the_waiter_with_the_apply_result()
    {
        var waiters = new ProposalWaiters();
        var applied = waiters.Register(1, deadlineMs: 1_000, CancellationToken.None);
        var response = new PutResponse { Header = new ResponseHeader { Revision = 7 } };

        waiters.Trigger(1, response);

        Assert.Same(response, await applied.WaitAsync(Deadline));
        Assert.Equal(0, waiters.Count);
    }

    [Fact]
    public async Task ExpireDue_fails_only_the_waiters_past_their_deadline_with_request_timed_out()
    {
        var waiters = new ProposalWaiters();
        var early = waiters.Register(1, deadlineMs: 100, CancellationToken.None);
        var late = waiters.Register(2, deadlineMs: 200, CancellationToken.None);
        var never = waiters.Register(3);

        Assert.Equal(1, waiters.ExpireDue(nowMs: 150, static () => EtcdErrors.Timeout));

        var error = await Assert.ThrowsAsync<EtcdException>(() => early.WaitAsync(Deadline));
        Assert.Equal("etcdserver: request timed out", error.Message);
        Assert.False(late.IsCompleted);
        Assert.Equal(1, waiters.ExpireDue(nowMs: 200, static () => EtcdErrors.Timeout));
        await Assert.ThrowsAsync<EtcdException>(() => late.WaitAsync(Deadline));
        Assert.Equal(0, waiters.ExpireDue(nowMs: long.MaxValue - 1, static () => EtcdErrors.Timeout));
        Assert.False(never.IsCompleted);
        Assert.Equal(1, waiters.Count);
    }

    [Fact]
    public async Task A_canceled_token_cancels_and_forgets_the_waiter_and_a_later_trigger_is_ignored()
    {
        var waiters = new ProposalWaiters();
        using var client = new CancellationTokenSource();
        var applied = waiters.Register(1, deadlineMs: long.MaxValue, client.Token);

        client.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => applied.WaitAsync(Deadline));
        Assert.Equal(0, waiters.Count);
        waiters.Trigger(1, new PutResponse());
        Assert.True(applied.IsCanceled);
    }

    [Fact]
    public async Task A_token_canceled_after_the_trigger_changes_nothing()
    {
        var waiters = new ProposalWaiters();
        using var client = new CancellationTokenSource();
        var applied = waiters.Register(1, deadlineMs: long.MaxValue, client.Token);
        IMessage response = new PutResponse();

        waiters.Trigger(1, response);
        client.Cancel();

        Assert.Same(response, await applied.WaitAsync(Deadline));
    }

    [Fact]
    public void A_duplicate_id_is_refused()
    {
        var waiters = new ProposalWaiters();
        waiters.Register(1);

        var error = Record.Exception(() => { _ = waiters.Register(1, 10, CancellationToken.None); });

        Assert.IsType<InvalidOperationException>(error);
    }
}
