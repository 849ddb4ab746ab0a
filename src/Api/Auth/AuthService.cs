using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Microsoft.Extensions.Logging;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Auth;

/// <summary>
/// etcd's Auth service (<c>etcdserverpb.Auth</c>, rpc.proto; etcd's v3rpc/auth.go): users, roles, permissions,
/// enabling auth and issuing tokens, changes through Raft (<see cref="MemberGateway.ProposeAsync"/>, passwords hashed
/// here so only bcrypt hashes reach the log), gets and lists after a read index round (etcd's etcdserver/v3_server.go
/// Authenticator methods). Who may call what is decided by the member, as etcd's applier does: with auth on,
/// every call but Authenticate, AuthStatus, UserGet of oneself and RoleGet of one's own role needs root. Failures are
/// etcd's errors with their codes and texts ("etcdserver: user name is empty", "etcdserver: role name not found",
/// "etcdserver: permission denied", ...). Stateless and thread-safe.
/// </summary>
public sealed class AuthService : Etcdserverpb.Auth.AuthBase
{
    private readonly MemberGateway _member;
    private readonly CallerChecks _checks;
    private readonly ILogger _logger;

    /// <summary>Creates the service over a running member.</summary>
    public AuthService(MemberGateway member, CallerChecks checks)
    {
        _member = member;
        _checks = checks;
        _logger = member.Loggers.CreateLogger("etcdserver/server");
    }

    /// <summary>Auth.AuthEnable through Raft (admin only once on). Errors: "root user does not exist", "root user does not have root role".</summary>
    public override async Task<AuthEnableResponse> AuthEnable(AuthEnableRequest request, ServerCallContext context) =>
        (AuthEnableResponse)await ProposeAsync(new InternalRaftRequest { AuthEnable = request }, context).ConfigureAwait(false);

    /// <summary>Auth.AuthDisable through Raft (admin only): turns checks off and forgets every token.</summary>
    public override async Task<AuthDisableResponse> AuthDisable(AuthDisableRequest request, ServerCallContext context) =>
        (AuthDisableResponse)await ProposeAsync(new InternalRaftRequest { AuthDisable = request }, context).ConfigureAwait(false);

    /// <summary>Auth.AuthStatus (etcd 3.5): whether auth is on and the auth revision, after a read index round.</summary>
    public override async Task<AuthStatusResponse> AuthStatus(AuthStatusRequest request, ServerCallContext context)
    {
        await _member.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        var view = _member.Auth.View;
        return new AuthStatusResponse { Header = Header(), Enabled = view.Enabled, AuthRevision = view.Revision };
    }

    /// <summary>
    /// Auth.Authenticate (etcd's <c>Authenticate</c>, etcdserver/v3_server.go): after a read index round, the password is checked here with
    /// bcrypt against the current auth state, then an Authenticate entry (name and a fresh token prefix, never the
    /// password) goes through Raft and the token assigned when it is applied is answered; if the auth state changed in
    /// between, it starts over. Errors: "authentication is not enabled", "authentication failed, invalid user ID or
    /// password".
    /// </summary>
    public override async Task<AuthenticateResponse> Authenticate(AuthenticateRequest request, ServerCallContext context)
    {
        var cancel = context.CancellationToken;
        await _member.ReadBarrierAsync(cancel).ConfigureAwait(false);
        while (true)
        {
            var checkedRevision = CheckPassword(request.Name, request.Password);
            var entry = new InternalAuthenticateRequest { Name = request.Name, SimpleToken = _member.Auth.Tokens.NewTokenPrefix() };
            var response = (AuthenticateResponse)await _member.ProposeAsync(new InternalRaftRequest { Authenticate = entry }, checkQuota: false, cancel)
                .ConfigureAwait(false);
            if (checkedRevision == _member.Auth.View.Revision)
            {
                return response;
            }
            _logger.LogInformation("revision when password checked became stale; retrying");
        }
    }

