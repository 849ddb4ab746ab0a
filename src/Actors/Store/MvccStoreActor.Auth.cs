using Akka.Etcd.Actors.Auth;
using Akka.Etcd.Actors.Auth.Tokens;
using Akka.Etcd.Actors.Server;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Store;

/// <summary>
/// The auth side of the apply path (etcd's authApplierV3 in front of applierV3backend, and its Auth* applies): every
/// request is checked against the auth state with the credentials in its header before it is applied, and the Auth
/// requests change the <see cref="AuthStore"/>.
/// </summary>
public sealed partial class MvccStoreActor
{
    private AuthStore _auth = null!;

    /// <summary>The auth store this actor applies to (given by the setup, or loaded from the backend).</summary>
    private static AuthStore OpenAuth(MvccStoreActorSetup setup)
    {
        if (setup.Auth is { } auth)
        {
            return auth;
        }
        var store = new AuthStore(new SimpleTokenProvider(TimeSpan.FromSeconds(300)));
        store.Load(setup.Store.Backend);
        return store;
    }

    /// <summary>
    /// Checks <paramref name="request"/>'s permissions (throws etcd's error when refused: nothing is applied) and applies
    /// it when it is an Auth request; returns its response then, null for any other request (applied by the caller).
    /// </summary>
    private IMessage? ApplyAuth(InternalRaftRequest request, ulong index)
    {
        if (AuthChecks.Apply(_auth.View, request, _leases.KeysOf) is { } denied)
        {
            throw denied;
        }
        if (!AuthStore.IsAuthRequest(request))
        {
            return null;
        }
        var response = _auth.Apply(_store.Backend, request, index);
        _store.ApplyNoop(index);
        // Every Auth response has its header in field 1.
        var header = response.Descriptor.FindFieldByNumber(1);
        header?.Accessor.SetValue(response, ResponseHeaders.Create(_status, _store.CurrentRevision));
        return response;
    }
}
