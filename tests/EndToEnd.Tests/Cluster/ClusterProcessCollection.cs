namespace Akka.Etcd.EndToEnd.Tests.Cluster;

/// <summary>
/// The 3-member cluster classes run one after another and not alongside other test classes: they start 3 to 4
/// server processes each, and election-time assertions must not compete for the CPU with other suites.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterProcessCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "Cluster processes on loopback";
}
