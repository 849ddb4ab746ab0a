namespace Akka.Etcd.Node;

/// <summary>Process entry point of the akka-etcd member.</summary>
public static class Program
{
    /// <summary>Starts a member; returns the process exit code.</summary>
    public static int Main(string[] args) => 0;
}
