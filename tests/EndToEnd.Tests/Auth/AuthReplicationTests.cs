using Akka.Etcd.EndToEnd.Tests.Harness;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;

namespace Akka.Etcd.EndToEnd.Tests.Auth;

/// <summary>
/// Auth changes go through Raft: set up on one member of three, every member enforces them, reads on any member see
/// them (a linearizable read on a follower is checked against an auth state at least as new as its read index), and a
/// simple token issued by one member is valid on the others, as in etcd 3.4.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AuthReplicationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Auth_set_up_on_one_member_is_enforced_by_every_member(ServerKind kind)
    {
        await using var cluster = await ClusterProcesses.StartAsync(kind);
        var first = cluster.Members[0];
        var ctl = first.Etcdctl();
        foreach (var step in new[]
                 {
                     new[] { "user", "add", "root:rootpw" }, ["user", "grant-role", "root", "root"], ["role", "add", "reader"],
                     ["role", "grant-permission", "reader", "read", "app/", "--prefix"], ["user", "add", "alice:alicepw"],
                     ["user", "grant-role", "alice", "reader"], ["put", "app/x", "1"], ["auth", "enable"],
                 })
        {
            var done = await ctl.RunAsync(step);
            Assert.True(done.Succeeded, $"{string.Join(' ', step)}: {done.Stdout}{done.Stderr}");
        }

        foreach (var member in cluster.Members)
        {
            var anonymous = await member.Etcdctl().RunAsync("get", "app/x");
            Assert.Contains("etcdserver: user name is empty", anonymous.Stderr);
            var read = await member.Etcdctl("--user", "alice:alicepw").RunAsync("get", "app/x", "--print-value-only");
            Assert.True(read.Succeeded, $"{member.Name}: {read.Stdout}{read.Stderr}");
            Assert.Equal("1", read.Stdout.Trim());
            var write = await member.Etcdctl("--user", "alice:alicepw").RunAsync("put", "app/x", "2");
            Assert.Contains("etcdserver: permission denied", write.Stderr);
        }

        using var firstChannel = GrpcChannel.ForAddress(first.ClientUrl);
        var token = (await new Etcdserverpb.Auth.AuthClient(firstChannel)
            .AuthenticateAsync(new AuthenticateRequest { Name = "alice", Password = "alicepw" }).ResponseAsync.WaitAsync(Deadline)).Token;
        foreach (var member in cluster.Members.Skip(1))
        {
            using var channel = GrpcChannel.ForAddress(member.ClientUrl);
            var range = await new KV.KVClient(channel).RangeAsync(
                new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("app/x") }, new Metadata { { "token", token } })
                .ResponseAsync.WaitAsync(Deadline);
            Assert.Equal("1", range.Kvs.Single().Value.ToStringUtf8());
        }

        var revoked = await first.Etcdctl("--user", "root:rootpw").RunAsync("role", "revoke-permission", "reader", "app/", "--prefix");
        Assert.True(revoked.Succeeded, revoked.Stdout + revoked.Stderr);
        foreach (var member in cluster.Members)
        {
            var read = await member.Etcdctl("--user", "alice:alicepw").RunAsync("get", "app/x");
            Assert.Contains("etcdserver: permission denied", read.Stderr);
        }
    }
}
