using System.Buffers.Binary;
using System.Text;
using Akka.Etcd.Actors.Auth.Tokens;
using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Storage.Backend;
using Authpb;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Akka.Etcd.Actors.Auth;

/// <summary>
/// The replicated auth store (etcd's auth/store.go): users (bcrypt password hashes, roles), roles (key permissions),
/// the enabled flag and the auth revision, changed only by the MvccStoreActor while it applies the Auth requests of
/// the log and persisted in the backend buckets <c>auth</c> (<c>authEnabled</c> = 1 byte, <c>authRevision</c> =
/// 8 bytes big-endian), <c>authUsers</c> (name → authpb.User) and <c>authRoles</c> (name → authpb.Role), in the
/// same batch as the consistent index. That is etcd 3.4's own layout, so snapshots carry auth both ways between
/// etcd and akka-etcd. After every change an immutable <see cref="AuthView"/> is published (<see cref="View"/>),
/// which the edge reads from any thread; everything else is the store actor's alone. The token provider
/// (<see cref="Tokens"/>) is thread-safe.
/// </summary>
public sealed class AuthStore
{
    /// <summary>The root user's name.</summary>
    public const string RootUser = "root";

    /// <summary>The root role's name: a user with it may do anything.</summary>
    public const string RootRole = "root";

    /// <summary>Bucket of the enabled flag and the revision.</summary>
    public const string AuthBucket = "auth";

    /// <summary>Bucket of users: key = name, value = authpb.User.</summary>
    public const string UsersBucket = "authUsers";

    /// <summary>Bucket of roles: key = name, value = authpb.Role.</summary>
    public const string RolesBucket = "authRoles";

    private static readonly byte[] EnabledKey = "authEnabled"u8.ToArray();
    private static readonly byte[] RevisionKey = "authRevision"u8.ToArray();

    private readonly ILogger _log;
    private volatile AuthView _view = AuthView.Initial;

    /// <summary>Creates an empty store (auth off, revision 1) over <paramref name="tokens"/>; call <see cref="Load"/>.</summary>
    /// <param name="tokens">Issues and resolves tokens (<c>--auth-token</c>).</param>
    /// <param name="bcryptCost">bcrypt cost for passwords (<c>--bcrypt-cost</c>); outside 4..31 etcd's default 10 is used.</param>
    /// <param name="logger">Where auth changes are logged (etcd logs each at info).</param>
    public AuthStore(IAuthTokenProvider tokens, int bcryptCost = DefaultBcryptCost, ILogger? logger = null)
    {
        Tokens = tokens;
        _log = logger ?? NullLogger.Instance;
        if (bcryptCost is < 4 or > 31)
        {
            _log.LogWarning("use default bcrypt cost instead of the invalid given cost: min-cost 4, max-cost 31, default-cost {default}, given-cost {given}",
                DefaultBcryptCost, bcryptCost);
            bcryptCost = DefaultBcryptCost;
        }
        BcryptCost = bcryptCost;
    }

    /// <summary>etcd's default bcrypt cost.</summary>
    public const int DefaultBcryptCost = 10;

    /// <summary>The bcrypt cost new passwords are hashed with.</summary>
    public int BcryptCost { get; }

    /// <summary>The token provider.</summary>
    public IAuthTokenProvider Tokens { get; }

    /// <summary>The latest published state (any thread).</summary>
    public AuthView View => _view;

    /// <summary>Hashes <paramref name="password"/> with bcrypt at <see cref="BcryptCost"/> (<c>$2a$</c>, as Go's bcrypt).</summary>
    public string HashPassword(string password) => BCrypt.Net.BCrypt.HashPassword(password, BcryptCost);

