using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Raftpb;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>Linearizable reads on three in-process members joined by an in-memory transport.</summary>
public sealed class ThreeMemberReadTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-3m-" + Guid.NewGuid().ToString("N"));
    private readonly InMemoryPeerNetwork _network = new();
    private readonly List<LocalMember> _members = [];

    private ServerOptions Options(int i)
    {
        var cluster = Enumerable.Range(1, 3).ToDictionary(n => $"m{n}", n => (IReadOnlyList<string>)[$"http://127.0.0.1:{23800 + n}"]);
        return new ServerOptions
        {
            Name = $"m{i}",
            DataDir = Path.Combine(_dir, $"m{i}"),
            InitialCluster = cluster,
            AdvertisePeerUrls = cluster[$"m{i}"],
            AdvertiseClientUrls = [$"http://127.0.0.1:{23790 + i}"],
            // Elections only when a leader is really gone: at 100 ms a loaded 2-core machine (the suite runs test classes
            // in parallel) stalls a member long enough to start one, and in-flight reads then fail with "leader changed".
            HeartbeatIntervalMs = 50,
            ElectionTimeoutMs = 500,
        };
    }

    public async Task InitializeAsync()
    {
        for (var i = 1; i <= 3; i++)
        {
            _members.Add(await LocalMember.OpenAsync(Options(i), NullLoggerFactory.Instance, _network.Create).WaitAsync(Deadline));
        }
        await Task.WhenAll(_members.Select(m => m.WaitUntilReadyAsync())).WaitAsync(Deadline);
    }

    public async Task DisposeAsync()
    {
        foreach (var member in _members)
        {
            await member.DisposeAsync();
        }
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private LocalMember Leader() => _members.Single(m => m.Status.IsLeader);

    private IEnumerable<LocalMember> Followers() => _members.Where(m => !m.Status.IsLeader);

    [Fact]
    public async Task Concurrent_linearizable_reads_on_every_member_all_see_the_latest_write()
    {
        await Leader().Gateway.PutAsync(new PutRequest { Key = B("foo"), Value = B("bar") }, CancellationToken.None).WaitAsync(Deadline);
        // Many rounds on all three members at once: each member numbers its read contexts from its own counter.
        var reads = _members.SelectMany(m => Enumerable.Range(0, 300)
            .Select(_ => m.Gateway.RangeAsync(new RangeRequest { Key = B("foo") }, CancellationToken.None)));
        var responses = await Task.WhenAll(reads).WaitAsync(Deadline);
        Assert.All(responses, r => Assert.Equal("bar", Assert.Single(r.Kvs).Value.ToStringUtf8()));
    }

    [Fact]
    public async Task A_follower_read_whose_read_index_request_was_lost_is_retried_well_before_the_request_timeout()
    {
        await Leader().Gateway.PutAsync(new PutRequest { Key = B("foo"), Value = B("bar") }, CancellationToken.None).WaitAsync(Deadline);
        var follower = Followers().First();
        var lost = 0;
        _network.Drop = m => m.Type == MessageType.MsgReadIndex && m.From == follower.Status.MemberId && Interlocked.Exchange(ref lost, 1) == 0;

        // The request timeout is 6 s here; the retry after 500 ms must answer long before it.
        var response = await follower.Gateway.RangeAsync(new RangeRequest { Key = B("foo") }, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(3));

        Assert.Equal(1, Volatile.Read(ref lost));
        Assert.Equal("bar", Assert.Single(response.Kvs).Value.ToStringUtf8());
    }
}
