extern alias DotnetEtcd;
using System.Threading.Channels;
using Akka.Etcd.EndToEnd.Tests.Harness;
using DotnetEtcd::dotnet_etcd;
using Google.Protobuf;
using Grpc.Core;
using DnPb = DotnetEtcd::Etcdserverpb;

namespace Akka.Etcd.EndToEnd.Tests.Client;

/// <summary>
/// dotnet-etcd 10, a user-level .NET client with its own generated stubs, against a member started as a process, and
/// the same calls against etcd 3.4: KV, Txn, Watch, Lease, Lock, Election, Cluster and Maintenance answer alike.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DotnetEtcdTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    private static EtcdClient Connect(MemberProcess member) => new(member.ClientUrl);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Kv_put_get_range_delete_and_txn(ServerKind kind)
    {
        await using var member = await MemberProcess.StartAsync(kind);
        using var client = Connect(member);

        var put = await client.PutAsync("dn/a", "1").WaitAsync(Deadline);
        await client.PutAsync("dn/b", "2").WaitAsync(Deadline);
        await client.PutAsync("dn/c", "3").WaitAsync(Deadline);
        Assert.True(put.Header.Revision > 1);
        Assert.Equal("1", await client.GetValAsync("dn/a").WaitAsync(Deadline));

        var range = await client.GetRangeAsync("dn/").WaitAsync(Deadline);
        Assert.Equal(["dn/a", "dn/b", "dn/c"], range.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        var limited = await client.GetAsync(new DnPb.RangeRequest { Key = B("dn/"), RangeEnd = B("dn0"), Limit = 2 }).WaitAsync(Deadline);
        Assert.Equal(2, limited.Kvs.Count);
        Assert.True(limited.More);
        Assert.Equal(3, limited.Count);

        var deleted = await client.DeleteAsync("dn/a").WaitAsync(Deadline);
        Assert.Equal(1, deleted.Deleted);
        Assert.Equal(string.Empty, await client.GetValAsync("dn/a").WaitAsync(Deadline));

        var txn = new DnPb.TxnRequest
        {
            Compare =
            {
                new DnPb.Compare
                {
                    Key = B("dn/b"), Target = DnPb.Compare.Types.CompareTarget.Value,
                    Result = DnPb.Compare.Types.CompareResult.Equal, Value = B("2"),
                },
            },
            Success = { new DnPb.RequestOp { RequestPut = new DnPb.PutRequest { Key = B("dn/b"), Value = B("two") } } },
            Failure = { new DnPb.RequestOp { RequestRange = new DnPb.RangeRequest { Key = B("dn/b") } } },
        };
        var first = await client.TransactionAsync(txn).WaitAsync(Deadline);
        var second = await client.TransactionAsync(txn).WaitAsync(Deadline);
        Assert.True(first.Succeeded);
        Assert.False(second.Succeeded);
        Assert.Equal("two", second.Responses[0].ResponseRange.Kvs[0].Value.ToStringUtf8());

        var removed = await client.DeleteRangeAsync("dn/").WaitAsync(Deadline);
        Assert.Equal(2, removed.Deleted);

        var empty = await Assert.ThrowsAsync<RpcException>(() => client.PutAsync("", "x").WaitAsync(Deadline));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Equal("etcdserver: key is not provided", empty.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Watch_delivers_puts_and_deletes_in_order(ServerKind kind)
    {
        await using var member = await MemberProcess.StartAsync(kind);
        using var client = Connect(member);
        var events = Channel.CreateUnbounded<(string Type, string Key, string Value)>();
        using var stop = new CancellationTokenSource();

        // Watched from the revision of a put made before the watch exists: history replay makes the first event certain.
        var start = await client.PutAsync("dw/start", "s").WaitAsync(Deadline);
        var watching = client.WatchAsync(new DnPb.WatchRequest
        {
            CreateRequest = new DnPb.WatchCreateRequest { Key = B("dw/"), RangeEnd = B("dw0"), StartRevision = start.Header.Revision },
        }, (DnPb.WatchResponse response) =>
        {
            foreach (var e in response.Events)
                events.Writer.TryWrite((e.Type.ToString(), e.Kv.Key.ToStringUtf8(), e.Kv.Value.ToStringUtf8()));
        }, cancellationToken: stop.Token);

        Assert.Equal(("Put", "dw/start", "s"), await events.Reader.ReadAsync().AsTask().WaitAsync(Deadline));
        await client.PutAsync("dw/k", "v1").WaitAsync(Deadline);
        await client.PutAsync("dw/k", "v2").WaitAsync(Deadline);
        await client.DeleteAsync("dw/k").WaitAsync(Deadline);
        var seen = new List<(string, string, string)>();
        while (seen.Count < 3)
            seen.Add(await events.Reader.ReadAsync().AsTask().WaitAsync(Deadline));

        Assert.Equal([("Put", "dw/k", "v1"), ("Put", "dw/k", "v2"), ("Delete", "dw/k", "")], seen);
        await stop.CancelAsync();
        await watching.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(Deadline);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Lease_grant_keep_alive_time_to_live_and_revoke(ServerKind kind)
    {
        await using var member = await MemberProcess.StartAsync(kind);
        using var client = Connect(member);

        var lease = await client.LeaseGrantAsync(new DnPb.LeaseGrantRequest { TTL = 60 }).WaitAsync(Deadline);
        Assert.Equal(60, lease.TTL);
        await client.PutAsync(new DnPb.PutRequest { Key = B("dl/k"), Value = B("v"), Lease = lease.ID }).WaitAsync(Deadline);

        var renewed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (var stop = new CancellationTokenSource())
        {
            var keepAlive = client.LeaseKeepAlive(new DnPb.LeaseKeepAliveRequest { ID = lease.ID },
                response => renewed.TrySetResult(response.TTL), stop.Token, null);
            Assert.Equal(60, await renewed.Task.WaitAsync(Deadline));
            await stop.CancelAsync();
            await keepAlive.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(Deadline);
        }

        var ttl = await client.LeaseTimeToLiveAsync(new DnPb.LeaseTimeToLiveRequest { ID = lease.ID, Keys = true }).WaitAsync(Deadline);
        Assert.Equal(60, ttl.GrantedTTL);
        Assert.InRange(ttl.TTL, 50, 60);
        Assert.Equal(["dl/k"], ttl.Keys.Select(k => k.ToStringUtf8()));
        var leases = await client.LeaseLeasesAsync().WaitAsync(Deadline);
        Assert.Contains(leases.Leases, l => l.ID == lease.ID);

        await client.LeaseRevokeAsync(new DnPb.LeaseRevokeRequest { ID = lease.ID }).WaitAsync(Deadline);
        Assert.Equal(string.Empty, await client.GetValAsync("dl/k").WaitAsync(Deadline));
        var gone = await client.LeaseTimeToLiveAsync(new DnPb.LeaseTimeToLiveRequest { ID = lease.ID }).WaitAsync(Deadline);
        Assert.Equal(-1, gone.TTL);
        var again = await Assert.ThrowsAsync<RpcException>(() =>
            client.LeaseRevokeAsync(new DnPb.LeaseRevokeRequest { ID = lease.ID }).WaitAsync(Deadline));
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
        Assert.Equal("etcdserver: requested lease not found", again.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Lock_and_election(ServerKind kind)
    {
        await using var member = await MemberProcess.StartAsync(kind);
        using var client = Connect(member);
        var lease = await client.LeaseGrantAsync(new DnPb.LeaseGrantRequest { TTL = 60 }).WaitAsync(Deadline);

        var held = await client.LockAsync("dlock", lease.ID).WaitAsync(Deadline);
        Assert.StartsWith("dlock/", held.Key.ToStringUtf8());
        await client.UnlockAsync(held.Key.ToStringUtf8()).WaitAsync(Deadline);
        Assert.Equal(0, (await client.GetRangeAsync("dlock/").WaitAsync(Deadline)).Count);

        var noLeader = await Assert.ThrowsAsync<RpcException>(() => client.LeaderAsync("delect").WaitAsync(Deadline));
        Assert.Equal("election: no leader", noLeader.Status.Detail);
        var won = await client.CampaignAsync("delect", lease.ID, "first").WaitAsync(Deadline);
        var leader = await client.LeaderAsync("delect").WaitAsync(Deadline);
        Assert.Equal("first", leader.Kv.Value.ToStringUtf8());
        await client.ProclaimAsync(won.Leader, "second").WaitAsync(Deadline);
        Assert.Equal("second", (await client.LeaderAsync("delect").WaitAsync(Deadline)).Kv.Value.ToStringUtf8());
        await client.ResignAsync(won.Leader).WaitAsync(Deadline);
        var notLeader = await Assert.ThrowsAsync<RpcException>(() => client.ProclaimAsync(won.Leader, "third").WaitAsync(Deadline));
        Assert.Equal("election: not leader", notLeader.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Cluster_member_list_and_maintenance(ServerKind kind)
    {
        await using var member = await MemberProcess.StartAsync(kind);
        using var client = Connect(member);
        await client.PutAsync("dm/k", "v").WaitAsync(Deadline);

        var members = await client.MemberListAsync(new DnPb.MemberListRequest()).WaitAsync(Deadline);
        var self = Assert.Single(members.Members);
        Assert.Equal(member.Name, self.Name);
        Assert.Equal([member.PeerUrl], self.PeerURLs);
        Assert.Equal([member.ClientUrl], self.ClientURLs);

        var status = await client.StatusAsync(new DnPb.StatusRequest()).WaitAsync(Deadline);
        Assert.Equal("3.4.23", status.Version);
        Assert.Equal(self.ID, status.Leader);
        Assert.True(status.DbSize > 0);

        var alarms = await client.AlarmAsync(new DnPb.AlarmRequest { Action = DnPb.AlarmRequest.Types.AlarmAction.Get }).WaitAsync(Deadline);
        Assert.Empty(alarms.Alarms);
        Assert.NotNull(await client.DefragmentAsync(new DnPb.DefragmentRequest()).WaitAsync(Deadline));
        var hash = await client.HashKVAsync(new DnPb.HashKVRequest()).WaitAsync(Deadline);
        var sameHash = await client.HashKVAsync(new DnPb.HashKVRequest()).WaitAsync(Deadline);
        Assert.NotEqual(0u, hash.Hash);
        Assert.Equal(hash.Hash, sameHash.Hash);
    }
}
