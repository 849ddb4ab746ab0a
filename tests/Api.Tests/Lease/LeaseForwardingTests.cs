using System.Net;
using System.Net.Http.Headers;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Api.Services;
using Akka.Etcd.Api.Tests.Grpc;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Tests.Lease;

/// <summary>
/// Keep-alive and time-to-live on a follower of a 3-member in-process cluster go to the leader over the peer port
/// (etcd 3.4's leasehttp), and the peer routes answer etcd's status codes.
/// </summary>
public sealed class LeaseForwardingTests : IClassFixture<InProcessCluster>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly InProcessCluster _cluster;

    public LeaseForwardingTests(InProcessCluster cluster) => _cluster = cluster;

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private async Task<long> GrantAsync(long ttl) =>
        (await _cluster.Leader.LeaseGrantAsync(new LeaseGrantRequest { TTL = ttl }, None).WaitAsync(InProcessCluster.Deadline)).ID;

    [Fact]
    public async Task A_keep_alive_on_a_follower_is_renewed_by_the_leader_and_answered_under_the_followers_header()
    {
        var id = await GrantAsync(40);
        var follower = _cluster.Follower;

        var response = await follower.LeaseKeepAliveAsync(id, None).WaitAsync(InProcessCluster.Deadline);

        Assert.Equal(id, response.ID);
        Assert.Equal(40, response.TTL);
        Assert.Equal(follower.Status.MemberId, response.Header.MemberId);
        Assert.Equal(follower.Status.ClusterId, response.Header.ClusterId);
    }

    [Fact]
    public async Task A_keep_alive_of_an_unknown_lease_on_a_follower_answers_TTL_0_as_the_leader_does()
    {
        var onFollower = await _cluster.Follower.LeaseKeepAliveAsync(0x7eadbeef, None).WaitAsync(InProcessCluster.Deadline);
        var onLeader = await _cluster.Leader.LeaseKeepAliveAsync(0x7eadbeef, None).WaitAsync(InProcessCluster.Deadline);

        Assert.Equal(0, onFollower.TTL);
        Assert.Equal(0, onLeader.TTL);
        Assert.Equal(0x7eadbeef, onFollower.ID);
    }

    [Fact]
    public async Task Time_to_live_on_a_follower_comes_from_the_leader_with_keys_and_TTL_minus_1_for_an_unknown_lease()
    {
        var id = await GrantAsync(50);
        var follower = _cluster.Follower;
        await follower.PutAsync(new PutRequest { Key = B("lease-fwd/a"), Value = B("1"), Lease = id }, None).WaitAsync(InProcessCluster.Deadline);
        await follower.PutAsync(new PutRequest { Key = B("lease-fwd/b"), Value = B("2"), Lease = id }, None).WaitAsync(InProcessCluster.Deadline);

        var withKeys = await follower.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = id, Keys = true }, None)
            .WaitAsync(InProcessCluster.Deadline);
        var withoutKeys = await follower.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = id }, None)
            .WaitAsync(InProcessCluster.Deadline);
        var unknown = await follower.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 0x5eed, Keys = true }, None)
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
    public async Task The_leaders_peer_routes_answer_etcds_status_codes_and_a_follower_refuses_to_renew()
    {
        var id = await GrantAsync(30);
        using var http = new HttpClient();
        var leaderUrl = _cluster.PeerUrlOf(_cluster.Leader);

        using var renewed = await PostAsync(http, leaderUrl + LeaseHttpProtocol.RenewPath, new LeaseKeepAliveRequest { ID = id }.ToByteArray());
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        Assert.Equal(LeaseHttpProtocol.ContentType, renewed.Content.Headers.ContentType?.MediaType);
        var renewal = LeaseKeepAliveResponse.Parser.ParseFrom(await renewed.Content.ReadAsByteArrayAsync());
        Assert.Equal((id, 30L), (renewal.ID, renewal.TTL));

        using var unknown = await PostAsync(http, leaderUrl + LeaseHttpProtocol.RenewPath, new LeaseKeepAliveRequest { ID = 0x1234 }.ToByteArray());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("lease not found\n", await unknown.Content.ReadAsStringAsync());

        using var unknownTtl = await PostAsync(http, leaderUrl + LeaseHttpProtocol.TimeToLivePath,
            LeaseHttpProtocol.EncodeInternalRequest(new LeaseTimeToLiveRequest { ID = 0x1234 }));
        Assert.Equal(HttpStatusCode.NotFound, unknownTtl.StatusCode);

        using var garbage = await PostAsync(http, leaderUrl + LeaseHttpProtocol.RenewPath, [0xff, 0xff, 0xff]);
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Equal("error unmarshalling request\n", await garbage.Content.ReadAsStringAsync());

        using var get = await http.GetAsync(leaderUrl + LeaseHttpProtocol.RenewPath);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);

        var followerUrl = _cluster.PeerUrlOf(_cluster.Follower);
        using var notPrimary = await PostAsync(http, followerUrl + LeaseHttpProtocol.RenewPath, new LeaseKeepAliveRequest { ID = id }.ToByteArray());
        Assert.Equal(HttpStatusCode.BadRequest, notPrimary.StatusCode);
        Assert.Equal("not a primary lessor\n", await notPrimary.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_lease_http_client_maps_answers_to_TTLs_not_found_and_retryable_failures()
    {
        var id = await GrantAsync(25);
        var client = LeaseHttpClient.Shared;
        var leaderUrl = _cluster.PeerUrlOf(_cluster.Leader);

        Assert.Equal(25, await client.RenewAsync(leaderUrl, id, None));
        var ttl = await client.TimeToLiveAsync(leaderUrl, new LeaseTimeToLiveRequest { ID = id, Keys = true }, None);
        Assert.Equal((id, 25L), (ttl.ID, ttl.GrantedTTL));
        var notFound = await Assert.ThrowsAsync<EtcdException>(() => client.RenewAsync(leaderUrl, 0x4321, None));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, notFound.Message);

        var notPrimary = await Assert.ThrowsAsync<LeaseForwardException>(() =>
            client.RenewAsync(_cluster.PeerUrlOf(_cluster.Follower), id, None));
        Assert.Equal("lease: unknown error(not a primary lessor)", notPrimary.Message);
        await Assert.ThrowsAsync<LeaseForwardException>(() => client.RenewAsync("http://127.0.0.1:1", id, None));
    }

    [Fact]
    public async Task A_LeaseKeepAlive_stream_on_a_follower_answers_every_request_in_order_and_stays_open()
    {
        var first = await GrantAsync(60);
        var second = await GrantAsync(70);
        await using var host = await TestHost.StartAsync(new LeaseService(_cluster.Follower));
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

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string url, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(LeaseHttpProtocol.ContentType);
        return http.PostAsync(url, content);
    }
}
