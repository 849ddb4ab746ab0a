using Akka.Configuration;

namespace Akka.Etcd.Actors.Tests.TestKit;

/// <summary>HOCON for the actor specs (TestKit systems).</summary>
public static class ActorTestConfig
{
    /// <summary>Dispatcher id of <see cref="GatedDispatcher"/> in <see cref="GatedDispatcherConfig"/>.</summary>
    public const string GatedDispatcherId = "akka.test.gated-dispatcher";

    /// <summary>Dispatcher id of Akka.TestKit's CallingThreadDispatcher: an actor on it handles a message on the sender's thread.</summary>
    public const string CallingThreadDispatcherId = "akka.test.calling-thread-dispatcher";

    /// <summary>
    /// Quiet logs, generous expectation deadlines for a loaded 2-core machine, and time that moves only when the test
    /// advances it (<see cref="VirtualClockScheduler"/>, a TestScheduler).
    /// </summary>
    public static Config VirtualTime { get; } = ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.test.single-expect-default = 10s
        akka.scheduler.implementation = "{{typeof(VirtualClockScheduler).FullName}}, {{typeof(VirtualClockScheduler).Assembly.GetName().Name}}"
        """);

    /// <summary>Defines <see cref="GatedDispatcherId"/>.</summary>
    public static Config GatedDispatcherConfig { get; } = ConfigurationFactory.ParseString($$"""
        {{GatedDispatcherId}} {
          type = "{{typeof(GatedDispatcherConfigurator).FullName}}, {{typeof(GatedDispatcherConfigurator).Assembly.GetName().Name}}"
          throughput = 100
        }
        """);

    /// <summary>
    /// Deploys the actors at <paramref name="paths"/> (relative to /user, e.g. "/lessor" or "/lessor/*") on
    /// <paramref name="dispatcherId"/>; children do not inherit their parent's dispatcher, so each level is listed.
    /// </summary>
    public static Config Deploy(string dispatcherId, params string[] paths) => ConfigurationFactory.ParseString(
        string.Join("\n", paths.Select(path => $"akka.actor.deployment {{ \"{path}\" {{ dispatcher = {dispatcherId} }} }}")));
}
