namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>A Raft or state-machine invariant was violated during a simulation run.</summary>
internal sealed class SimulationInvariantException(string message) : Exception(message);
