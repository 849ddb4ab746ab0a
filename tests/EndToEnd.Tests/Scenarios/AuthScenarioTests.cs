using Akka.Etcd.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace Akka.Etcd.EndToEnd.Tests.Scenarios;

/// <summary>
/// etcdctl's user, role and auth commands (tests/scenarios/auth.sh in C#): a reader and a writer role with prefix,
/// range and single-key permissions, auth enable, then allowed and denied get/put/del/txn/watch/lease per user with
/// <c>--user</c>, admin-only commands refused to non-root users, auth disable. The transcripts of etcd 3.4 and ours
/// must be equal. One server pair of its own (auth changes every later call).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AuthScenarioTests(ScenarioServers servers, ITestOutputHelper output) : IClassFixture<ScenarioServers>
{
    [Fact]
    public async Task Users_roles_and_permissions_per_user()
    {
        var transcript = await servers.RunAsync(async s =>
        {
            await s.RunAsync("auth", "enable");
            await s.RunAsync("user", "add", "root:rootpw");
            await s.RunAsync("user", "grant-role", "root", "root");
            await s.RunAsync("role", "add", "reader");
            await s.RunAsync("role", "add", "writer");
            await s.RunAsync("role", "grant-permission", "reader", "read", "app/", "--prefix");
            await s.RunAsync("role", "grant-permission", "writer", "readwrite", "app/w/", "--prefix");
            await s.RunAsync("role", "grant-permission", "writer", "read", "app/r/a", "app/r/m");
            await s.RunAsync("user", "add", "alice:alicepw");
            await s.RunAsync("user", "add", "bob:bobpw");
            await s.RunAsync("user", "grant-role", "alice", "reader");
            await s.RunAsync("user", "grant-role", "bob", "writer");
            await s.RunAsync("role", "get", "writer");
            await s.RunAsync("put", "app/w/x", "1");
            await s.RunAsync("put", "app/r/a", "2");
            await s.RunAsync("auth", "enable");
            await s.RunAsync("get", "app/w/x");
            await s.RunAsync("--user", "root:wrong", "get", "app/w/x");
            await s.RunAsync("--user", "alice:alicepw", "get", "app/", "--prefix");
            await s.RunAsync("--user", "alice:alicepw", "put", "app/w/x", "5");
            await s.RunAsync("--user", "alice:alicepw", "user", "list");
            await s.RunAsync("--user", "alice:alicepw", "user", "get", "alice");
            await s.RunAsync("--user", "bob:bobpw", "put", "app/w/y", "6");
            await s.RunAsync("--user", "bob:bobpw", "put", "other", "7");
            await s.RunAsync("--user", "bob:bobpw", "get", "app/r/a", "app/r/m");
            await s.RunAsync("--user", "bob:bobpw", "get", "app/r/a", "app/r/n");
            await s.RunAsync("--user", "bob:bobpw", "del", "app/w/y");
            await s.RunAsync("--user", "bob:bobpw", "del", "app/", "--prefix");
            await s.RunWithInputAsync("value(\"app/w/x\") = \"1\"\n\nput app/w/t yes\n\nput app/w/t no\n\n", "--user", "bob:bobpw", "txn");
            await s.RunWithInputAsync("value(\"other\") = \"1\"\n\nput app/w/t yes\n\n\n", "--user", "bob:bobpw", "txn");
            await s.RunAsync("--user", "alice:alicepw", "watch", "other", "--rev", "1");
            await s.RunAsync("--user", "bob:bobpw", "defrag");
            await s.RunAsync("--user", "root:rootpw", "user", "delete", "root");
            await s.RunAsync("--user", "root:rootpw", "auth", "disable");
            await s.RunAsync("get", "app/", "--prefix");
        }, etcd =>
        {
            Assert.Contains("Error: etcdserver: root user does not exist\nrc=1\n", etcd);
            Assert.Contains("Error: etcdserver: user name is empty\nrc=1\n", etcd);
            Assert.Contains("Error: etcdserver: authentication failed, invalid user ID or password\nrc=2\n", etcd);
            Assert.Contains("$ etcdctl --user alice:alicepw get app/ --prefix\napp/r/a\n2\napp/w/x\n1\nrc=0\n", etcd);
            Assert.Contains("Error: etcdserver: permission denied\nrc=1\n", etcd);
            Assert.Contains("Failed to defragment etcd member[http://ADDR] (rpc error: code = Unknown desc = auth: permission denied)", etcd);
            Assert.Contains("$ etcdctl --user bob:bobpw get app/r/a app/r/m\napp/r/a\n2\nrc=0\n", etcd);
            Assert.Contains("watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)", etcd);
            Assert.Contains("Error: etcdserver: invalid auth management\nrc=1\n", etcd);
            Assert.Contains("$ etcdctl get app/ --prefix\napp/r/a\n2\napp/w/t\nyes\napp/w/x\n1\nrc=0\n", etcd);
        });
        output.WriteLine(transcript);
    }
}