    /// <summary>
    /// Auth.UserAdd through Raft (admin only once auth is on). The password is hashed here with bcrypt
    /// (<c>--bcrypt-cost</c>) and only the hash goes into the log. Errors: "user name is empty", "user name already exists".
    /// </summary>
    public override async Task<AuthUserAddResponse> UserAdd(AuthUserAddRequest request, ServerCallContext context)
    {
        var entry = request.Clone();
        if (entry.Options?.NoPassword != true)
        {
            entry.HashedPassword = _member.Auth.HashPassword(entry.Password);
        }
        entry.Password = "";
        return (AuthUserAddResponse)await ProposeAsync(new InternalRaftRequest { AuthUserAdd = entry }, context).ConfigureAwait(false);
    }

    /// <summary>Auth.UserGet after a read index round: the user's roles. Admin, or the user itself. Errors: "user name not found".</summary>
    public override async Task<AuthUserGetResponse> UserGet(AuthUserGetRequest request, ServerCallContext context)
    {
        var view = await _checks.AuthReadAsync((v, info) =>
            AuthChecks.Admin(v, info) is { } denied && request.Name != (info?.Username ?? "") ? denied : null, context.CancellationToken).ConfigureAwait(false);
        if (!view.Users.TryGetValue(request.Name, out var user))
        {
            throw EtcdErrors.UserNotFound;
        }
        var response = new AuthUserGetResponse { Header = Header() };
        response.Roles.AddRange(user.Roles);
        return response;
    }

    /// <summary>Auth.UserList after a read index round (admin only): every user name in byte order.</summary>
    public override async Task<AuthUserListResponse> UserList(AuthUserListRequest request, ServerCallContext context)
    {
        var view = await _checks.AuthReadAsync(AuthChecks.Admin, context.CancellationToken).ConfigureAwait(false);
        var response = new AuthUserListResponse { Header = Header() };
        response.Users.AddRange(view.Users.Keys.Order(StringComparer.Ordinal));
        return response;
    }

    /// <summary>Auth.UserDelete through Raft (admin only); the user's tokens are forgotten. Errors: "user name not found", root while on.</summary>
    public override async Task<AuthUserDeleteResponse> UserDelete(AuthUserDeleteRequest request, ServerCallContext context) =>
        (AuthUserDeleteResponse)await ProposeAsync(new InternalRaftRequest { AuthUserDelete = request }, context).ConfigureAwait(false);

    /// <summary>Auth.UserChangePassword through Raft (admin only), hashed here; the user's tokens stop working.</summary>
    public override async Task<AuthUserChangePasswordResponse> UserChangePassword(AuthUserChangePasswordRequest request, ServerCallContext context)
    {
        var entry = new AuthUserChangePasswordRequest { Name = request.Name, HashedPassword = _member.Auth.HashPassword(request.Password) };
        return (AuthUserChangePasswordResponse)await ProposeAsync(new InternalRaftRequest { AuthUserChangePassword = entry }, context).ConfigureAwait(false);
    }

    /// <summary>Auth.UserGrantRole through Raft (admin only; <c>root</c> need not exist as a role). Errors: "user name not found", "role name not found".</summary>
    public override async Task<AuthUserGrantRoleResponse> UserGrantRole(AuthUserGrantRoleRequest request, ServerCallContext context) =>
        (AuthUserGrantRoleResponse)await ProposeAsync(new InternalRaftRequest { AuthUserGrantRole = request }, context).ConfigureAwait(false);

    /// <summary>Auth.UserRevokeRole through Raft (admin only). Errors: "user name not found", "role is not granted to the user", root's root role while on.</summary>
    public override async Task<AuthUserRevokeRoleResponse> UserRevokeRole(AuthUserRevokeRoleRequest request, ServerCallContext context) =>
        (AuthUserRevokeRoleResponse)await ProposeAsync(new InternalRaftRequest { AuthUserRevokeRole = request }, context).ConfigureAwait(false);