    /// <summary>
    /// Replaces the state with the one persisted in <paramref name="backend"/> (start-up and a backend received with a
    /// snapshot, etcd's Recover). A store that never had auth is off at revision 1.
    /// </summary>
    public void Load(SqliteBackend backend)
    {
        var enabled = backend.GetBucketValue(AuthBucket, EnabledKey) is [1];
        var revisionBytes = backend.GetBucketValue(AuthBucket, RevisionKey);
        var revision = revisionBytes is { Length: 8 } ? BinaryPrimitives.ReadUInt64BigEndian(revisionBytes) : 1UL;
        var users = new Dictionary<string, User>(StringComparer.Ordinal);
        foreach (var (_, value) in backend.ReadBucket(UsersBucket))
        {
            var user = User.Parser.ParseFrom(value);
            users[user.Name.ToStringUtf8()] = user;
        }
        var roles = new Dictionary<string, Role>(StringComparer.Ordinal);
        foreach (var (_, value) in backend.ReadBucket(RolesBucket))
        {
            var role = Role.Parser.ParseFrom(value);
            roles[role.Name.ToStringUtf8()] = role;
        }
        _view = new AuthView(enabled, revision, users, roles);
        if (enabled)
        {
            Tokens.Enable();
        }
        else
        {
            Tokens.Disable();
        }
    }

    /// <summary>True when <paramref name="request"/> is an Auth request this store applies.</summary>
    public static bool IsAuthRequest(InternalRaftRequest request) =>
        request.AuthEnable is not null || request.AuthDisable is not null || request.Authenticate is not null
        || request.AuthUserAdd is not null || request.AuthUserDelete is not null || request.AuthUserChangePassword is not null
        || request.AuthUserGrantRole is not null || request.AuthUserRevokeRole is not null || request.AuthRoleAdd is not null
        || request.AuthRoleDelete is not null || request.AuthRoleGrantPermission is not null || request.AuthRoleRevokePermission is not null;

    /// <summary>
    /// Applies one Auth request of the log at Raft <paramref name="index"/> (etcd's applierV3 Auth* methods) and returns
    /// its response, header not filled. Changes are written into the current backend batch with a new revision.
    /// </summary>
    /// <exception cref="EtcdException">etcd's errors: user/role empty, exists, not found; root rules; auth not enabled...</exception>
    public IMessage Apply(SqliteBackend backend, InternalRaftRequest request, ulong index) => request switch
    {
        { AuthEnable: not null } => Enable(backend),
        { AuthDisable: not null } => Disable(backend),
        { Authenticate: { } r } => Authenticate(r, index),
        { AuthUserAdd: { } r } => UserAdd(backend, r),
        { AuthUserDelete: { } r } => UserDelete(backend, r),
        { AuthUserChangePassword: { } r } => UserChangePassword(backend, r),
        { AuthUserGrantRole: { } r } => UserGrantRole(backend, r),
        { AuthUserRevokeRole: { } r } => UserRevokeRole(backend, r),
        { AuthRoleAdd: { } r } => RoleAdd(backend, r),
        { AuthRoleDelete: { } r } => RoleDelete(backend, r),
        { AuthRoleGrantPermission: { } r } => RoleGrantPermission(backend, r),
        { AuthRoleRevokePermission: { } r } => RoleRevokePermission(backend, r),
        _ => throw new ArgumentException("not an auth request", nameof(request)),
    };

    private AuthEnableResponse Enable(SqliteBackend backend)
    {
        var view = _view;
        if (view.Enabled)
        {
            _log.LogInformation("authentication is already enabled; ignored auth enable request");
            return new AuthEnableResponse();
        }
        if (!view.Users.TryGetValue(RootUser, out var root))
        {
            throw EtcdErrors.RootUserNotExist;
        }
        if (!AuthView.HasRootRole(root))
        {
            throw EtcdErrors.RootRoleNotExist;
        }
        backend.PutBucketValue(AuthBucket, EnabledKey, [1]);
        Tokens.Enable();
        // As etcd's AuthEnable: the revision stays.
        _view = new AuthView(true, view.Revision, view.Users, view.Roles);
        _log.LogInformation("enabled authentication");
        return new AuthEnableResponse();
    }

