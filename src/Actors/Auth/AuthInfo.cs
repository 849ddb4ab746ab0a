namespace Akka.Etcd.Actors.Auth;

/// <summary>
/// Who a request runs as (etcd's auth.AuthInfo): the user name a token or a client certificate resolved to, and the
/// auth revision the credentials were issued at (a simple token reports the store's revision at the time of the call;
/// a JWT carries the revision it was signed at). Permission checks refuse a revision older than the store's
/// ("revision of auth store is old"), so a request checked before a permission change cannot be applied after it.
/// <see cref="Revision"/> 0 means "no user" ("user name is empty" once auth is on).
/// </summary>
/// <param name="Username">The user name; empty for none.</param>
/// <param name="Revision">The auth revision the credentials are valid at; 0 for none.</param>
public sealed record AuthInfo(string Username, ulong Revision)
{
    /// <summary>No credentials: what a request without a token (and without a client certificate) runs as.</summary>
    public static readonly AuthInfo None = new("", 0);

    /// <summary>
    /// The member's own requests (a lease revoked on expiry): root at a revision no permission change can overtake,
    /// as etcd's <c>WithRoot</c>. Only the member sets it: a client cannot put a user name into a log entry.
    /// </summary>
    public static readonly AuthInfo Internal = new(AuthStore.RootUser, ulong.MaxValue);
}

/// <summary>
/// What a client call presented, before it is resolved (etcd reads both from the gRPC context): the <c>token</c>
/// metadata and, on a TLS connection whose client certificate was verified against <c>--trusted-ca-file</c>, the
/// certificate's CommonName.
/// </summary>
/// <param name="Token">The <c>token</c> (or <c>authorization</c>) metadata value, or null when absent.</param>
/// <param name="CommonName">The verified client certificate's CommonName, or null.</param>
public sealed record AuthCredentials(string? Token, string? CommonName)
{
    /// <summary>Nothing presented.</summary>
    public static readonly AuthCredentials Anonymous = new(null, null);

    private static readonly AsyncLocal<AuthCredentials?> Ambient = new();

    /// <summary>
    /// The credentials of the call running on this async flow (what Go's <c>ctx</c> carries through etcd): set once
    /// per call by the gRPC layer's auth interceptor before the handler runs, read by the member's edge when it
    /// proposes, reads or checks. <see cref="Anonymous"/> when nothing was set (in-process callers and tests).
    /// </summary>
    public static AuthCredentials Current
    {
        get => Ambient.Value ?? Anonymous;
        set => Ambient.Value = value;
    }
}
