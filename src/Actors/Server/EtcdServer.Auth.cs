using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// The auth paths of the member (etcd's etcdserver/v3_server.go Authenticator methods, AuthInfoFromCtx, doSerialize):
/// who a call runs as, the checks made before a read, a watch or an admin-only call, and the Auth service. Writes are
/// checked where they are applied (the store actor), with the credentials stamped into the log entry's header.
/// </summary>
public sealed partial class EtcdServer
{
    /// <summary>The replicated auth store (its <see cref="AuthStore.View"/> is the state the edge checks against).</summary>
    public AuthStore Auth => _opened.Auth;

    /// <summary>Resolves the credentials of the current call; see <see cref="MemberGateway.ResolveCallerAsync"/>.</summary>
    public Task<AuthInfo?> ResolveCallerAsync(CancellationToken cancel) => Gateway.ResolveCallerAsync(cancel);

    /// <summary>
    /// Refuses the current call unless its user has the root role (etcd's IsAdminPermitted, as the Maintenance and
    /// Cluster services check it): "user name is empty", "user name not found", "permission denied", or "invalid auth
    /// token". Nothing is checked while auth is off.
    /// </summary>
    public async Task CheckAdminAsync(CancellationToken cancel)
    {
        if (!Auth.View.Enabled && AuthCredentials.Current.Token is null)
        {
            return;
        }
        var info = await ResolveCallerAsync(cancel).ConfigureAwait(false);
        if (AuthChecks.Admin(Auth.View, info) is { } denied)
        {
            throw denied;
        }
    }

    /// <summary>
    /// Why a Watch create request must be refused (etcd's isWatchPermitted): null when READ is allowed on its range,
    /// else the cancel reason for the "created and canceled" response: the gRPC error as grpc-go prints it, e.g. "rpc
    /// error: code = PermissionDenied desc = etcdserver: permission denied" (also for an invalid auth token, an empty
    /// user name, an old auth revision). As etcd checks it, a watch from a key (range end <c>\0</c>) is checked on its
    /// first key only.
    /// </summary>
    public async Task<string?> WatchDenialAsync(WatchCreateRequest create, CancellationToken cancel)
    {
        if (!Auth.View.Enabled && AuthCredentials.Current.Token is null)
        {
            return null;
        }
        AuthInfo? info;
        try
        {
            info = await ResolveCallerAsync(cancel).ConfigureAwait(false);
        }
        catch (EtcdException ex)
        {
            return GrpcErrorText(ex);
        }
        var key = create.Key.IsEmpty ? ByteString.CopyFrom(0) : create.Key;
        var rangeEnd = create.RangeEnd.Length == 1 && create.RangeEnd[0] == 0 ? ByteString.Empty : create.RangeEnd;
        return AuthChecks.KeyRange(Auth.View, info ?? AuthInfo.None, key, rangeEnd, write: false) is { } denied ? GrpcErrorText(denied) : null;
    }

    /// <summary>An error as grpc-go's status error prints itself (etcd puts that text into a watch's cancel reason).</summary>
    private static string GrpcErrorText(EtcdException error) =>
        $"rpc error: code = {(error.Code == RpcStatusCode.Cancelled ? "Canceled" : error.Code.ToString())} desc = {error.Message}";

    /// <summary>
    /// A read checked as etcd's doSerialize: the caller is resolved and <paramref name="check"/> run against the auth
    /// state before the query, and the answer is refused with "revision of auth store is old" when the auth state
    /// changed while it ran. etcd checks a linearizable read after its read index is applied; a follower may not have
    /// applied an auth change (auth enable, a revoked permission) before the query, so the check runs again on the
    /// auth state seen after the answer, which is at least as new as the read index.
    /// </summary>
    private async Task<T> CheckedReadAsync<T>(StoreProtocol.Query query, bool serializable, Func<AuthView, AuthInfo, EtcdException?> check,
        CancellationToken cancel)
    {
        AuthInfo? info = null;
        if (Auth.View.Enabled || AuthCredentials.Current.Token is not null)
        {
            info = await ResolveCallerAsync(cancel).ConfigureAwait(false) ?? AuthInfo.None;
            if (check(Auth.View, info) is { } denied)
            {
                throw denied;
            }
        }
        var answer = await ReadAsync<T>(query, serializable, cancel).ConfigureAwait(false);
        var after = Auth.View;
        if (!after.Enabled)
        {
            return answer;
        }
        info ??= await ResolveCallerAsync(cancel).ConfigureAwait(false) ?? AuthInfo.None;
        if (info.Revision != 0 && info.Revision != after.Revision)
        {
            throw EtcdErrors.AuthOldRevision;
        }
        if (check(after, info) is { } late)
        {
            throw late;
        }
        return answer;
    }

