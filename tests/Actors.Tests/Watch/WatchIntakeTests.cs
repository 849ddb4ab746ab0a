using Akka.Actor;
using Akka.Etcd.Actors.Watch;
using Etcdserverpb;
using static Akka.Etcd.Actors.Tests.Watch.StreamProbe;

namespace Akka.Etcd.Actors.Tests.Watch;

/// <summary>
/// The bound on a stream's incoming requests (etcd's ctrlStreamBufLen, 16): a request's intake permit comes back once
/// its answer is in the outbox, so while 16 answers wait for a client that does not read, the gRPC reader's next
/// RequestAsync does not complete and HTTP/2 flow control holds the client back.
/// </summary>
public class WatchIntakeTests : WatchSpec
{
    [Fact]
    public async Task Sixteen_unanswered_requests_hold_the_seventeenth_until_the_outbox_drains()
    {
        StartStore(NoTimer with { OutboxCapacity = 2 });
        await using var probe = await OpenStreamAsync();
        Assert.Equal(WatchIntake.DefaultPermits, probe.Stream.Intake.Capacity);

        // Two created responses fill the outbox; their requests are answered, so their permits are back.
        await probe.SendAsync(new WatchCreateRequest { Key = Bytes("k0") });
        await probe.SendAsync(new WatchCreateRequest { Key = Bytes("k1") });
        await AwaitConditionAsync(() => Task.FromResult(probe.Outbox.Count == 2 && probe.Stream.Intake.Available == 16), Deadline);

        // Sixteen more: each takes a permit at once; their answers cannot be written, so no permit comes back.
        for (var i = 2; i < 18; i++)
        {
            var sent = probe.SendAsync(new WatchCreateRequest { Key = Bytes($"k{i}") });
            Assert.True(sent.IsCompletedSuccessfully, $"request {i} should get a permit at once");
        }
        Assert.Equal(0, probe.Stream.Intake.Available);
        await BarrierAsync(probe); // the actor has handled all sixteen: their answers wait inside it

        var seventeenth = probe.RequestProgressAsync();
        Assert.False(seventeenth.IsCompleted);

        // Reading one response makes room for one more answer, not for all sixteen: still held.
        Assert.Equal(0, (await probe.NextAsync()).WatchId);
        await BarrierAsync(probe);
        Assert.False(seventeenth.IsCompleted);

        // Once every waiting answer is in the outbox, the permits come back and the seventeenth goes in.
        for (var id = 1; id < 18; id++)
        {
            var created = await probe.NextAsync();
            Assert.True(created.Created);
            Assert.Equal(id, created.WatchId);
        }
        await seventeenth.WaitAsync(Deadline);
        AssertProgress(await probe.NextAsync(), 0);
        await AwaitConditionAsync(() => Task.FromResult(probe.Stream.Intake.Available == 16), Deadline);
    }

    [Fact]
    public async Task While_the_actor_is_busy_at_most_sixteen_requests_are_taken_in()
    {
        StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        Task seventeenth;
        using (HoldStreams())
        {
            for (var i = 0; i < 16; i++)
            {
                Assert.True(probe.SendAsync(new WatchCreateRequest { Key = Bytes($"k{i}") }).IsCompletedSuccessfully);
            }
            seventeenth = probe.SendAsync(new WatchCreateRequest { Key = Bytes("k16") });
            Assert.False(seventeenth.IsCompleted); // nobody can give a permit back while the actor is held
        }
        await seventeenth.WaitAsync(Deadline);
        for (var id = 0; id <= 16; id++)
        {
            Assert.Equal(id, (await probe.NextAsync()).WatchId);
        }
    }

    [Fact]
    public async Task A_request_waiting_for_a_permit_gives_up_when_its_token_is_canceled()
    {
        StartStore(NoTimer);
        await using var probe = await OpenStreamAsync();
        using (HoldStreams())
        {
            for (var i = 0; i < 16; i++)
            {
                await probe.SendAsync(new WatchCreateRequest { Key = Bytes($"k{i}") });
            }
            using var cancel = new CancellationTokenSource();
            var waiting = probe.Stream.RequestAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Bytes("never") } }, cancel.Token);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Deadline));
        }
        for (var id = 0; id < 16; id++)
        {
            Assert.Equal(id, (await probe.NextAsync()).WatchId);
        }
        await probe.ExpectQuietAsync(0); // the canceled request never reached the actor
    }

    /// <summary>Completes once the stream's actor has handled everything sent to it before (Identify goes through its mailbox).</summary>
    private static Task BarrierAsync(StreamProbe probe) =>
        probe.Stream.Actor.Ask<ActorIdentity>(new Identify(null), Deadline);
}
