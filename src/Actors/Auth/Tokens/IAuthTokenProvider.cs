namespace Akka.Etcd.Actors.Auth.Tokens;

/// <summary>
/// Issues and resolves auth tokens (etcd's auth.TokenProvider): <c>simple</c> (<see cref="SimpleTokenProvider"/>)
/// or <c>jwt</c> (<see cref="JwtTokenProvider"/>), chosen by <c>--auth-token</c> (<see cref="AuthTokenOptions"/>).
/// Tokens are assigned while the Authenticate entry is applied, on every member, so that any member resolves them.
/// Thread-safe: assigned and invalidated by the store actor, resolved by the edge on request threads.
/// </summary>
public interface IAuthTokenProvider
{
    /// <summary>The token kind: <c>simple</c> or <c>jwt</c>.</summary>
    string Kind { get; }

    /// <summary>
    /// A fresh random token prefix for an Authenticate proposal (simple tokens: 16 letters; jwt: empty), chosen by
    /// the member that takes the request and carried in the log entry.
    /// </summary>
    string NewTokenPrefix();

    /// <summary>
    /// The token for <paramref name="username"/> at auth revision <paramref name="revision"/>, assigned when the
    /// Authenticate entry at Raft index <paramref name="index"/> is applied (a simple token is
    /// <c>prefix.index</c> and is remembered here; a JWT is signed and remembers nothing).
    /// </summary>
    /// <exception cref="Protos.Errors.EtcdException">A verify-only JWT key cannot sign.</exception>
    string Assign(string username, ulong revision, string prefix, ulong index);

    /// <summary>
    /// The Raft index this member must have applied before <paramref name="token"/> can be resolved (a simple token's
    /// suffix), or null when it needs none (jwt) or is malformed.
    /// </summary>
    ulong? AppliedIndexNeeded(string token);

    /// <summary>
    /// Resolves <paramref name="token"/>: the user and the revision (a simple token is valid at
    /// <paramref name="currentRevision"/> and its TTL restarts; a JWT carries its own), or null for an unknown,
    /// expired, malformed or badly signed token.
    /// </summary>
    AuthInfo? Resolve(string token, ulong currentRevision);

    /// <summary>Forgets every token of <paramref name="username"/> (user deleted or password changed).</summary>
    void InvalidateUser(string username);

    /// <summary>Auth was enabled (the provider starts keeping tokens).</summary>
    void Enable();

    /// <summary>Auth was disabled: every token is forgotten.</summary>
    void Disable();
}
