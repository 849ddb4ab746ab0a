using Akka.Etcd.EndToEnd.Tests.Harness;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Auth;

/// <summary>
/// With auth on, every checked RPC (KV, Txn, Watch, Lease, Lock, Cluster, Maintenance, Auth) is refused without a token,
/// with an expired token, with a deleted user's token, and with a permission one key short of the range, and nothing
/// changes: the same calls against etcd 3.4 and ours must be refused with the same codes and texts, and the store's
/// revision and keys must be as before.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AuthDenialTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    [Fact]
    public async Task Every_rpc_is_refused_without_valid_credentials_or_a_covering_permission_and_nothing_changes()
    {
        var etcd = await RunAsync(ServerKind.Etcd);
        output.WriteLine(string.Join('\n', etcd));
        Assert.Contains("none KV.Range: InvalidArgument etcdserver: user name is empty", etcd);
        Assert.Contains("expired KV.Put: Unauthenticated etcdserver: invalid auth token", etcd);
        Assert.Contains("deleted KV.Range: Unauthenticated etcdserver: invalid auth token", etcd);
        Assert.Contains("short KV.Range: PermissionDenied etcdserver: permission denied", etcd);
        if (!ServerKinds.OursEnabled) return;
        var ours = await RunAsync(ServerKind.Ours);
        Assert.Equal(etcd, ours);
    }

    /// <summary>
    /// The refusals of <paramref name="kind"/>'s member, one line per case and RPC. The expired token is tried on a member
    /// whose simple tokens live one second after their last use, so that one expires within the test; every other case
    /// runs on a member with the default TTL (five minutes), so no token there can expire between being fetched and
    /// used, however long a loaded machine takes between the two.
    /// </summary>
    private async Task<List<string>> RunAsync(ServerKind kind)
    {
        var results = new List<string>();
        await using (var shortLived = await MemberProcess.StartAsync(kind, "m1", ["--auth-token-ttl", "1"]))
            results.AddRange(await RefusalsAsync(shortLived, expiredOnly: true));
        await using (var member = await MemberProcess.StartAsync(kind, "m1", []))
            results.AddRange(await RefusalsAsync(member, expiredOnly: false));
        return results;
    }

    /// <summary>
    /// Sets up users, roles, keys and a lease on <paramref name="member"/>, enables auth and runs every RPC with the
    /// expired token (<paramref name="expiredOnly"/>) or else with no token, a deleted user's token and a token one key
    /// short; asserts that the store's revision and keys did not change.
    /// </summary>
    private async Task<List<string>> RefusalsAsync(MemberProcess member, bool expiredOnly)
    {
        using var channel = GrpcChannel.ForAddress(member.ClientUrl);
        var kv = new KV.KVClient(channel);
        var auth = new Etcdserverpb.Auth.AuthClient(channel);
        var lease = new Etcdserverpb.Lease.LeaseClient(channel);
        var watch = new Watch.WatchClient(channel);
        var cluster = new Etcdserverpb.Cluster.ClusterClient(channel);
        var maintenance = new Maintenance.MaintenanceClient(channel);
        var locks = new V3Lockpb.Lock.LockClient(channel);

        await auth.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = "rootpw" });
        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
        await auth.RoleAddAsync(new AuthRoleAddRequest { Name = "r" });
        await auth.RoleGrantPermissionAsync(new AuthRoleGrantPermissionRequest
        {
            Name = "r",
            Perm = new Authpb.Permission { PermType = Authpb.Permission.Types.Type.Readwrite, Key = B("k/a"), RangeEnd = B("k/m") },
        });
        foreach (var user in new[] { "u", "gone", "idle" })
        {
            await auth.UserAddAsync(new AuthUserAddRequest { Name = user, Password = "pw" });
            await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = user, Role = "r" });
        }
        await kv.PutAsync(new PutRequest { Key = B("k/a"), Value = B("1") });
        var granted = await lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = 600 });
        await kv.PutAsync(new PutRequest { Key = B("secret"), Value = B("s"), Lease = granted.ID });
        await auth.AuthEnableAsync(new AuthEnableRequest());

        async Task<Metadata> TokenOf(string user, string password) =>
            new() { { "token", (await auth.AuthenticateAsync(new AuthenticateRequest { Name = user, Password = password })).Token } };
        // Root's token is fetched anew for each use: on the first member it lives one second too.
        var before = await kv.RangeAsync(new RangeRequest { Key = B("\0"), RangeEnd = B("\0") }, await TokenOf("root", "rootpw"));
        (string Name, Metadata? Headers, string Key, string RangeEnd)[] cases;
        if (expiredOnly)
        {
            var idle = await TokenOf("idle", "pw");
            // The idle token is not used for longer than its TTL (1 s; etcd checks every second): it has expired then.
            await Task.Delay(TimeSpan.FromSeconds(3.5));
            cases = [("expired", idle, "k/a", "")];
        }
        else
        {
            var gone = await TokenOf("gone", "pw");
            await auth.UserDeleteAsync(new AuthUserDeleteRequest { Name = "gone" }, await TokenOf("root", "rootpw"));
            cases = [("none", new Metadata(), "k/a", ""), ("deleted", gone, "k/a", ""), ("short", null, "k/a", "k/n")];
        }

        var results = new List<string>();
        foreach (var (name, given, key, rangeEnd) in cases)
        {
            // A fresh token of "u" for every call, as a client that logs in per request.
            async Task<Metadata> H() => given ?? await TokenOf("u", "pw");
            async Task Call(string rpc, Func<Task> call)
            {
                try
                {
                    await call().WaitAsync(Deadline);
                    results.Add($"{name} {rpc}: OK");
                }
                catch (RpcException ex)
                {
                    results.Add($"{name} {rpc}: {ex.StatusCode} {ex.Status.Detail}");
                }
            }
            var range = new RangeRequest { Key = B(key), RangeEnd = B(rangeEnd) };
            await Call("KV.Range", async () => await kv.RangeAsync(range, await H()));
            await Call("KV.Range.serializable", async () => await kv.RangeAsync(new RangeRequest(range) { Serializable = true }, await H()));
            await Call("KV.Put", async () => await kv.PutAsync(new PutRequest { Key = B(rangeEnd.Length > 0 ? "k/m" : key), Value = B("x") }, await H()));
            await Call("KV.DeleteRange", async () => await kv.DeleteRangeAsync(new DeleteRangeRequest { Key = B(key), RangeEnd = B(rangeEnd) }, await H()));
            await Call("KV.Txn.compare", async () => await kv.TxnAsync(new TxnRequest
            {
                Compare = { new Compare { Key = B(key), RangeEnd = B(rangeEnd), Target = Compare.Types.CompareTarget.Version } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = B("k/b"), Value = B("x") } } },
            }, await H()));
            await Call("KV.Txn.read", async () => await kv.TxnAsync(new TxnRequest
            {
                Success = { new RequestOp { RequestRange = new RangeRequest { Key = B(key), RangeEnd = B(rangeEnd) } } },
            }, await H()));
            await Call("Lease.LeaseRevoke", async () => await lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = granted.ID }, await H()));
            await Call("Lock.Lock", async () => await locks.LockAsync(new V3Lockpb.LockRequest { Name = B("secret-lock") }, await H()));
            await Call("Maintenance.Defragment", async () => await maintenance.DefragmentAsync(new DefragmentRequest(), await H()));
            await Call("Maintenance.HashKV", async () => await maintenance.HashKVAsync(new HashKVRequest(), await H()));
            await Call("Cluster.MemberAdd", async () => await cluster.MemberAddAsync(new MemberAddRequest { PeerURLs = { "http://127.0.0.1:1" } }, await H()));
            await Call("Auth.UserList", async () => await auth.UserListAsync(new AuthUserListRequest(), await H()));
            await Call("Auth.UserAdd", async () => await auth.UserAddAsync(new AuthUserAddRequest { Name = "x", Password = "x" }, await H()));
            await Call("Auth.AuthDisable", async () => await auth.AuthDisableAsync(new AuthDisableRequest(), await H()));
            using var stream = watch.Watch(await H());
            await stream.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = B(key), RangeEnd = B(rangeEnd) } });
            if (await stream.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Deadline))
            {
                var created = stream.ResponseStream.Current;
                results.Add($"{name} Watch.create: created={created.Created} canceled={created.Canceled} {created.CancelReason}");
            }
        }

        var after = await kv.RangeAsync(new RangeRequest { Key = B("\0"), RangeEnd = B("\0") }, await TokenOf("root", "rootpw"));
        Assert.Equal(before.Header.Revision, after.Header.Revision);
        Assert.Equal(before.Kvs, after.Kvs);
        Assert.All(results, line => Assert.DoesNotContain(": OK", line));
        return results;
    }
}