    private AuthDisableResponse Disable(SqliteBackend backend)
    {
        var view = _view;
        if (!view.Enabled)
        {
            return new AuthDisableResponse();
        }
        backend.PutBucketValue(AuthBucket, EnabledKey, [0]);
        Tokens.Disable();
        Publish(backend, false, view.Users, view.Roles);
        _log.LogInformation("disabled authentication");
        return new AuthDisableResponse();
    }

    private AuthenticateResponse Authenticate(InternalAuthenticateRequest request, ulong index)
    {
        var view = _view;
        if (!view.Enabled)
        {
            throw EtcdErrors.AuthNotEnabled;
        }
        if (!view.Users.TryGetValue(request.Name, out var user) || user.Options?.NoPassword == true)
        {
            throw EtcdErrors.AuthFailed;
        }
        // The password was checked by the member that took the request, against this same revision.
        var token = Tokens.Assign(request.Name, view.Revision, request.SimpleToken, index);
        return new AuthenticateResponse { Token = token };
    }

    private AuthUserAddResponse UserAdd(SqliteBackend backend, AuthUserAddRequest request)
    {
        if (request.Name.Length == 0)
        {
            throw EtcdErrors.UserEmpty;
        }
        var view = _view;
        if (view.Users.ContainsKey(request.Name))
        {
            throw EtcdErrors.UserAlreadyExist;
        }
        var noPassword = request.Options?.NoPassword == true;
        var user = new User
        {
            Name = ByteString.CopyFromUtf8(request.Name),
            Options = request.Options?.Clone() ?? new UserAddOptions(),
        };
        if (!noPassword)
        {
            // Entries written by etcd 3.4 (or by a member of ours before hashing moved to the edge) carry the password.
            var hash = request.HashedPassword.Length > 0 ? request.HashedPassword : HashPassword(request.Password);
            user.Password = ByteString.CopyFromUtf8(hash);
        }
        var users = WithUser(view, user);
        Publish(backend, view.Enabled, users, view.Roles, changedUser: user);
        _log.LogInformation("added a user: user-name {user}", request.Name);
        return new AuthUserAddResponse();
    }

    private AuthUserDeleteResponse UserDelete(SqliteBackend backend, AuthUserDeleteRequest request)
    {
        var view = _view;
        if (view.Enabled && request.Name == RootUser)
        {
            _log.LogWarning("cannot delete 'root' user");
            throw EtcdErrors.InvalidAuthMgmt;
        }
        if (!view.Users.ContainsKey(request.Name))
        {
            throw EtcdErrors.UserNotFound;
        }
        var users = new Dictionary<string, User>(view.Users, StringComparer.Ordinal);
        users.Remove(request.Name);
        backend.DeleteBucketValue(UsersBucket, Encoding.UTF8.GetBytes(request.Name));
        Publish(backend, view.Enabled, users, view.Roles);
        Tokens.InvalidateUser(request.Name);
        _log.LogInformation("deleted a user: user-name {user}", request.Name);
        return new AuthUserDeleteResponse();
    }

    private AuthUserChangePasswordResponse UserChangePassword(SqliteBackend backend, AuthUserChangePasswordRequest request)
    {
        var view = _view;
        if (!view.Users.TryGetValue(request.Name, out var existing))
        {
            throw EtcdErrors.UserNotFound;
        }
        var hash = request.HashedPassword.Length > 0 ? request.HashedPassword : HashPassword(request.Password);
        var user = existing.Clone();
        user.Password = ByteString.CopyFromUtf8(hash);
        Publish(backend, view.Enabled, WithUser(view, user), view.Roles, changedUser: user);
        Tokens.InvalidateUser(request.Name);
        _log.LogInformation("changed a password of a user: user-name {user}", request.Name);
        return new AuthUserChangePasswordResponse();
    }

