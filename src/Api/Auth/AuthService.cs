using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Auth;

/// <summary>
/// etcd's Auth service (<c>etcdserverpb.Auth</c>, rpc.proto; etcd's v3rpc/auth.go): users, roles, permissions,
/// enabling auth and issuing tokens, each handed to the <see cref="EtcdServer"/> (changes go through Raft; gets and
/// lists are linearizable reads). Who may call what is decided by the member, as etcd's applier does: with auth on,
/// every call but Authenticate, AuthStatus, UserGet of oneself and RoleGet of one's own role needs root. Failures are
/// etcd's errors with their codes and texts ("etcdserver: user name is empty", "etcdserver: role name not found",
/// "etcdserver: permission denied", ...). Stateless and thread-safe.
/// </summary>
public sealed class AuthService : Etcdserverpb.Auth.AuthBase
{
    private readonly EtcdServer _server;

    /// <summary>Creates the service over a running member.</summary>
    public AuthService(EtcdServer server) => _server = server;

    /// <summary>Auth.AuthEnable: needs the user root with the role root.</summary>
    public override Task<AuthEnableResponse> AuthEnable(AuthEnableRequest request, ServerCallContext context) =>
        _server.AuthEnableAsync(request, context.CancellationToken);

    /// <summary>Auth.AuthDisable: turns checks off and forgets every token.</summary>
    public override Task<AuthDisableResponse> AuthDisable(AuthDisableRequest request, ServerCallContext context) =>
        _server.AuthDisableAsync(request, context.CancellationToken);

    /// <summary>Auth.AuthStatus (etcd 3.5): enabled flag and auth revision.</summary>
    public override Task<AuthStatusResponse> AuthStatus(AuthStatusRequest request, ServerCallContext context) =>
        _server.AuthStatusAsync(context.CancellationToken);

    /// <summary>Auth.Authenticate: a token for a user name and password (clients send it back as the <c>token</c> metadata).</summary>
    public override Task<AuthenticateResponse> Authenticate(AuthenticateRequest request, ServerCallContext context) =>
        _server.AuthenticateAsync(request, context.CancellationToken);

    /// <summary>Auth.UserAdd: a user with a password (bcrypt) or, with <c>options.no_password</c>, none.</summary>
    public override Task<AuthUserAddResponse> UserAdd(AuthUserAddRequest request, ServerCallContext context) =>
        _server.UserAddAsync(request, context.CancellationToken);

    /// <summary>Auth.UserGet: the roles of a user.</summary>
    public override Task<AuthUserGetResponse> UserGet(AuthUserGetRequest request, ServerCallContext context) =>
        _server.UserGetAsync(request, context.CancellationToken);

    /// <summary>Auth.UserList: every user name.</summary>
    public override Task<AuthUserListResponse> UserList(AuthUserListRequest request, ServerCallContext context) =>
        _server.UserListAsync(context.CancellationToken);

    /// <summary>Auth.UserDelete: removes a user (not root while auth is on).</summary>
    public override Task<AuthUserDeleteResponse> UserDelete(AuthUserDeleteRequest request, ServerCallContext context) =>
        _server.UserDeleteAsync(request, context.CancellationToken);

    /// <summary>Auth.UserChangePassword: a new password; the user's tokens stop working.</summary>
    public override Task<AuthUserChangePasswordResponse> UserChangePassword(AuthUserChangePasswordRequest request, ServerCallContext context) =>
        _server.UserChangePasswordAsync(request, context.CancellationToken);

    /// <summary>Auth.UserGrantRole: gives a user a role (<c>root</c> need not exist as a role).</summary>
    public override Task<AuthUserGrantRoleResponse> UserGrantRole(AuthUserGrantRoleRequest request, ServerCallContext context) =>
        _server.UserGrantRoleAsync(request, context.CancellationToken);

    /// <summary>Auth.UserRevokeRole: takes a role from a user (not root's root role while auth is on).</summary>
    public override Task<AuthUserRevokeRoleResponse> UserRevokeRole(AuthUserRevokeRoleRequest request, ServerCallContext context) =>
        _server.UserRevokeRoleAsync(request, context.CancellationToken);

    /// <summary>Auth.RoleAdd: a role without permissions.</summary>
    public override Task<AuthRoleAddResponse> RoleAdd(AuthRoleAddRequest request, ServerCallContext context) =>
        _server.RoleAddAsync(request, context.CancellationToken);

    /// <summary>Auth.RoleGet: the key permissions of a role.</summary>
    public override Task<AuthRoleGetResponse> RoleGet(AuthRoleGetRequest request, ServerCallContext context) =>
        _server.RoleGetAsync(request, context.CancellationToken);

    /// <summary>Auth.RoleList: every role name.</summary>
    public override Task<AuthRoleListResponse> RoleList(AuthRoleListRequest request, ServerCallContext context) =>
        _server.RoleListAsync(context.CancellationToken);

    /// <summary>Auth.RoleDelete: removes a role and takes it from every user (not root while auth is on).</summary>
    public override Task<AuthRoleDeleteResponse> RoleDelete(AuthRoleDeleteRequest request, ServerCallContext context) =>
        _server.RoleDeleteAsync(request, context.CancellationToken);

    /// <summary>Auth.RoleGrantPermission: READ, WRITE or READWRITE on a key, a range, or from a key on (range end <c>\0</c>).</summary>
    public override Task<AuthRoleGrantPermissionResponse> RoleGrantPermission(AuthRoleGrantPermissionRequest request, ServerCallContext context) =>
        _server.RoleGrantPermissionAsync(request, context.CancellationToken);

    /// <summary>Auth.RoleRevokePermission: removes the permission with exactly this key and range end.</summary>
    public override Task<AuthRoleRevokePermissionResponse> RoleRevokePermission(AuthRoleRevokePermissionRequest request, ServerCallContext context) =>
        _server.RoleRevokePermissionAsync(request, context.CancellationToken);
}