    /// <summary>Auth.RoleAdd through Raft (admin only): a role without permissions. Errors: "role name is empty", "role name already exists".</summary>
    public override async Task<AuthRoleAddResponse> RoleAdd(AuthRoleAddRequest request, ServerCallContext context) =>
        (AuthRoleAddResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleAdd = request }, context).ConfigureAwait(false);

    /// <summary>Auth.RoleGet after a read index round: the role's permissions. Admin, or a user with the role. Errors: "role name not found".</summary>
    public override async Task<AuthRoleGetResponse> RoleGet(AuthRoleGetRequest request, ServerCallContext context)
    {
        var view = await _checks.AuthReadAsync((v, info) =>
            AuthChecks.Admin(v, info) is { } denied
            && !(info is not null && v.Users.TryGetValue(info.Username, out var user) && user.Roles.Contains(request.Role)) ? denied : null,
            context.CancellationToken).ConfigureAwait(false);
        if (!view.Roles.TryGetValue(request.Role, out var role))
        {
            throw EtcdErrors.RoleNotFound;
        }
        var response = new AuthRoleGetResponse { Header = Header() };
        response.Perm.AddRange(role.KeyPermission);
        return response;
    }

    /// <summary>Auth.RoleList after a read index round (admin only): every role name in byte order.</summary>
    public override async Task<AuthRoleListResponse> RoleList(AuthRoleListRequest request, ServerCallContext context)
    {
        var view = await _checks.AuthReadAsync(AuthChecks.Admin, context.CancellationToken).ConfigureAwait(false);
        var response = new AuthRoleListResponse { Header = Header() };
        response.Roles.AddRange(view.Roles.Keys.Order(StringComparer.Ordinal));
        return response;
    }

    /// <summary>Auth.RoleDelete through Raft (admin only); the role is taken from every user. Errors: "role name not found", root while on.</summary>
    public override async Task<AuthRoleDeleteResponse> RoleDelete(AuthRoleDeleteRequest request, ServerCallContext context) =>
        (AuthRoleDeleteResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleDelete = request }, context).ConfigureAwait(false);

    /// <summary>
    /// Auth.RoleGrantPermission through Raft (admin only): adds, or changes the type of, a READ, WRITE or READWRITE
    /// permission on a key, a range, or from a key on (range end <c>\0</c>).
    /// </summary>
    public override async Task<AuthRoleGrantPermissionResponse> RoleGrantPermission(AuthRoleGrantPermissionRequest request, ServerCallContext context) =>
        (AuthRoleGrantPermissionResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleGrantPermission = request }, context).ConfigureAwait(false);

    /// <summary>Auth.RoleRevokePermission through Raft (admin only). Errors: "role name not found", "permission is not granted to the role".</summary>
    public override async Task<AuthRoleRevokePermissionResponse> RoleRevokePermission(AuthRoleRevokePermissionRequest request, ServerCallContext context) =>
        (AuthRoleRevokePermissionResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleRevokePermission = request }, context).ConfigureAwait(false);

    /// <summary>An auth change through Raft, never refused for space (etcd's quota leaves auth requests out).</summary>
    private Task<Google.Protobuf.IMessage> ProposeAsync(InternalRaftRequest request, ServerCallContext context) =>
        _member.ProposeAsync(request, checkQuota: false, context.CancellationToken);

    private ResponseHeader Header() => ResponseHeaders.Create(_member.Status, _member.Status.Revision);

    private ulong CheckPassword(string name, string password)
    {
        var view = _member.Auth.View;
        if (!view.Enabled)
        {
            throw EtcdErrors.AuthNotEnabled;
        }
        if (!view.Users.TryGetValue(name, out var user))
        {
            _logger.LogWarning("invalid authentication was requested: user {user}, error {error}", name, EtcdErrors.AuthFailed.Message);
            throw EtcdErrors.AuthFailed;
        }
        if (user.Options?.NoPassword == true)
        {
            throw new EtcdException(RpcStatusCode.Unknown, "auth: authentication failed, password was given for no password user");
        }
        bool valid;
        try
        {
            valid = BCrypt.Net.BCrypt.Verify(password, user.Password.ToStringUtf8());
        }
        catch (BCrypt.Net.SaltParseException)
        {
            valid = false;
        }
        if (!valid)
        {
            _logger.LogInformation("invalid password: user-name {user}", name);
            throw EtcdErrors.AuthFailed;
        }
        return view.Revision;
    }
}