    private AuthUserGrantRoleResponse UserGrantRole(SqliteBackend backend, AuthUserGrantRoleRequest request)
    {
        var view = _view;
        if (!view.Users.TryGetValue(request.User, out var existing))
        {
            throw EtcdErrors.UserNotFound;
        }
        if (request.Role != RootRole && !view.Roles.ContainsKey(request.Role))
        {
            throw EtcdErrors.RoleNotFound;
        }
        if (existing.Roles.Contains(request.Role))
        {
            _log.LogWarning("ignored grant role request to a user: user-name {user}, duplicate-role-name {role}", request.User, request.Role);
            return new AuthUserGrantRoleResponse();
        }
        var user = existing.Clone();
        var roles = user.Roles.Append(request.Role).Order(StringComparer.Ordinal).ToList();
        user.Roles.Clear();
        user.Roles.AddRange(roles);
        Publish(backend, view.Enabled, WithUser(view, user), view.Roles, changedUser: user);
        _log.LogInformation("granted a role to a user: user-name {user}, added-role-name {role}", request.User, request.Role);
        return new AuthUserGrantRoleResponse();
    }

    private AuthUserRevokeRoleResponse UserRevokeRole(SqliteBackend backend, AuthUserRevokeRoleRequest request)
    {
        var view = _view;
        if (view.Enabled && request.Name == RootUser && request.Role == RootRole)
        {
            _log.LogWarning("'root' user cannot revoke 'root' role");
            throw EtcdErrors.InvalidAuthMgmt;
        }
        if (!view.Users.TryGetValue(request.Name, out var existing))
        {
            throw EtcdErrors.UserNotFound;
        }
        if (!existing.Roles.Contains(request.Role))
        {
            throw EtcdErrors.RoleNotGranted;
        }
        var user = existing.Clone();
        var roles = user.Roles.Where(role => role != request.Role).ToList();
        user.Roles.Clear();
        user.Roles.AddRange(roles);
        Publish(backend, view.Enabled, WithUser(view, user), view.Roles, changedUser: user);
        _log.LogInformation("revoked a role from a user: user-name {user}, revoked-role-name {role}", request.Name, request.Role);
        return new AuthUserRevokeRoleResponse();
    }

    private AuthRoleAddResponse RoleAdd(SqliteBackend backend, AuthRoleAddRequest request)
    {
        if (request.Name.Length == 0)
        {
            throw EtcdErrors.RoleEmpty;
        }
        var view = _view;
        if (view.Roles.ContainsKey(request.Name))
        {
            throw EtcdErrors.RoleAlreadyExist;
        }
        var role = new Role { Name = ByteString.CopyFromUtf8(request.Name) };
        Publish(backend, view.Enabled, view.Users, WithRole(view, role), changedRole: role);
        _log.LogInformation("created a role: role-name {role}", request.Name);
        return new AuthRoleAddResponse();
    }

    private AuthRoleDeleteResponse RoleDelete(SqliteBackend backend, AuthRoleDeleteRequest request)
    {
        var view = _view;
        if (view.Enabled && request.Role == RootRole)
        {
            _log.LogWarning("cannot delete 'root' role");
            throw EtcdErrors.InvalidAuthMgmt;
        }
        if (!view.Roles.ContainsKey(request.Role))
        {
            throw EtcdErrors.RoleNotFound;
        }
        var roles = new Dictionary<string, Role>(view.Roles, StringComparer.Ordinal);
        roles.Remove(request.Role);
        backend.DeleteBucketValue(RolesBucket, Encoding.UTF8.GetBytes(request.Role));
        // The role goes from every user that had it.
        var users = new Dictionary<string, User>(view.Users, StringComparer.Ordinal);
        foreach (var (name, existing) in view.Users)
        {
            if (!existing.Roles.Contains(request.Role))
            {
                continue;
            }
            var user = existing.Clone();
            var kept = user.Roles.Where(role => role != request.Role).ToList();
            user.Roles.Clear();
            user.Roles.AddRange(kept);
            users[name] = user;
            PutUser(backend, user);
        }
        Publish(backend, view.Enabled, users, roles);
        _log.LogInformation("deleted a role: role-name {role}", request.Role);
        return new AuthRoleDeleteResponse();
    }

