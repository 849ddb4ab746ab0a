using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Akka.Etcd.TestDoubles;

namespace Akka.Etcd.Actors.Tests.Server;

/// <summary>
/// The <see cref="PeerRequestsActor"/> of a single in-process member, asked as the peer transport asks it: what another
/// member gets back for each peer request type, answers and errors.
/// </summary>
public sealed class PeerRequestsActorTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-peer-requests-" + Guid.NewGuid().ToString("N"));
    private LocalMember _member = null!;

    /// <inheritdoc />
    public async Task InitializeAsync() =>
        _member = await LocalMember.StartAsync(new ServerOptions
        {
            Name = "m1",
            DataDir = _dir,
            InitialCluster = new Dictionary<string, IReadOnlyList<string>> { ["m1"] = new[] { "http://127.0.0.1:2380" } },
            AdvertisePeerUrls = new[] { "http://127.0.0.1:2380" },
            AdvertiseClientUrls = new[] { "http://127.0.0.1:2379" },
            HeartbeatIntervalMs = 10,
            ElectionTimeoutMs = 100,
        }, NullLoggerFactory.Instance).WaitAsync(Deadline);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await _member.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<IMessage> ServeAsync(IMessage request) =>
        _member.Gateway.AskAsync<IMessage>(_member.Actors.PeerRequests, new PeerRequestsActor.Serve(2, request), CancellationToken.None)
            .WaitAsync(Deadline);

    [Fact]
    public async Task The_member_list_is_the_applied_one_under_this_members_header()
    {
        var list = Assert.IsType<MemberListResponse>(await ServeAsync(new MemberListRequest()));
        Assert.Equal(_member.Status.MemberId, list.Members.Single().ID);
        Assert.Equal("m1", list.Members.Single().Name);
        Assert.Equal(_member.Status.ClusterId, list.Header.ClusterId);
    }

    [Fact]
    public async Task A_HashKV_is_the_local_hash_at_the_revision_and_a_future_revision_is_refused()
    {
        await _member.Gateway.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("a"), Value = ByteString.CopyFromUtf8("1") });
        var own = await _member.Gateway.HashKVAsync(new HashKVRequest());
        var served = Assert.IsType<HashKVResponse>(await ServeAsync(new HashKVRequest { Revision = own.Header.Revision }));
        Assert.Equal(own.Hash, served.Hash);
        var future = await Assert.ThrowsAsync<EtcdException>(() => ServeAsync(new HashKVRequest { Revision = own.Header.Revision + 10 }));
        Assert.Equal(EtcdErrors.FutureRev.Message, future.Message);
    }

    [Fact]
    public async Task A_forwarded_keep_alive_renews_on_the_leaders_lessor_and_an_unknown_lease_is_not_found()
    {
        var grant = await _member.Gateway.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 });
        var renewed = Assert.IsType<LeaseKeepAliveResponse>(await ServeAsync(new LeaseKeepAliveRequest { ID = grant.ID }));
        Assert.Equal(grant.ID, renewed.ID);
        Assert.Equal(60, renewed.TTL);
        var unknown = await Assert.ThrowsAsync<EtcdException>(() => ServeAsync(new LeaseKeepAliveRequest { ID = 0x5eed }));
        Assert.Equal(EtcdErrors.LeaseNotFound.Message, unknown.Message);
    }

    [Fact]
    public async Task A_forwarded_promote_of_an_unknown_member_gets_the_leaders_error()
    {
        var error = await Assert.ThrowsAsync<EtcdException>(() => ServeAsync(new MemberPromoteRequest { ID = 0x1234 }));
        Assert.Equal(EtcdErrors.MemberNotFound.Message, error.Message);
    }

    [Fact]
    public async Task A_request_type_it_does_not_serve_is_unimplemented()
    {
        var error = await Assert.ThrowsAsync<EtcdException>(() => ServeAsync(new AlarmRequest()));
        Assert.Equal(RpcStatusCode.Unimplemented, error.Code);
    }
}
