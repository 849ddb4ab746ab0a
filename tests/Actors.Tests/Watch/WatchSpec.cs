using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Tests.TestKit;
using Akka.Etcd.Actors.Watch;
using Akka.TestKit;
using Xunit.Abstractions;

namespace Akka.Etcd.Actors.Tests.Watch;

/// <summary>
/// A TestKit for the watch actors: a <see cref="FakeStore"/> actor (<c>/user/store</c>), the real
/// <see cref="WatchStreamsActor"/> (<c>/user/streams</c>) whose WatcherActors run on the <see cref="GatedDispatcher"/>
/// (so a test can hold them while it queues a burst), streams opened through the real <see cref="WatchHub"/>, and
/// virtual time (the progress-notify timers fire only when the test advances the <see cref="VirtualClockScheduler"/>).
/// </summary>
public abstract class WatchSpec : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>Every spec's options without a progress timer (a test drives ticks itself or advances time).</summary>
    protected static readonly WatchStreamOptions NoTimer = new() { ProgressNotifyInterval = Timeout.InfiniteTimeSpan };

    private static readonly Config SpecConfig = ActorTestConfig.VirtualTime
        .WithFallback(ActorTestConfig.GatedDispatcherConfig)
        .WithFallback(ActorTestConfig.Deploy(ActorTestConfig.GatedDispatcherId, "/streams/*"));

    private WatchHub? _hub;

    protected WatchSpec(ITestOutputHelper? output = null)
        : base(SpecConfig, output: output)
    {
        Status = new ServerStatus { MemberId = 22, ClusterId = 11 };
        Status.Publish(new RaftView(3, 22, 0, 0));
        ReadObserver = CreateTestProbe("read-observer");
    }

    /// <summary>The member read model headers are filled from: cluster 11, member 22, term 3.</summary>
    protected ServerStatus Status { get; }

    /// <summary>Told a <see cref="FakeStore.ReadQueued"/> for every history read the store keeps unanswered.</summary>
    protected TestProbe ReadObserver { get; }

    /// <summary>Holds every stream's actor (their mailboxes fill, nothing runs) until disposed.</summary>
    protected IDisposable HoldStreams() => Gate.Hold();

    protected GatedDispatcher Gate => (GatedDispatcher)Sys.Dispatchers.Lookup(ActorTestConfig.GatedDispatcherId);

    protected VirtualClockScheduler Clock => (VirtualClockScheduler)Sys.Scheduler;

    private protected FakeStoreDriver Store { get; private set; } = null!;

    /// <summary>Starts the fake store and the streams' parent with <paramref name="options"/>.</summary>
    private protected FakeStoreDriver StartStore(WatchStreamOptions options, FakeStoreSettings? settings = null)
    {
        var store = Sys.ActorOf(FakeStore.Props(settings ?? new FakeStoreSettings(), ReadObserver.Ref), "store");
        var streams = Sys.ActorOf(WatchStreamsActor.Props(store, Status, options), "streams");
        _hub = new WatchHub(streams, StreamProbe.Deadline);
        Store = new FakeStoreDriver(store);
        return Store;
    }

    /// <summary>
    /// Opens a stream through the WatchHub (the gRPC facade's path; its actor runs on the gated dispatcher) and returns
    /// once the store has registered it. OpenStreamAsync itself answers as soon as the actor exists, before it has
    /// registered: a revision written in between is not published to it, and a watch created without a start revision
    /// starts after the revision it registered at (as in etcd, where a watch sees writes applied after its creation).
    /// </summary>
    private protected async Task<StreamProbe> OpenStreamAsync()
    {
        var stream = await _hub!.OpenStreamAsync().WaitAsync(StreamProbe.Deadline);
        var cell = Assert.IsAssignableFrom<ActorRefWithCell>(stream.Actor).Underlying;
        Assert.Equal(ActorTestConfig.GatedDispatcherId, Assert.IsType<ActorCell>(cell).Dispatcher.Id);
        // The actor has started (so sent RegisterWatchStream) once it answers Identify; the store has handled that
        // registration once it answers a question sent after it.
        await stream.Actor.Ask<ActorIdentity>(new Identify(null), StreamProbe.Deadline);
        await Store.StateAsync();
        return new StreamProbe(stream);
    }

    /// <summary>Waits until the store reports one more history read kept for <see cref="FakeStoreDriver.AnswerPendingReadsAsync"/>.</summary>
    private protected async Task<FakeStore.ReadQueued> ExpectReadQueuedAsync() =>
        await ReadObserver.ExpectMsgAsync<FakeStore.ReadQueued>(StreamProbe.Deadline);
}
