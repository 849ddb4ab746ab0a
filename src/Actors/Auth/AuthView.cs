using Authpb;

namespace Akka.Etcd.Actors.Auth;

/// <summary>
/// The auth state at one point of the log (etcd's authStore as its API layer reads it): whether auth is enabled, the
/// auth revision (raised by every change of users, roles or permissions), every user and role, and each user's merged
/// key permissions. Immutable: the <see cref="AuthStore"/> publishes a new one after every applied auth change, and
/// the edge checks requests against the latest one without locks. The protobuf objects in it are never changed.
/// </summary>
public sealed class AuthView
{
    /// <summary>Creates a view; <paramref name="users"/> and <paramref name="roles"/> are taken as they are.</summary>
    public AuthView(bool enabled, ulong revision, IReadOnlyDictionary<string, User> users, IReadOnlyDictionary<string, Role> roles)
    {
        Enabled = enabled;
        Revision = revision;
        Users = users;
        Roles = roles;
        var permissions = new Dictionary<string, RangePermissions>(StringComparer.Ordinal);
        foreach (var (name, user) in users)
        {
            permissions[name] = RangePermissions.Merge(user.Roles.Select(role => roles.GetValueOrDefault(role)));
        }
        Permissions = permissions;
    }

    /// <summary>Auth off, revision 1, nobody: a fresh store (what etcd 3.4 writes into a new db).</summary>
    public static readonly AuthView Initial = new(false, 1, new Dictionary<string, User>(), new Dictionary<string, Role>());

    /// <summary>True when requests are checked.</summary>
    public bool Enabled { get; }

    /// <summary>The auth revision: 1 in a fresh store, +1 for every change.</summary>
    public ulong Revision { get; }

    /// <summary>Users by name.</summary>
    public IReadOnlyDictionary<string, User> Users { get; }

    /// <summary>Roles by name.</summary>
    public IReadOnlyDictionary<string, Role> Roles { get; }

    /// <summary>Each user's key permissions merged over the user's roles (etcd's rangePermCache).</summary>
    public IReadOnlyDictionary<string, RangePermissions> Permissions { get; }

    /// <summary>True when <paramref name="user"/> has the root role (which may do anything).</summary>
    public static bool HasRootRole(User user) => user.Roles.Contains(AuthStore.RootRole);
}
