using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Auth;

/// <summary>
/// The permission checks made at the edge before a call runs (etcd's etcdserver/v3_server.go doSerialize,
/// IsAdminPermitted and v3rpc/watch.go isWatchPermitted): who the call runs as is resolved by
/// <see cref="MemberGateway.ResolveCallerAsync"/> (the proposal path stamps the same caller into each log entry, whose
/// write permissions the store checks when it applies it). Used by the KV, Watch, Auth, Cluster and Maintenance
/// services and the <see cref="AuthInterceptor"/>. Stateless and thread-safe.
/// </summary>
public sealed class CallerChecks
{
    private readonly MemberGateway _member;

    /// <summary>Creates the checks of the member behind <paramref name="member"/>.</summary>
    public CallerChecks(MemberGateway member) => _member = member;

    /// <summary>
    /// Refuses the current call unless its user has the root role (etcd's IsAdminPermitted, as the Maintenance and
    /// Cluster services check it): "user name is empty", "user name not found", "permission denied", or "invalid auth
    /// token". Nothing is checked while auth is off and the call carries no token.
    /// </summary>
    /// <exception cref="EtcdException">The refusal, with etcd's code and text.</exception>
    public async Task CheckAdminAsync(CancellationToken cancel)
    {
        var auth = _member.Auth;
        if (!auth.View.Enabled && AuthCredentials.Current.Token is null)
        {
            return;
        }
        var info = await _member.ResolveCallerAsync(cancel).ConfigureAwait(false);
        if (AuthChecks.Admin(auth.View, info) is { } denied)
        {
            throw denied;
        }
    }

    /// <summary>
    /// Why a Watch create request must be refused (etcd's isWatchPermitted): null when READ is allowed on its range,
    /// else the cancel reason for the "created and canceled" response: the gRPC error as grpc-go prints it, e.g. "rpc
    /// error: code = PermissionDenied desc = etcdserver: permission denied" (also for an invalid auth token, an empty
    /// user name, an old auth revision). As etcd checks it, a watch from a key (range end <c>\0</c>) is checked on its
    /// first key only. Never throws for a refusal.
    /// </summary>
    public async Task<string?> WatchDenialAsync(WatchCreateRequest create, CancellationToken cancel)
    {
        var auth = _member.Auth;
        if (!auth.View.Enabled && AuthCredentials.Current.Token is null)
        {
            return null;
        }
        AuthInfo? info;
        try
        {
            info = await _member.ResolveCallerAsync(cancel).ConfigureAwait(false);
        }
        catch (EtcdException ex)
        {
            return GrpcErrorText(ex);
        }
        var key = create.Key.IsEmpty ? ByteString.CopyFrom(0) : create.Key;
        var rangeEnd = create.RangeEnd.Length == 1 && create.RangeEnd[0] == 0 ? ByteString.Empty : create.RangeEnd;
        return AuthChecks.KeyRange(auth.View, info ?? AuthInfo.None, key, rangeEnd, write: false) is { } denied ? GrpcErrorText(denied) : null;
    }

    /// <summary>
    /// A read checked as etcd's doSerialize: the caller is resolved and <paramref name="check"/> run against the auth
    /// state before the query (<see cref="MemberGateway.ReadAsync{T}"/>), and the answer is refused with "revision of
    /// auth store is old" when the auth state changed while it ran. etcd checks a linearizable read after its read index
    /// is applied; a follower may not have applied an auth change (auth enable, a revoked permission) before the query,
    /// so the check runs again on the auth state seen after the answer, which is at least as new as the read index.
    /// </summary>
    /// <exception cref="EtcdException">The check's refusal, AuthOldRevision, InvalidAuthToken, or the read's errors.</exception>
    public async Task<T> CheckedReadAsync<T>(StoreProtocol.Query query, bool serializable, Func<AuthView, AuthInfo, EtcdException?> check,
        CancellationToken cancel)
    {
        var auth = _member.Auth;
        AuthInfo? info = null;
        if (auth.View.Enabled || AuthCredentials.Current.Token is not null)
        {
            info = await _member.ResolveCallerAsync(cancel).ConfigureAwait(false) ?? AuthInfo.None;
            if (check(auth.View, info) is { } denied)
            {
                throw denied;
            }
        }
        var answer = await _member.ReadAsync<T>(query, serializable, cancel).ConfigureAwait(false);
        var after = auth.View;
        if (!after.Enabled)
        {
            return answer;
        }
        info ??= await _member.ResolveCallerAsync(cancel).ConfigureAwait(false) ?? AuthInfo.None;
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

    /// <summary>
    /// A read of the auth state itself: a read index round, the caller resolved and <paramref name="check"/> run;
    /// answers the auth state the check passed on.
    /// </summary>
    /// <exception cref="EtcdException">The check's refusal, InvalidAuthToken, or the read index's errors.</exception>
    public async Task<AuthView> AuthReadAsync(Func<AuthView, AuthInfo?, EtcdException?> check, CancellationToken cancel)
    {
        await _member.ReadBarrierAsync(cancel).ConfigureAwait(false);
        var info = await _member.ResolveCallerAsync(cancel).ConfigureAwait(false);
        var view = _member.Auth.View;
        if (check(view, info) is { } denied)
        {
            throw denied;
        }
        return view;
    }

    /// <summary>An error as grpc-go's status error prints itself (etcd puts that text into a watch's cancel reason).</summary>
    private static string GrpcErrorText(EtcdException error) =>
        $"rpc error: code = {(error.Code == RpcStatusCode.Cancelled ? "Canceled" : error.Code.ToString())} desc = {error.Message}";
}