    private AuthRoleGrantPermissionResponse RoleGrantPermission(SqliteBackend backend, AuthRoleGrantPermissionRequest request)
    {
        var view = _view;
        if (!view.Roles.TryGetValue(request.Name, out var existing))
        {
            throw EtcdErrors.RoleNotFound;
        }
        var perm = request.Perm ?? new Permission();
        var role = existing.Clone();
        var same = role.KeyPermission.FirstOrDefault(p => p.Key == perm.Key && p.RangeEnd == perm.RangeEnd);
        if (same is not null)
        {
            same.PermType = perm.PermType;
        }
        else
        {
            var sorted = role.KeyPermission.Append(new Permission { Key = perm.Key, RangeEnd = perm.RangeEnd, PermType = perm.PermType })
                .OrderBy(p => p.Key.ToByteArray(), ByteArrayOrder.Instance).ToList();
            role.KeyPermission.Clear();
            role.KeyPermission.AddRange(sorted);
        }
        Publish(backend, view.Enabled, view.Users, WithRole(view, role), changedRole: role);
        _log.LogInformation("granted/updated a permission to a user: role-name {role}, permission-name {perm}", request.Name, perm.PermType);
        return new AuthRoleGrantPermissionResponse();
    }

    private AuthRoleRevokePermissionResponse RoleRevokePermission(SqliteBackend backend, AuthRoleRevokePermissionRequest request)
    {
        var view = _view;
        if (!view.Roles.TryGetValue(request.Role, out var existing))
        {
            throw EtcdErrors.RoleNotFound;
        }
        var kept = existing.KeyPermission.Where(p => p.Key != request.Key || p.RangeEnd != request.RangeEnd).ToList();
        if (kept.Count == existing.KeyPermission.Count)
        {
            throw EtcdErrors.PermissionNotGranted;
        }
        var role = new Role { Name = existing.Name };
        role.KeyPermission.AddRange(kept.Select(p => p.Clone()));
        Publish(backend, view.Enabled, view.Users, WithRole(view, role), changedRole: role);
        _log.LogInformation("revoked a permission on range: role-name {role}, key {key}, range-end {end}",
            request.Role, request.Key.ToStringUtf8(), request.RangeEnd.ToStringUtf8());
        return new AuthRoleRevokePermissionResponse();
    }

    /// <summary>Writes the changed user or role, raises the revision (etcd's commitRevision) and publishes the view.</summary>
    private void Publish(SqliteBackend backend, bool enabled, IReadOnlyDictionary<string, User> users,
        IReadOnlyDictionary<string, Role> roles, User? changedUser = null, Role? changedRole = null)
    {
        if (changedUser is not null)
        {
            PutUser(backend, changedUser);
        }
        if (changedRole is not null)
        {
            backend.PutBucketValue(RolesBucket, changedRole.Name.ToByteArray(), changedRole.ToByteArray());
        }
        var revision = _view.Revision + 1;
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, revision);
        backend.PutBucketValue(AuthBucket, RevisionKey, bytes);
        _view = new AuthView(enabled, revision, users, roles);
    }

    private static void PutUser(SqliteBackend backend, User user) =>
        backend.PutBucketValue(UsersBucket, user.Name.ToByteArray(), user.ToByteArray());

    private static Dictionary<string, User> WithUser(AuthView view, User user) =>
        new(view.Users, StringComparer.Ordinal) { [user.Name.ToStringUtf8()] = user };

    private static Dictionary<string, Role> WithRole(AuthView view, Role role) =>
        new(view.Roles, StringComparer.Ordinal) { [role.Name.ToStringUtf8()] = role };

    /// <summary>Unsigned bytewise order (Go's bytes.Compare).</summary>
    private sealed class ByteArrayOrder : IComparer<byte[]>
    {
        public static readonly ByteArrayOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
