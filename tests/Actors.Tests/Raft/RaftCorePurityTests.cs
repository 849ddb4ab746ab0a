using System.Reflection;
using Akka.Etcd.Actors.Raft;

namespace Akka.Etcd.Actors.Tests.Raft;

/// <summary>
/// The Raft core is a pure state machine: its assembly (Akka.Etcd.Raft) references no Akka, no storage, no gRPC and
/// nothing but the BCL and the raftpb messages, and none of its types touches files, sockets, threads, timers or the
/// clock. The assembly graph already enforces the first part; this test keeps it that way.
/// </summary>
public class RaftCorePurityTests
{
    private static readonly Assembly Core = typeof(RawNode).Assembly;

    [Fact]
    public void The_core_assembly_references_only_the_BCL_and_the_raft_messages()
    {
        var references = Core.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        var allowed = references.Where(name =>
            name is "System.Runtime" or "System.Collections" or "System.Linq" or "System.Memory" or "netstandard"
            or "Google.Protobuf" or "Akka.Etcd.Protos" || name.StartsWith("System.Runtime.", StringComparison.Ordinal));
        Assert.Equal(references.Order(), allowed.Order());
        Assert.DoesNotContain(references, name => name.StartsWith("Akka", StringComparison.Ordinal) && name != "Akka.Etcd.Protos");
    }

    [Fact]
    public void No_core_type_uses_io_threads_timers_or_the_clock()
    {
        var forbidden = new[]
        {
            typeof(Stream), typeof(File), typeof(Directory), typeof(Thread), typeof(Timer), typeof(Task),
            typeof(DateTime), typeof(DateTimeOffset), typeof(System.Diagnostics.Stopwatch), typeof(Environment),
        };
        var offenders = new List<string>();
        foreach (var type in Core.GetTypes())
        {
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var used = type.GetFields(all).Select(f => f.FieldType)
                .Concat(type.GetProperties(all).Select(p => p.PropertyType))
                .Concat(type.GetMethods(all).SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)));
            offenders.AddRange(used.Where(t => forbidden.Any(f => f.IsAssignableFrom(t))).Select(t => $"{type.FullName} uses {t.Name}"));
        }
        Assert.Empty(offenders);
    }
}
