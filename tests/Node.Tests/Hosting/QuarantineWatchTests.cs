using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Node.Hosting;
using Akka.Remote;

namespace Akka.Etcd.Node.Tests.Hosting;

/// <summary>A peer's quarantine of this ActorSystem reaches the node (which then stops the member and exits non-zero).</summary>
public sealed class QuarantineWatchTests : IAsyncLifetime
{
    private readonly ActorSystem _system = ActorSystem.Create("quarantine-watch", ConfigurationFactory.ParseString("akka.actor.provider = local"));

    [Fact]
    public async Task Quarantined_completes_with_the_peer_that_quarantined_this_system()
    {
        var watch = new QuarantineWatch(_system);
        Assert.False(watch.Quarantined.IsCompleted);
        var local = new Address("akka.tcp", "akka-etcd", "127.0.0.1", 2380);
        var peer = new Address("akka.tcp", "akka-etcd", "127.0.0.1", 2382);

        // The watcher subscribes when it starts; publish until it has seen the event (the EventStream keeps none).
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!watch.Quarantined.IsCompleted)
        {
            _system.EventStream.Publish(new ThisActorSystemQuarantinedEvent(local, peer));
            await Task.WhenAny(watch.Quarantined, Task.Delay(50, deadline.Token));
        }

        Assert.Equal(peer, (await watch.Quarantined).RemoteAddress);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _system.Terminate();
}
