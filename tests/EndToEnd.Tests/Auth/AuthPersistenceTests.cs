using Akka.Etcd.EndToEnd.Tests.Harness;
using Akka.Etcd.EndToEnd.Tests.Snapshots;

namespace Akka.Etcd.EndToEnd.Tests.Auth;

/// <summary>
/// The auth state (enabled flag, users with their bcrypt hashes, roles, permissions) lives in the replicated store:
/// after a SIGKILL and restart, and in a member restored from <c>snapshot save</c>/<c>snapshot restore</c>, the same
/// users are allowed and refused the same keys. Checked against etcd 3.4 with the same etcdctl calls.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AuthPersistenceTests
{
    public static TheoryData<ServerKind> Kinds => new(ServerKinds.UnderTest);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Users_roles_permissions_and_the_enabled_flag_survive_restart_and_snapshot_restore(ServerKind kind)
    {
        await using var harness = new SnapshotHarness();
        var source = harness.Describe(kind, "auth-source", "a1")[0];
        await SnapshotHarness.StartAsync(source);
        var ctl = source.Etcdctl();
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
        await AssertAuthStateAsync(source, "after setup");

        source.Kill();
        source.Start();
        await source.WaitHealthyAsync(SnapshotHarness.StartDeadline);
        await AssertAuthStateAsync(source, "after restart");

        var file = harness.PathOf("auth.db");
        var saved = await source.Etcdctl("--user", "root:rootpw").RunAsync(["snapshot", "save", file], stdin: null, timeout: TimeSpan.FromMinutes(2));
        Assert.True(saved.Succeeded, $"snapshot save: {saved.Stdout}{saved.Stderr}");
        var restoredMember = harness.Describe(kind, "auth-restored", "r1")[0];
        string[] restore = ["snapshot", "restore", file, .. SnapshotHarness.RestoreFlags(restoredMember)];
        var restored = kind == ServerKind.Etcd ? await SnapshotHarness.EtcdctlAsync(restore) : await SnapshotHarness.AkkaEtcdAsync(restore);
        Assert.True(restored.Succeeded, $"snapshot restore: {restored.Stdout}{restored.Stderr}");
        await SnapshotHarness.StartAsync(restoredMember);
        await AssertAuthStateAsync(restoredMember, "after snapshot restore");
    }

    private static async Task AssertAuthStateAsync(ClusterMember member, string when)
    {
        var alice = member.Etcdctl("--user", "alice:alicepw");
        var read = await alice.RunAsync("get", "app/x", "--print-value-only");
        Assert.True(read.Succeeded, $"{when}: alice's read: {read.Stdout}{read.Stderr}");
        Assert.Equal("1", read.Stdout.Trim());
        var write = await alice.RunAsync("put", "app/x", "2");
        Assert.False(write.Succeeded, $"{when}: alice's write was allowed");
        Assert.Contains("etcdserver: permission denied", write.Stderr);
        var anonymous = await member.Etcdctl().RunAsync("get", "app/x");
        Assert.False(anonymous.Succeeded, $"{when}: a call without a user was allowed: auth is off");
        Assert.Contains("etcdserver: user name is empty", anonymous.Stderr);
        var wrong = await member.Etcdctl("--user", "alice:nope").RunAsync("get", "app/x");
        Assert.Contains("etcdserver: authentication failed, invalid user ID or password", wrong.Stderr);
        var roles = await member.Etcdctl("--user", "root:rootpw").RunAsync("role", "get", "reader");
        Assert.True(roles.Succeeded, $"{when}: role get: {roles.Stdout}{roles.Stderr}");
        Assert.Contains("KV Read:\n\t[app/, app0) (prefix app/)", roles.Stdout);
    }
}
