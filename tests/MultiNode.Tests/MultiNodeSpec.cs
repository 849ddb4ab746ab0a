using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.TestDoubles;
using Etcdserverpb;
using Google.Protobuf;
using Xunit.Abstractions;

// One cluster at a time in this process: five members' elections on a shared 2-core machine stay clear of each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Akka.Etcd.MultiNode.Tests;

/// <summary>
/// The base of the multi-node specs: an Akka TestKit (its waits are <c>AwaitAssertAsync</c> with deadlines) that starts
/// <see cref="LoopbackCluster"/>s of whole members, each its own ActorSystem on Akka.Remote over loopback, and stops
/// them and deletes their data dirs after the spec. Every call to a member is bounded by <see cref="Deadline"/>.
/// </summary>
public abstract class MultiNodeSpec : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    /// <summary>The bound of every wait and call (never reached by a passing spec; it only turns a hang into a failure).</summary>
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>How often an await re-checks its condition.</summary>
    protected static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    /// <summary>The texts of the errors etcd answers a request it could not get through consensus with.</summary>
    protected static readonly string[] NotThroughConsensus =
    [
        EtcdErrors.NoLeader.Message, EtcdErrors.LeaderChanged.Message, EtcdErrors.Timeout.Message,
    ];

    private readonly List<LoopbackCluster> _clusters = [];

    protected MultiNodeSpec(ITestOutputHelper output) : base("akka.loglevel = WARNING", output)
    {
    }

    protected static CancellationToken None => CancellationToken.None;

    /// <summary>Starts a cluster of <paramref name="size"/> members named m1..mN (heartbeat 100 ms, election 1000 ms: etcd's defaults).</summary>
    protected async Task<LoopbackCluster> StartClusterAsync(int size, Func<ServerOptions, ServerOptions>? configure = null)
    {
        var cluster = await LoopbackCluster.StartAsync(size, new LoopbackClusterOptions
        {
            Configure = configure ?? (options => options),
            Deadline = Deadline,
        });
        _clusters.Add(cluster);
        return cluster;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var cluster in _clusters)
        {
            await cluster.DisposeAsync();
        }
    }

    protected static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    /// <summary>A Put through <paramref name="member"/>, answered once applied there.</summary>
    protected static Task<PutResponse> PutAsync(LoopbackMember member, string key, string value) =>
        member.Server.Gateway.PutAsync(new PutRequest { Key = B(key), Value = B(value) }, None).WaitAsync(Deadline);

    /// <summary>The value of <paramref name="key"/> on <paramref name="member"/>, or null when absent.</summary>
    protected static async Task<string?> GetAsync(LoopbackMember member, string key, bool serializable)
    {
        var response = await member.Server.Gateway.RangeAsync(new RangeRequest { Key = B(key), Serializable = serializable }, None).WaitAsync(Deadline);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    /// <summary>The keys under <paramref name="prefix"/> on <paramref name="member"/>, in order.</summary>
    protected static async Task<IReadOnlyList<string>> KeysAsync(LoopbackMember member, string prefix, bool serializable)
    {
        var end = B(prefix[..^1] + (char)(prefix[^1] + 1));
        var response = await member.Server.Gateway.RangeAsync(new RangeRequest { Key = B(prefix), RangeEnd = end, Serializable = serializable, KeysOnly = true }, None)
            .WaitAsync(Deadline);
        return response.Kvs.Select(kv => kv.Key.ToStringUtf8()).ToList();
    }

    /// <summary>
    /// A linearizable read of <paramref name="key"/> on <paramref name="member"/> as etcd's client library does it: a read
    /// answered "no leader" or "leader changed" (an election, also a spurious one on a loaded machine) is asked again,
    /// until the deadline. Any other error, or a wrong value, is the spec's failure.
    /// </summary>
    protected static async Task<string?> LinearizableGetAsync(LoopbackMember member, string key)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await GetAsync(member, key, serializable: false);
            }
            catch (EtcdException e) when ((e.Message == EtcdErrors.NoLeader.Message || e.Message == EtcdErrors.LeaderChanged.Message)
                && clock.Elapsed < Deadline)
            {
                await Task.Delay(Poll);
            }
        }
    }

    /// <summary>Waits until a serializable (local) read of <paramref name="key"/> on each of <paramref name="members"/> gives <paramref name="value"/>.</summary>
    protected Task AwaitValueAsync(IEnumerable<LoopbackMember> members, string key, string? value) =>
        AwaitAssertAsync(async () =>
        {
            foreach (var member in members)
            {
                Assert.True(value == await GetAsync(member, key, serializable: true),
                    $"{member.Name} does not hold {key}={value ?? "(none)"} yet");
            }
        }, Deadline, Poll);

    /// <summary>Waits until <paramref name="condition"/> holds (every member's state is polled, never slept on).</summary>
    protected Task AwaitTrueAsync(Func<bool> condition, string what) =>
        AwaitAssertAsync(() => Assert.True(condition(), what), Deadline, Poll);

    /// <summary>Asserts <paramref name="error"/> is one of etcd's answers to a request that could not go through consensus.</summary>
    protected static void AssertNotThroughConsensus(EtcdException error) =>
        Assert.True(NotThroughConsensus.Contains(error.Message), $"unexpected error: {error.Message}");

    /// <summary>Waits until <paramref name="member"/>'s transport has been connected to each of <paramref name="peers"/> for
    /// longer than <paramref name="period"/> (etcd's strict reconfig check adds a member only then).</summary>
    protected Task AwaitConnectedFor(LoopbackMember member, IEnumerable<LoopbackMember> peers, TimeSpan period) =>
        AwaitTrueAsync(() => peers.All(peer => member.Server.Transport!.ActiveSince(peer.Id) is { } since
            && since < DateTime.UtcNow - period - TimeSpan.FromMilliseconds(100)), $"connected to every voter for {period.TotalSeconds} s");
}
