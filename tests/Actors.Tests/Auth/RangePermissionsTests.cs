using Akka.Etcd.Actors.Auth;
using Authpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Auth;

/// <summary>etcd's range permission checks (auth/range_perm_cache_test.go): single keys, ranges, prefixes, from-key, gaps.</summary>
public sealed class RangePermissionsTests
{
    private static Permission Perm(Permission.Types.Type type, string key, string? rangeEnd = null) => new()
    {
        PermType = type,
        Key = ByteString.CopyFromUtf8(key),
        RangeEnd = rangeEnd is null ? ByteString.Empty : rangeEnd == "\0" ? ByteString.CopyFrom(0) : ByteString.CopyFromUtf8(rangeEnd),
    };

    private static RangePermissions Of(params Permission[] perms)
    {
        var role = new Role { Name = ByteString.CopyFromUtf8("r") };
        role.KeyPermission.AddRange(perms);
        return RangePermissions.Merge([role]);
    }

    private static bool Read(RangePermissions p, string key, string rangeEnd = "") =>
        p.Allows(false, System.Text.Encoding.UTF8.GetBytes(key), rangeEnd == "\0" ? [0] : System.Text.Encoding.UTF8.GetBytes(rangeEnd));

    private static bool Write(RangePermissions p, string key, string rangeEnd = "") =>
        p.Allows(true, System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(rangeEnd));

    [Fact]
    public void A_prefix_covers_its_keys_and_sub_ranges_but_not_one_key_past_it()
    {
        var p = Of(Perm(Permission.Types.Type.Read, "app/", "app0"));
        Assert.True(Read(p, "app/x"));
        Assert.True(Read(p, "app/", "app0"));
        Assert.True(Read(p, "app/a", "app/m"));
        Assert.False(Read(p, "app/", "app1"));
        Assert.False(Read(p, "app"));
        Assert.False(Write(p, "app/x"));
    }

    [Fact]
    public void A_range_is_half_open_and_one_key_short_is_denied()
    {
        var p = Of(Perm(Permission.Types.Type.Readwrite, "a", "m"));
        Assert.True(Read(p, "a", "m"));
        Assert.True(Write(p, "l"));
        Assert.False(Read(p, "m"));
        Assert.False(Read(p, "a", "n"));
        Assert.False(Read(p, "0", "m"));
    }

    [Fact]
    public void A_single_key_permission_allows_that_key_only()
    {
        var p = Of(Perm(Permission.Types.Type.Write, "k"));
        Assert.True(Write(p, "k"));
        Assert.False(Write(p, "k2"));
        Assert.False(Read(p, "k"));
        Assert.True(Write(p, "k", "k\0"));
    }

    [Fact]
    public void Contiguous_permissions_cover_a_range_together_and_a_gap_breaks_it()
    {
        var p = Of(Perm(Permission.Types.Type.Read, "a", "c"), Perm(Permission.Types.Type.Read, "c", "e"), Perm(Permission.Types.Type.Read, "f", "h"));
        Assert.True(Read(p, "a", "e"));
        Assert.False(Read(p, "a", "g"));
        Assert.True(Read(p, "f", "g"));
    }

    [Fact]
    public void From_key_reaches_the_end_of_the_keyspace()
    {
        var p = Of(Perm(Permission.Types.Type.Read, "m", "\0"));
        Assert.True(Read(p, "z"));
        Assert.True(Read(p, "m", "\0"));
        Assert.True(Read(p, "n", "\0"));
        Assert.False(Read(p, "a", "\0"));
        Assert.False(Read(p, "l"));
    }
}
