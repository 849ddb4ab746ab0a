using Akka.Etcd.Actors.Server;
using Akka.Etcd.Api.Services;
using Akka.Etcd.Api.Tests.Grpc;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Api.Tests.Lease;

/// <summary>
/// Keep-alive and time-to-live on a follower of a 3-member in-process cluster go to the leader over the peer transport
/// (Akka.Remote; etcd 3.4 uses leasehttp), and the leader's answers keep etcd's errors.
/// </summary>
public sealed class LeaseForwardingTests : IClassFixture<InProcessCluster>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly InProcessCluster _cluster;

    public LeaseForwardingTests(InProcessCluster cluster) => _cluster = cluster;

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private async Task<long> GrantAsync(long ttl) =>
        (await (await _cluster.LeaderAsync()).Gateway.LeaseGrantAsync(new LeaseGrantRequest { TTL = ttl }, None).WaitAsync(InProcessCluster.Deadline)).ID;

    [Fact]
    public async Task A_keep_alive_on_a_follower_is_renewed_by_the_leader_and_answered_under_the_followers_header()
    {
        var id = await GrantAsync(40);
        var follower = await _cluster.FollowerAsync();

        var response = await new LeaseForwarding(follower.Gateway).LeaseKeepAliveAsync(id, None).WaitAsync(InProcessCluster.Deadline);

        Assert.Equal(id, response.ID);
        Assert.Equal(40, response.TTL);
        Assert.Equal(follower.Status.MemberId, response.Header.MemberId);
        Assert.Equal(follower.Status.ClusterId, response.Header.ClusterId);
    }

    [Fact]
    public async Task A_keep_alive_of_an_unknown_lease_on_a_follower_answers_TTL_0_as_the_leader_does()
    {
        var onFollower = await new LeaseForwarding((await _cluster.FollowerAsync()).Gateway).LeaseKeepAliveAsync(0x7eadbeef, None).WaitAsync(InProcessCluster.Deadline);
        var onLeader = await new LeaseForwarding((await _cluster.LeaderAsync()).Gateway).LeaseKeepAliveAsync(0x7eadbeef, None).WaitAsync(InProcessCluster.Deadline);

        Assert.Equal(0, onFollower.TTL);
        Assert.Equal(0, onLeader.TTL);
        Assert.Equal(0x7eadbeef, onFollower.ID);
    }

    [Fact]
    public async Task Time_to_live_on_a_follower_comes_from_the_leader_with_keys_and_TTL_minus_1_for_an_unknown_lease()
    {
        var id = await GrantAsync(50);
        var follower = await _cluster.FollowerAsync();
        await follower.Gateway.PutAsync(new PutRequest { Key = B("lease-fwd/a"), Value = B("1"), Lease = id }, None).WaitAsync(InProcessCluster.Deadline);
        await follower.Gateway.PutAsync(new PutRequest { Key = B("lease-fwd/b"), Value = B("2"), Lease = id }, None).WaitAsync(InProcessCluster.Deadline);

        var withKeys = await follower.Gateway.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = id, Keys = true }, None)
            .WaitAsync(InProcessCluster.Deadline);
        var withoutKeys = await follower.Gateway.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = id }, None)
            .WaitAsync(InProcessCluster.Deadline);
        var unknown = await follower.Gateway.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 0x5eed, Keys = true }, None)
            .WaitAsync(InProcessCluster.Deadline);

        Assert.Equal(id, withKeys.ID);
        Assert.Equal(50, withKeys.GrantedTTL);
        Assert.InRange(withKeys.TTL, 45, 50);
        Assert.Equal(["lease-fwd/a", "lease-fwd/b"], withKeys.Keys.Select(k => k.ToStringUtf8()));
        Assert.Equal(follower.Status.MemberId, withKeys.Header.MemberId);
        Assert.Empty(withoutKeys.Keys);
        Assert.Equal(-1, unknown.TTL);
        Assert.Equal(0x5eed, unknown.ID);
        Assert.Equal(follower.Status.MemberId, unknown.Header.MemberId);
    }

    [Fact]
    public async Task The_leader_answers_forwarded_lease_requests_with_etcds_errors_and_a_follower_refuses_to_renew()
    {
        var id = await GrantAsync(30);
        var leader = await _cluster.LeaderAsync();
        var follower = await _cluster.FollowerAsync();
        var peers = InProcessCluster.PeersOf(follower);
        var timeout = TimeSpan.FromSeconds(5);

        var renewal = (LeaseKeepAliveResponse)await peers.AskAsync(leader.Status.MemberId, new LeaseKeepAliveRequest { ID = id }, timeout, None);
        Assert.Equal((id, 30L), (renewal.ID, renewal.TTL));

        var unknown = await Assert.ThrowsAsync<EtcdException>(() =>
            peers.AskAsync(leader.Status.MemberId, new LeaseKeepAliveRequest { ID = 0x1234 }, timeout, None));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, unknown.Message);
        var unknownTtl = await Assert.ThrowsAsync<EtcdException>(() =>
            peers.AskAsync(leader.Status.MemberId, new LeaseTimeToLiveRequest { ID = 0x1234 }, timeout, None));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, unknownTtl.Message);

        var other = _cluster.Members.First(m => m != leader && m != follower);
        var notPrimary = await Assert.ThrowsAsync<EtcdException>(() =>
            InProcessCluster.PeersOf(leader).AskAsync(other.Status.MemberId, new LeaseKeepAliveRequest { ID = id }, timeout, None));
        Assert.Equal(EtcdErrors.NotLeader.Message, notPrimary.Message);

        var stranger = await Assert.ThrowsAsync<EtcdException>(() => peers.AskAsync(0x42, new LeaseKeepAliveRequest { ID = id }, timeout, None));
        Assert.Equal(RpcStatusCode.Unavailable, stranger.Code);
    }

    [Fact]
    public async Task MemberPromote_on_a_follower_is_answered_by_the_leader_with_its_error()
    {
        // A learner that never starts: only the leader knows its progress (none), so it is never ready.
        var peerUrl = $"http://127.0.0.1:{Akka.Etcd.TestDoubles.RemotingTestConfig.FreePorts(1)[0]}";
        var added = await RetryWhileUnhealthyAsync(async () => await new MemberChanges((await _cluster.LeaderAsync()).Gateway).MemberAddAsync(
            new MemberAddRequest { IsLearner = true, PeerURLs = { peerUrl } }, None));
        var follower = await _cluster.FollowerAsync();
        // The follower checks the member against its own list first: wait until it applied the add.
        using (var applied = new CancellationTokenSource(InProcessCluster.Deadline))
        {
            while (!follower.Membership.Members.Any(member => member.ID == added.Member.ID))
            {
                await Task.Delay(20, applied.Token);
            }
        }

        var error = await Assert.ThrowsAsync<EtcdException>(() =>
            new MemberChanges(follower.Gateway).MemberPromoteAsync(new MemberPromoteRequest { ID = added.Member.ID }, None).WaitAsync(InProcessCluster.Deadline));

        Assert.Equal(EtcdErrors.LearnerNotReady.Message, error.Message);
    }

    /// <summary>etcd refuses membership changes until every voter has been connected for 5 s; retry until then.</summary>
    private static async Task<T> RetryWhileUnhealthyAsync<T>(Func<Task<T>> call)
    {
        using var deadline = new CancellationTokenSource(InProcessCluster.Deadline);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (EtcdException ex) when (ex.Message == EtcdErrors.Unhealthy.Message && !deadline.IsCancellationRequested)
            {
                await Task.Delay(200, deadline.Token);
            }
        }
    }

    [Fact]
    public async Task A_LeaseKeepAlive_stream_on_a_follower_answers_every_request_in_order_and_stays_open()
    {
        var first = await GrantAsync(60);
        var second = await GrantAsync(70);
        await using var host = await TestHost.StartAsync(new LeaseService((await _cluster.FollowerAsync()).Gateway));
        using var call = new global::Etcdserverpb.Lease.LeaseClient(host.Channel).LeaseKeepAlive();

        var answers = new List<(long Id, long Ttl)>();
        foreach (var id in new[] { first, 0x77, second, first })
        {
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = id }).WaitAsync(InProcessCluster.Deadline);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(InProcessCluster.Deadline));
            answers.Add((call.ResponseStream.Current.ID, call.ResponseStream.Current.TTL));
        }
        await call.RequestStream.CompleteAsync().WaitAsync(InProcessCluster.Deadline);

        Assert.Equal([(first, 60L), (0x77L, 0L), (second, 70L), (first, 60L)], answers);
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(InProcessCluster.Deadline));
    }

}
