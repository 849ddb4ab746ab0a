using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Auth;

/// <summary>
/// etcd's permission checks (auth/store.go isOpPermitted and IsAdminPermitted, etcdserver/apply_auth.go): pure
/// functions of an <see cref="AuthView"/> and an <see cref="AuthInfo"/>, used by the store actor when it applies a
/// request and by the edge for reads, watches and admin-only calls. Each returns null when allowed, or the error to
/// answer. With auth off everything is allowed.
/// </summary>
public static class AuthChecks
{
    /// <summary>
    /// May <paramref name="info"/> read (<paramref name="write"/> false) or write [key, rangeEnd)? Errors: "user name
    /// is empty" without credentials, "revision of auth store is old" for credentials older than the store,
    /// "permission denied" for an unknown user or a key outside the user's permissions (root may do anything).
    /// </summary>
    public static EtcdException? KeyRange(AuthView view, AuthInfo info, ByteString key, ByteString rangeEnd, bool write)
    {
        if (!view.Enabled)
        {
            return null;
        }
        if (info.Revision == 0)
        {
            return EtcdErrors.UserEmpty;
        }
        if (info.Revision < view.Revision)
        {
            return EtcdErrors.AuthOldRevision;
        }
        if (!view.Users.TryGetValue(info.Username, out var user))
        {
            return EtcdErrors.PermissionDenied;
        }
        if (AuthView.HasRootRole(user))
        {
            return null;
        }
        var permissions = view.Permissions.GetValueOrDefault(info.Username) ?? RangePermissions.Empty;
        return permissions.Allows(write, key.Span, rangeEnd.Span) ? null : EtcdErrors.PermissionDenied;
    }

    /// <summary>
    /// May <paramref name="info"/> do what only root may (auth and membership management, defragment, snapshot, hash)?
    /// Errors: "user name is empty", "user name not found", "permission denied". The revision is not checked (as etcd).
    /// </summary>
    public static EtcdException? Admin(AuthView view, AuthInfo? info)
    {
        if (!view.Enabled)
        {
            return null;
        }
        if (info is null || info.Username.Length == 0)
        {
            return EtcdErrors.UserEmpty;
        }
        if (!view.Users.TryGetValue(info.Username, out var user))
        {
            return EtcdErrors.UserNotFound;
        }
        return AuthView.HasRootRole(user) ? null : EtcdErrors.PermissionDenied;
    }

    /// <summary>
    /// A txn's checks (etcd's checkTxnAuth): every compare needs READ on its range, every range op READ, every put
    /// WRITE on its key, every delete WRITE (and READ with <c>prev_kv</c>) on its range; nested txns are checked the
    /// same way (etcd 3.4 skipped them; 3.5 checks them).
    /// </summary>
    public static EtcdException? Txn(AuthView view, AuthInfo info, TxnRequest txn)
    {
        if (!view.Enabled)
        {
            return null;
        }
        foreach (var compare in txn.Compare)
        {
            if (KeyRange(view, info, compare.Key, compare.RangeEnd, write: false) is { } denied)
            {
                return denied;
            }
        }
        return Ops(view, info, txn.Success) ?? Ops(view, info, txn.Failure);
    }

    private static EtcdException? Ops(AuthView view, AuthInfo info, IEnumerable<RequestOp> ops)
    {
        foreach (var op in ops)
        {
            var denied = op.RequestCase switch
            {
                RequestOp.RequestOneofCase.RequestRange =>
                    KeyRange(view, info, op.RequestRange.Key, op.RequestRange.RangeEnd, write: false),
                RequestOp.RequestOneofCase.RequestPut =>
                    KeyRange(view, info, op.RequestPut.Key, ByteString.Empty, write: true),
                RequestOp.RequestOneofCase.RequestDeleteRange =>
                    (op.RequestDeleteRange.PrevKv
                        ? KeyRange(view, info, op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd, write: false)
                        : null)
                    ?? KeyRange(view, info, op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd, write: true),
                RequestOp.RequestOneofCase.RequestTxn => Txn(view, info, op.RequestTxn),
                _ => null,
            };
            if (denied is not null)
            {
                return denied;
            }
        }
        return null;
    }

    /// <summary>
    /// The checks etcd's authApplierV3 makes while applying <paramref name="request"/> with the credentials in its
    /// header: admin-only requests need root; a put WRITE on its key (READ too with <c>prev_kv</c>) and WRITE on every
    /// key already attached to its lease; a delete WRITE (and READ with <c>prev_kv</c>) on its range; a txn as
    /// <see cref="Txn"/>; a lease revoke WRITE on every key attached to the lease.
    /// </summary>
    /// <param name="view">The auth state at this point of the log.</param>
    /// <param name="request">The request being applied.</param>
    /// <param name="leaseKeys">The keys attached to a lease (empty for an unknown lease).</param>
    public static EtcdException? Apply(AuthView view, InternalRaftRequest request, Func<long, IEnumerable<ByteString>> leaseKeys)
    {
        if (!view.Enabled)
        {
            return null;
        }
        var info = request.Header is { } header ? new AuthInfo(header.Username, header.AuthRevision) : AuthInfo.None;
        if (NeedsAdmin(request))
        {
            return Admin(view, info);
        }
        if (request.Put is { } put)
        {
            return KeyRange(view, info, put.Key, ByteString.Empty, write: true)
                ?? LeasePuts(view, info, put.Lease, leaseKeys)
                ?? (put.PrevKv ? KeyRange(view, info, put.Key, ByteString.Empty, write: false) : null);
        }
        if (request.DeleteRange is { } delete)
        {
            return KeyRange(view, info, delete.Key, delete.RangeEnd, write: true)
                ?? (delete.PrevKv ? KeyRange(view, info, delete.Key, delete.RangeEnd, write: false) : null);
        }
        if (request.Txn is { } txn)
        {
            return Txn(view, info, txn);
        }
        if (request.LeaseRevoke is { } revoke)
        {
            return LeasePuts(view, info, revoke.ID, leaseKeys);
        }
        return null;
    }

    private static EtcdException? LeasePuts(AuthView view, AuthInfo info, long lease, Func<long, IEnumerable<ByteString>> leaseKeys)
    {
        if (lease == 0)
        {
            return null;
        }
        foreach (var key in leaseKeys(lease))
        {
            if (KeyRange(view, info, key, ByteString.Empty, write: true) is { } denied)
            {
                return denied;
            }
        }
        return null;
    }

    /// <summary>etcd's needAdminPermission: the auth management requests of the log.</summary>
    public static bool NeedsAdmin(InternalRaftRequest request) =>
        request.AuthEnable is not null || request.AuthDisable is not null || request.AuthUserAdd is not null
        || request.AuthUserDelete is not null || request.AuthUserChangePassword is not null || request.AuthUserGrantRole is not null
        || request.AuthUserRevokeRole is not null || request.AuthRoleAdd is not null || request.AuthRoleGrantPermission is not null
        || request.AuthRoleRevokePermission is not null || request.AuthRoleDelete is not null || request.AuthUserList is not null
        || request.AuthRoleList is not null;
}
