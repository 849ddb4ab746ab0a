using System.Diagnostics;
using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>
/// etcd's graceful stop (<c>Stop</c> → <c>TransferLeadership</c> → <c>MoveLeader</c>; here <see cref="LocalMember.StopAsync"/> →
/// <see cref="LeadershipTransfer"/>): the choice of the
/// transferee, and three in-process members over <see cref="InMemoryPeerNetwork"/>.
/// </summary>
public sealed class LeadershipTransferTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "akka-etcd-xfer-" + Guid.NewGuid().ToString("N"));
    private readonly List<LocalMember> _servers = new();

    [Fact]
    public void Longest_connected_picks_the_earliest_connected_candidate_and_skips_those_down()
    {
        var t0 = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var since = new Dictionary<ulong, DateTime?> { [1] = t0.AddSeconds(5), [2] = null, [3] = t0.AddSeconds(1), [4] = t0.AddSeconds(9) };
        Assert.Equal(3UL, LeadershipTransfer.LongestConnected([1, 2, 3, 4], id => since[id]));
        Assert.Equal(1UL, LeadershipTransfer.LongestConnected([2, 1, 4], id => since[id]));
        Assert.Null(LeadershipTransfer.LongestConnected([2], id => since[id]));
        Assert.Null(LeadershipTransfer.LongestConnected([], id => since[id]));
    }

    [Fact]
    public async Task A_single_voter_skips_the_transfer_and_stops()
    {
        var server = await LocalMember.StartAsync(Options("m1", ["m1"]), NullLoggerFactory.Instance).WaitAsync(Deadline);
        Assert.True(server.Status.IsLeader);
        Assert.Equal(0UL, await LeadershipTransfer.TransferAsync(server.Gateway));
        Assert.Equal(TimeSpan.FromMilliseconds(5000 + 2 * 100), server.Gateway.RequestTimeout);
        await server.StopAsync().WaitAsync(Deadline);
        await server.StopAsync().WaitAsync(Deadline);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_the_leader_hands_leadership_to_a_survivor_before_it_returns_and_keeps_every_write()
    {
        await StartClusterAsync(3);
        var leader = await WaitForAgreedLeaderAsync(_servers);
        for (var i = 0; i < 20; i++)
        {
            await leader.Gateway.PutAsync(new PutRequest { Key = B($"k{i:D2}"), Value = B($"v{i}") }, CancellationToken.None).WaitAsync(Deadline);
        }
        var survivors = _servers.Where(s => s != leader).ToList();

        await leader.StopAsync().WaitAsync(Deadline);

        // No election timeout sat out: a survivor already leads when Stop returns.
        Assert.Contains(survivors, s => s.Status.IsLeader);
        var newLeader = await WaitForAgreedLeaderAsync(survivors);
        var range = await newLeader.Gateway.RangeAsync(new RangeRequest { Key = B("k"), RangeEnd = B("l") }, CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(20, range.Count);
        var put = await newLeader.Gateway.PutAsync(new PutRequest { Key = B("after"), Value = B("x") }, CancellationToken.None).WaitAsync(Deadline);
        Assert.Equal(22, put.Header.Revision);
    }

    [Fact]
    public async Task A_follower_skips_the_transfer_and_the_leader_keeps_leading()
    {
        await StartClusterAsync(3);
        var leader = await WaitForAgreedLeaderAsync(_servers);
        var follower = _servers.First(s => s != leader);
        Assert.Equal(0UL, await LeadershipTransfer.TransferAsync(follower.Gateway));
        await follower.StopAsync().WaitAsync(Deadline);
        Assert.True(leader.Status.IsLeader);
    }

    [Fact]
    public async Task Transfer_leadership_moves_it_to_the_longest_connected_voter()
    {
        await StartClusterAsync(3);
        var leader = await WaitForAgreedLeaderAsync(_servers);
        var expected = LeadershipTransfer.LongestConnected(
            _servers.Where(s => s != leader).Select(s => s.Status.MemberId), leader.Transport!.ActiveSince);
        var moved = await LeadershipTransfer.TransferAsync(leader.Gateway).WaitAsync(Deadline);
        Assert.Equal(expected, moved);
        Assert.Equal(moved, (await WaitForAgreedLeaderAsync(_servers)).Status.MemberId);
        Assert.False(leader.Status.IsLeader);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private static string PeerUrl(string name) => $"http://127.0.0.1:{23800 + int.Parse(name[1..])}";

    private ServerOptions Options(string name, IReadOnlyList<string> cluster) => new()
    {
        Name = name,
        DataDir = Path.Combine(_root, name),
        InitialCluster = cluster.ToDictionary(n => n, n => (IReadOnlyList<string>)[PeerUrl(n)]),
        InitialClusterToken = "xfer",
        AdvertisePeerUrls = [PeerUrl(name)],
        AdvertiseClientUrls = [$"http://127.0.0.1:{23700 + int.Parse(name[1..])}"],
        HeartbeatIntervalMs = 10,
        ElectionTimeoutMs = 100,
    };

    private async Task StartClusterAsync(int size)
    {
        var network = new InMemoryPeerNetwork();
        var names = Enumerable.Range(1, size).Select(i => $"m{i}").ToList();
        foreach (var name in names)
        {
            _servers.Add(await LocalMember.OpenAsync(Options(name, names), NullLoggerFactory.Instance,
                (memberId, _) => network.Create(memberId)));
        }
        await Task.WhenAll(_servers.Select(s => s.WaitUntilReadyAsync())).WaitAsync(Deadline);
    }

    /// <summary>Waits until every one of <paramref name="servers"/> names the same leader, which is one of them.</summary>
    private static async Task<LocalMember> WaitForAgreedLeaderAsync(IReadOnlyList<LocalMember> servers)
    {
        var clock = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (true)
        {
            var leader = servers.FirstOrDefault(s => s.Status.IsLeader);
            if (leader is not null && servers.All(s => s.Status.Leader == leader.Status.MemberId))
            {
                return leader;
            }
            Assert.True(clock.Elapsed < Deadline, "the members did not agree on a leader");
            await poll.WaitForNextTickAsync();
        }
    }
}
