using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Akka.Etcd.Api.Auth;

/// <summary>
/// Gives every client call its credentials, as grpc-go hands etcd's handlers a context with the metadata and the TLS
/// peer: the <c>token</c> metadata (or grpc-gateway's <c>authorization</c>) and, on a TLS connection, the verified
/// client certificate's CommonName become <see cref="AuthCredentials.Current"/> for the handler's async flow; they are
/// resolved only where etcd resolves them (a proposal, a read, a watch create, an admin check). The calls etcd's
/// Maintenance and Cluster services allow to root only (Defragment, Snapshot, Hash, HashKV, MemberAdd, MemberRemove,
/// MemberUpdate, MemberPromote) are checked here, before their handler runs; the Maintenance ones fail as etcd's do,
/// with UNKNOWN and the auth store's text ("auth: permission denied"). Stateless and thread-safe.
/// </summary>
public sealed class AuthInterceptor : Interceptor
{
    /// <summary>The calls that need the root role once auth is on (etcd's authMaintenanceServer and checkMembershipOperationPermission).</summary>
    public static readonly IReadOnlySet<string> AdminMethods = new HashSet<string>(StringComparer.Ordinal)
    {
        "/etcdserverpb.Maintenance/Defragment",
        "/etcdserverpb.Maintenance/Snapshot",
        "/etcdserverpb.Maintenance/Hash",
        "/etcdserverpb.Maintenance/HashKV",
        "/etcdserverpb.Cluster/MemberAdd",
        "/etcdserverpb.Cluster/MemberRemove",
        "/etcdserverpb.Cluster/MemberUpdate",
        "/etcdserverpb.Cluster/MemberPromote",
    };

    private readonly CallerChecks _checks;

    /// <summary>Creates the interceptor over the member's caller checks.</summary>
    public AuthInterceptor(CallerChecks checks) => _checks = checks;

    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        AuthCredentials.Current = CredentialsOf(context); // here: a value set inside an awaited method stays there
        await CheckAdminAsync(context).ConfigureAwait(false);
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (EtcdException ex) when (IsConcurrency(context) && IsAuthError(ex))
        {
            // v3lock and v3election run on etcd's own client, whose errors reach their callers as UNKNOWN with the text.
            throw new EtcdException(RpcStatusCode.Unknown, ex.Message);
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        AuthCredentials.Current = CredentialsOf(context); // here: a value set inside an awaited method stays there
        await CheckAdminAsync(context).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        AuthCredentials.Current = CredentialsOf(context); // here: a value set inside an awaited method stays there
        await CheckAdminAsync(context).ConfigureAwait(false);
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (EtcdException ex) when (IsConcurrency(context) && IsAuthError(ex))
        {
            throw new EtcdException(RpcStatusCode.Unknown, ex.Message);
        }
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        AuthCredentials.Current = CredentialsOf(context); // here: a value set inside an awaited method stays there
        await CheckAdminAsync(context).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }

    private async Task CheckAdminAsync(ServerCallContext context)
    {
        if (!AdminMethods.Contains(context.Method))
            return;
        try
        {
            await _checks.CheckAdminAsync(context.CancellationToken).ConfigureAwait(false);
        }
        catch (EtcdException ex) when (context.Method.StartsWith("/etcdserverpb.Maintenance/", StringComparison.Ordinal))
        {
            // etcd's authMaintenanceServer returns the auth store's own error, not its gRPC form: UNKNOWN "auth: ...".
            throw new EtcdException(RpcStatusCode.Unknown, AuthStoreText(ex));
        }
    }

    private static bool IsConcurrency(ServerCallContext context) =>
        context.Method.StartsWith("/v3lockpb.", StringComparison.Ordinal) || context.Method.StartsWith("/v3electionpb.", StringComparison.Ordinal);

    private static bool IsAuthError(EtcdException error) =>
        error.Code is RpcStatusCode.PermissionDenied or RpcStatusCode.Unauthenticated
        || error.Message == EtcdErrors.UserEmpty.Message || error.Message == EtcdErrors.AuthOldRevision.Message
        || error.Message == EtcdErrors.UserNotFound.Message;

    /// <summary>The auth store's text of an error (etcd's auth.Err*), as its Maintenance service answers it.</summary>
    internal static string AuthStoreText(EtcdException error) => error.Message switch
    {
        "etcdserver: user name not found" => "auth: user not found",
        "etcdserver: revision of auth store is old" => "auth: revision in header is old",
        var text when text.StartsWith("etcdserver: ", StringComparison.Ordinal) => "auth: " + text["etcdserver: ".Length..],
        var text => text,
    };

    /// <summary>The credentials a call presents: its token metadata and its TLS client certificate's CommonName.</summary>
    internal static AuthCredentials CredentialsOf(ServerCallContext context)
    {
        var token = context.RequestHeaders.GetValue("token") ?? context.RequestHeaders.GetValue("authorization");
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        var commonName = certificate is null ? null : CommonNameOf(certificate);
        return token is null && commonName is null ? AuthCredentials.Anonymous : new AuthCredentials(token, commonName);
    }

    /// <summary>The subject's CommonName (OID 2.5.4.3; the last one when several), or null when it has none.</summary>
    internal static string? CommonNameOf(X509Certificate2 certificate)
    {
        string? commonName = null;
        try
        {
            foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
            {
                if (rdn.GetSingleElementType().Value == "2.5.4.3")
                {
                    commonName = rdn.GetSingleElementValue();
                }
            }
        }
        catch (Exception ex) when (ex is AsnContentException or InvalidOperationException)
        {
            return null;
        }
        return commonName;
    }
}