    /// <summary>Auth.AuthEnable through Raft (admin only once on). Errors: "root user does not exist", "root user does not have root role".</summary>
    public async Task<AuthEnableResponse> AuthEnableAsync(AuthEnableRequest request, CancellationToken cancel) =>
        (AuthEnableResponse)await ProposeAsync(new InternalRaftRequest { AuthEnable = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Auth.AuthDisable through Raft (admin only); every token is forgotten.</summary>
    public async Task<AuthDisableResponse> AuthDisableAsync(AuthDisableRequest request, CancellationToken cancel) =>
        (AuthDisableResponse)await ProposeAsync(new InternalRaftRequest { AuthDisable = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Auth.AuthStatus (etcd 3.5): whether auth is on and the auth revision, after a read index round.</summary>
    public async Task<AuthStatusResponse> AuthStatusAsync(CancellationToken cancel)
    {
        await ReadBarrierAsync(cancel).ConfigureAwait(false);
        var view = Auth.View;
        return new AuthStatusResponse { Header = ResponseHeaders.Create(Status, Status.Revision), Enabled = view.Enabled, AuthRevision = view.Revision };
    }

    /// <summary>
    /// Auth.Authenticate (etcd's EtcdServer.Authenticate): after a read index round, the password is checked here with
    /// bcrypt against the current auth state, then an Authenticate entry (name and a fresh token prefix, never the
    /// password) goes through Raft and the token assigned when it is applied is answered; if the auth state changed in
    /// between, it starts over. Errors: "authentication is not enabled", "authentication failed, invalid user ID or
    /// password".
    /// </summary>
    public async Task<AuthenticateResponse> AuthenticateAsync(AuthenticateRequest request, CancellationToken cancel)
    {
        await ReadBarrierAsync(cancel).ConfigureAwait(false);
        while (true)
        {
            var checkedRevision = CheckPassword(request.Name, request.Password);
            var entry = new InternalAuthenticateRequest { Name = request.Name, SimpleToken = Auth.Tokens.NewTokenPrefix() };
            var response = (AuthenticateResponse)await ProposeAsync(new InternalRaftRequest { Authenticate = entry }, checkQuota: false, cancel)
                .ConfigureAwait(false);
            if (checkedRevision == Auth.View.Revision)
            {
                return response;
            }
            _logger.LogInformation("revision when password checked became stale; retrying");
        }
    }

    private ulong CheckPassword(string name, string password)
    {
        var view = Auth.View;
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

    /// <summary>
    /// Auth.UserAdd through Raft (admin only once auth is on). The password is hashed here with bcrypt
    /// (<c>--bcrypt-cost</c>) and only the hash goes into the log. Errors: "user name is empty", "user name already exists".
    /// </summary>
    public async Task<AuthUserAddResponse> UserAddAsync(AuthUserAddRequest request, CancellationToken cancel)
    {
        var entry = request.Clone();
        if (entry.Options?.NoPassword != true)
        {
            entry.HashedPassword = Auth.HashPassword(entry.Password);
        }
        entry.Password = "";
        return (AuthUserAddResponse)await ProposeAsync(new InternalRaftRequest { AuthUserAdd = entry }, checkQuota: false, cancel).ConfigureAwait(false);
    }

    /// <summary>Auth.UserDelete through Raft (admin only); the user's tokens are forgotten. Errors: "user name not found", root while on.</summary>
    public async Task<AuthUserDeleteResponse> UserDeleteAsync(AuthUserDeleteRequest request, CancellationToken cancel) =>
        (AuthUserDeleteResponse)await ProposeAsync(new InternalRaftRequest { AuthUserDelete = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Auth.UserChangePassword through Raft (admin only), hashed here; the user's tokens are forgotten.</summary>
    public async Task<AuthUserChangePasswordResponse> UserChangePasswordAsync(AuthUserChangePasswordRequest request, CancellationToken cancel)
    {
        var entry = new AuthUserChangePasswordRequest { Name = request.Name, HashedPassword = Auth.HashPassword(request.Password) };
        return (AuthUserChangePasswordResponse)await ProposeAsync(new InternalRaftRequest { AuthUserChangePassword = entry }, checkQuota: false, cancel)
            .ConfigureAwait(false);
    }

    /// <summary>Auth.UserGrantRole through Raft (admin only). Errors: "user name not found", "role name not found".</summary>
    public async Task<AuthUserGrantRoleResponse> UserGrantRoleAsync(AuthUserGrantRoleRequest request, CancellationToken cancel) =>
        (AuthUserGrantRoleResponse)await ProposeAsync(new InternalRaftRequest { AuthUserGrantRole = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Auth.UserRevokeRole through Raft (admin only). Errors: "user name not found", "role is not granted to the user", root's root role while on.</summary>
    public async Task<AuthUserRevokeRoleResponse> UserRevokeRoleAsync(AuthUserRevokeRoleRequest request, CancellationToken cancel) =>
        (AuthUserRevokeRoleResponse)await ProposeAsync(new InternalRaftRequest { AuthUserRevokeRole = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Auth.RoleAdd through Raft (admin only). Errors: "role name is empty", "role name already exists".</summary>
    public async Task<AuthRoleAddResponse> RoleAddAsync(AuthRoleAddRequest request, CancellationToken cancel) =>
        (AuthRoleAddResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleAdd = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Auth.RoleDelete through Raft (admin only); the role is taken from every user. Errors: "role name not found", root while on.</summary>
    public async Task<AuthRoleDeleteResponse> RoleDeleteAsync(AuthRoleDeleteRequest request, CancellationToken cancel) =>
        (AuthRoleDeleteResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleDelete = request }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>Auth.RoleGrantPermission through Raft (admin only): adds, or changes the type of, a key or range permission.</summary>
    public async Task<AuthRoleGrantPermissionResponse> RoleGrantPermissionAsync(AuthRoleGrantPermissionRequest request, CancellationToken cancel) =>
        (AuthRoleGrantPermissionResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleGrantPermission = request }, checkQuota: false, cancel)
            .ConfigureAwait(false);

    /// <summary>Auth.RoleRevokePermission through Raft (admin only). Errors: "role name not found", "permission is not granted to the role".</summary>
    public async Task<AuthRoleRevokePermissionResponse> RoleRevokePermissionAsync(AuthRoleRevokePermissionRequest request, CancellationToken cancel) =>
        (AuthRoleRevokePermissionResponse)await ProposeAsync(new InternalRaftRequest { AuthRoleRevokePermission = request }, checkQuota: false, cancel)
            .ConfigureAwait(false);

    /// <summary>Auth.UserGet after a read index round: the user's roles. Admin, or the user itself. Errors: "user name not found".</summary>
    public async Task<AuthUserGetResponse> UserGetAsync(AuthUserGetRequest request, CancellationToken cancel)
    {
        var view = await AuthReadAsync(cancel, (v, info) =>
            AuthChecks.Admin(v, info) is { } denied && request.Name != (info?.Username ?? "") ? denied : null).ConfigureAwait(false);
        if (!view.Users.TryGetValue(request.Name, out var user))
        {
            throw EtcdErrors.UserNotFound;
        }
        var response = new AuthUserGetResponse { Header = ResponseHeaders.Create(Status, Status.Revision) };
        response.Roles.AddRange(user.Roles);
        return response;
    }

    /// <summary>Auth.UserList after a read index round (admin only): every user name in byte order.</summary>
    public async Task<AuthUserListResponse> UserListAsync(CancellationToken cancel)
    {
        var view = await AuthReadAsync(cancel, AuthChecks.Admin).ConfigureAwait(false);
        var response = new AuthUserListResponse { Header = ResponseHeaders.Create(Status, Status.Revision) };
        response.Users.AddRange(view.Users.Keys.Order(StringComparer.Ordinal));
        return response;
    }

    /// <summary>Auth.RoleGet after a read index round: the role's permissions. Admin, or a user with the role. Errors: "role name not found".</summary>
    public async Task<AuthRoleGetResponse> RoleGetAsync(AuthRoleGetRequest request, CancellationToken cancel)
    {
        var view = await AuthReadAsync(cancel, (v, info) =>
            AuthChecks.Admin(v, info) is { } denied
            && !(info is not null && v.Users.TryGetValue(info.Username, out var user) && user.Roles.Contains(request.Role)) ? denied : null)
            .ConfigureAwait(false);
        if (!view.Roles.TryGetValue(request.Role, out var role))
        {
            throw EtcdErrors.RoleNotFound;
        }
        var response = new AuthRoleGetResponse { Header = ResponseHeaders.Create(Status, Status.Revision) };
        response.Perm.AddRange(role.KeyPermission);
        return response;
    }

    /// <summary>Auth.RoleList after a read index round (admin only): every role name in byte order.</summary>
    public async Task<AuthRoleListResponse> RoleListAsync(CancellationToken cancel)
    {
        var view = await AuthReadAsync(cancel, AuthChecks.Admin).ConfigureAwait(false);
        var response = new AuthRoleListResponse { Header = ResponseHeaders.Create(Status, Status.Revision) };
        response.Roles.AddRange(view.Roles.Keys.Order(StringComparer.Ordinal));
        return response;
    }

    /// <summary>A read of the auth state itself: a read index round, the caller resolved and checked; answers the state.</summary>
    private async Task<AuthView> AuthReadAsync(CancellationToken cancel, Func<AuthView, AuthInfo?, EtcdException?> check)
    {
        await ReadBarrierAsync(cancel).ConfigureAwait(false);
        var info = await ResolveCallerAsync(cancel).ConfigureAwait(false);
        var view = Auth.View;
        if (check(view, info) is { } denied)
        {
            throw denied;
        }
        return view;
    }
}
