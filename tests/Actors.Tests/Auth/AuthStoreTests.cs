using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Auth.Tokens;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Backend;
using Authpb;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Auth;

/// <summary>
/// The replicated auth store over a real backend: etcd's root rules and errors, the revision, persistence in etcd's
/// buckets, and the apply-time checks (etcd's auth/store_test.go and apply_auth.go).
/// </summary>
public sealed class AuthStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("akka-etcd-auth-").FullName;
    private readonly SqliteBackend _backend;
    private readonly AuthStore _store;
    private ulong _index = 10;

    public AuthStoreTests()
    {
        _backend = SqliteBackend.Open(Path.Combine(_dir, "db"));
        _store = new AuthStore(new SimpleTokenProvider(TimeSpan.FromMinutes(5)), bcryptCost: 4);
        _store.Load(_backend);
    }

    public void Dispose()
    {
        _backend.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private IMessage Apply(InternalRaftRequest request) => _store.Apply(_backend, request, ++_index);

    private EtcdException Fails(InternalRaftRequest request) => Assert.Throws<EtcdException>(() => Apply(request));

    private void AddUser(string name, string password = "pw") =>
        Apply(new InternalRaftRequest { AuthUserAdd = new AuthUserAddRequest { Name = name, HashedPassword = _store.HashPassword(password) } });

    private void Grant(string user, string role) => Apply(new InternalRaftRequest { AuthUserGrantRole = new AuthUserGrantRoleRequest { User = user, Role = role } });

    private void EnableWithRoot()
    {
        AddUser("root");
        Grant("root", "root");
        Apply(new InternalRaftRequest { AuthEnable = new AuthEnableRequest() });
    }

    [Fact]
    public void Enabling_needs_the_root_user_with_the_root_role()
    {
        Assert.Equal(EtcdErrors.RootUserNotExist.Message, Fails(new InternalRaftRequest { AuthEnable = new AuthEnableRequest() }).Message);
        AddUser("root");
        Assert.Equal(EtcdErrors.RootRoleNotExist.Message, Fails(new InternalRaftRequest { AuthEnable = new AuthEnableRequest() }).Message);
        Grant("root", "root");
        Apply(new InternalRaftRequest { AuthEnable = new AuthEnableRequest() });
        Assert.True(_store.View.Enabled);
    }

    [Fact]
    public void Root_cannot_lose_its_user_or_role_while_auth_is_on()
    {
        EnableWithRoot();
        Assert.Equal(EtcdErrors.InvalidAuthMgmt.Message, Fails(new InternalRaftRequest { AuthUserDelete = new AuthUserDeleteRequest { Name = "root" } }).Message);
        Assert.Equal(EtcdErrors.InvalidAuthMgmt.Message,
            Fails(new InternalRaftRequest { AuthUserRevokeRole = new AuthUserRevokeRoleRequest { Name = "root", Role = "root" } }).Message);
        Assert.Equal(EtcdErrors.InvalidAuthMgmt.Message, Fails(new InternalRaftRequest { AuthRoleDelete = new AuthRoleDeleteRequest { Role = "root" } }).Message);
        Apply(new InternalRaftRequest { AuthDisable = new AuthDisableRequest() });
        Apply(new InternalRaftRequest { AuthUserDelete = new AuthUserDeleteRequest { Name = "root" } });
        Assert.False(_store.View.Users.ContainsKey("root"));
    }

    [Fact]
    public void Users_and_roles_answer_etcds_errors()
    {
        Assert.Equal(EtcdErrors.UserEmpty.Message, Fails(new InternalRaftRequest { AuthUserAdd = new AuthUserAddRequest() }).Message);
        Assert.Equal(EtcdErrors.RoleEmpty.Message, Fails(new InternalRaftRequest { AuthRoleAdd = new AuthRoleAddRequest() }).Message);
        AddUser("u");
        Assert.Equal(EtcdErrors.UserAlreadyExist.Message, Fails(new InternalRaftRequest { AuthUserAdd = new AuthUserAddRequest { Name = "u" } }).Message);
        Assert.Equal(EtcdErrors.RoleNotFound.Message, Fails(new InternalRaftRequest { AuthUserGrantRole = new AuthUserGrantRoleRequest { User = "u", Role = "r" } }).Message);
        Assert.Equal(EtcdErrors.UserNotFound.Message, Fails(new InternalRaftRequest { AuthUserGrantRole = new AuthUserGrantRoleRequest { User = "x", Role = "root" } }).Message);
        Apply(new InternalRaftRequest { AuthRoleAdd = new AuthRoleAddRequest { Name = "r" } });
        Assert.Equal(EtcdErrors.RoleAlreadyExist.Message, Fails(new InternalRaftRequest { AuthRoleAdd = new AuthRoleAddRequest { Name = "r" } }).Message);
        Assert.Equal(EtcdErrors.RoleNotGranted.Message,
            Fails(new InternalRaftRequest { AuthUserRevokeRole = new AuthUserRevokeRoleRequest { Name = "u", Role = "r" } }).Message);
        Assert.Equal(EtcdErrors.PermissionNotGranted.Message,
            Fails(new InternalRaftRequest { AuthRoleRevokePermission = new AuthRoleRevokePermissionRequest { Role = "r", Key = ByteString.CopyFromUtf8("k") } }).Message);
        Assert.Equal(EtcdErrors.AuthNotEnabled.Message, Fails(new InternalRaftRequest { Authenticate = new InternalAuthenticateRequest { Name = "u" } }).Message);
    }

    [Fact]
    public void Every_change_raises_the_revision_and_survives_a_reload_in_etcds_buckets()
    {
        var start = _store.View.Revision;
        Assert.Equal(1UL, start);
        AddUser("u");
        Apply(new InternalRaftRequest { AuthRoleAdd = new AuthRoleAddRequest { Name = "r" } });
        Apply(new InternalRaftRequest
        {
            AuthRoleGrantPermission = new AuthRoleGrantPermissionRequest
            {
                Name = "r",
                Perm = new Permission { PermType = Permission.Types.Type.Read, Key = ByteString.CopyFromUtf8("a"), RangeEnd = ByteString.CopyFromUtf8("b") },
            },
        });
        Grant("u", "r");
        Assert.Equal(start + 4, _store.View.Revision);
        _backend.Commit();

        var reloaded = new AuthStore(new SimpleTokenProvider(TimeSpan.FromMinutes(5)));
        reloaded.Load(_backend);
        Assert.Equal(start + 4, reloaded.View.Revision);
        Assert.Equal(["r"], reloaded.View.Users["u"].Roles);
        Assert.Single(reloaded.View.Roles["r"].KeyPermission);
        Assert.NotNull(_backend.GetBucketValue("authUsers", "u"u8.ToArray()));
        Assert.NotNull(_backend.GetBucketValue("authRoles", "r"u8.ToArray()));
        Assert.Equal(8, _backend.GetBucketValue("auth", "authRevision"u8.ToArray())!.Length);
    }

    [Fact]
    public void Deleting_a_role_takes_it_from_every_user_and_their_permissions()
    {
        AddUser("u");
        Apply(new InternalRaftRequest { AuthRoleAdd = new AuthRoleAddRequest { Name = "r" } });
        Apply(new InternalRaftRequest
        {
            AuthRoleGrantPermission = new AuthRoleGrantPermissionRequest
            {
                Name = "r", Perm = new Permission { PermType = Permission.Types.Type.Readwrite, Key = ByteString.CopyFromUtf8("k") },
            },
        });
        Grant("u", "r");
        Assert.True(_store.View.Permissions["u"].Allows(true, "k"u8, default));
        Apply(new InternalRaftRequest { AuthRoleDelete = new AuthRoleDeleteRequest { Role = "r" } });
        Assert.Empty(_store.View.Users["u"].Roles);
        Assert.False(_store.View.Permissions["u"].Allows(true, "k"u8, default));
    }

    [Fact]
    public void Authenticate_assigns_a_simple_token_that_deleting_the_user_revokes()
    {
        EnableWithRoot();
        AddUser("u");
        var token = ((AuthenticateResponse)Apply(new InternalRaftRequest { Authenticate = new InternalAuthenticateRequest { Name = "u", SimpleToken = "abcdefghijklmnop" } })).Token;
        Assert.Equal($"abcdefghijklmnop.{_index}", token);
        Assert.Equal(new AuthInfo("u", _store.View.Revision), _store.Tokens.Resolve(token, _store.View.Revision));
        Apply(new InternalRaftRequest { AuthUserDelete = new AuthUserDeleteRequest { Name = "u" } });
        Assert.Null(_store.Tokens.Resolve(token, _store.View.Revision));
    }

    [Fact]
    public void Applies_are_checked_with_the_credentials_of_their_header()
    {
        EnableWithRoot();
        AddUser("u");
        Apply(new InternalRaftRequest { AuthRoleAdd = new AuthRoleAddRequest { Name = "w" } });
        Apply(new InternalRaftRequest
        {
            AuthRoleGrantPermission = new AuthRoleGrantPermissionRequest
            {
                Name = "w",
                Perm = new Permission { PermType = Permission.Types.Type.Write, Key = ByteString.CopyFromUtf8("w/"), RangeEnd = ByteString.CopyFromUtf8("w0") },
            },
        });
        Grant("u", "w");
        var view = _store.View;
        InternalRaftRequest As(string user, ulong revision, InternalRaftRequest request)
        {
            request.Header = new RequestHeader { Username = user, AuthRevision = revision };
            return request;
        }
        IEnumerable<ByteString> NoKeys(long _) => [];
        IEnumerable<ByteString> RootKey(long _) => [ByteString.CopyFromUtf8("secret")];
        var put = new InternalRaftRequest { Put = new PutRequest { Key = ByteString.CopyFromUtf8("w/a") } };
        Assert.Null(AuthChecks.Apply(view, As("u", view.Revision, put.Clone()), NoKeys));
        Assert.Equal(EtcdErrors.UserEmpty.Message, AuthChecks.Apply(view, put.Clone(), NoKeys)!.Message);
        Assert.Equal(EtcdErrors.AuthOldRevision.Message, AuthChecks.Apply(view, As("u", view.Revision - 1, put.Clone()), NoKeys)!.Message);
        Assert.Equal(EtcdErrors.PermissionDenied.Message, AuthChecks.Apply(view, As("gone", view.Revision, put.Clone()), NoKeys)!.Message);
        var prevKv = new InternalRaftRequest { Put = new PutRequest { Key = ByteString.CopyFromUtf8("w/a"), PrevKv = true } };
        Assert.Equal(EtcdErrors.PermissionDenied.Message, AuthChecks.Apply(view, As("u", view.Revision, prevKv), NoKeys)!.Message);
        var leased = new InternalRaftRequest { Put = new PutRequest { Key = ByteString.CopyFromUtf8("w/a"), Lease = 7 } };
        Assert.Equal(EtcdErrors.PermissionDenied.Message, AuthChecks.Apply(view, As("u", view.Revision, leased), RootKey)!.Message);
        var revoke = new InternalRaftRequest { LeaseRevoke = new LeaseRevokeRequest { ID = 7 } };
        Assert.Equal(EtcdErrors.PermissionDenied.Message, AuthChecks.Apply(view, As("u", view.Revision, revoke.Clone()), RootKey)!.Message);
        Assert.Null(AuthChecks.Apply(view, As(AuthInfo.Internal.Username, AuthInfo.Internal.Revision, revoke.Clone()), RootKey));
        var txn = new TxnRequest { Compare = { new Compare { Key = ByteString.CopyFromUtf8("w/a") } } };
        Assert.Equal(EtcdErrors.PermissionDenied.Message, AuthChecks.Apply(view, As("u", view.Revision, new InternalRaftRequest { Txn = txn }), NoKeys)!.Message);
        var admin = new InternalRaftRequest { AuthRoleAdd = new AuthRoleAddRequest { Name = "x" } };
        Assert.Equal(EtcdErrors.PermissionDenied.Message, AuthChecks.Apply(view, As("u", view.Revision, admin.Clone()), NoKeys)!.Message);
        Assert.Equal(EtcdErrors.UserNotFound.Message, AuthChecks.Apply(view, As("gone", view.Revision, admin.Clone()), NoKeys)!.Message);
        Assert.Null(AuthChecks.Apply(view, As("root", 1, admin.Clone()), NoKeys));
    }
}
