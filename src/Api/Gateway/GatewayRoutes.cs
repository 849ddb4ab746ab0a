using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Akka.Etcd.Api.Gateway;

/// <summary>One JSON gateway route: an HTTP path and the gRPC method it calls, with the method's descriptors.</summary>
/// <param name="Path">The HTTP path under <c>/v3/</c>, e.g. <c>/v3/kv/range</c>.</param>
/// <param name="Method">The gRPC method (service and method names, request and response types, streaming).</param>
public sealed record GatewayRoute(string Path, MethodDescriptor Method)
{
    /// <summary>The gRPC path <c>/package.Service/Method</c>.</summary>
    public string GrpcPath => $"/{Method.Service.FullName}/{Method.Name}";

    /// <summary>True for a method whose client streams (Watch, LeaseKeepAlive): the HTTP body is a sequence of JSON requests.</summary>
    public bool ClientStreams => Method.IsClientStreaming;

    /// <summary>True for a method whose server streams (Watch, LeaseKeepAlive, Snapshot, Observe): the answer is one <c>{"result":…}</c> line per message.</summary>
    public bool ServerStreams => Method.IsServerStreaming;
}

/// <summary>
/// The routes of etcd 3.4's grpc-gateway, from the <c>google.api.http</c> options of etcd's rpc.proto, v3lock.proto and
/// v3election.proto (every one is <c>post</c> with <c>body: "*"</c>), resolved against our descriptors. Where etcd's
/// protos give one path to two methods (<c>/v3/maintenance/hash</c>: Hash and HashKV) grpc-gateway serves the first
/// registered, Hash; so does this table.
/// </summary>
public static class GatewayRoutes
{
    private static readonly (string Path, string Service, string Method)[] Table =
    [
        ("/v3/kv/range", "etcdserverpb.KV", "Range"),
        ("/v3/kv/put", "etcdserverpb.KV", "Put"),
        ("/v3/kv/deleterange", "etcdserverpb.KV", "DeleteRange"),
        ("/v3/kv/txn", "etcdserverpb.KV", "Txn"),
        ("/v3/kv/compaction", "etcdserverpb.KV", "Compact"),
        ("/v3/watch", "etcdserverpb.Watch", "Watch"),
        ("/v3/lease/grant", "etcdserverpb.Lease", "LeaseGrant"),
        ("/v3/lease/revoke", "etcdserverpb.Lease", "LeaseRevoke"),
        ("/v3/kv/lease/revoke", "etcdserverpb.Lease", "LeaseRevoke"),
        ("/v3/lease/keepalive", "etcdserverpb.Lease", "LeaseKeepAlive"),
        ("/v3/lease/timetolive", "etcdserverpb.Lease", "LeaseTimeToLive"),
        ("/v3/kv/lease/timetolive", "etcdserverpb.Lease", "LeaseTimeToLive"),
        ("/v3/lease/leases", "etcdserverpb.Lease", "LeaseLeases"),
        ("/v3/kv/lease/leases", "etcdserverpb.Lease", "LeaseLeases"),
        ("/v3/cluster/member/add", "etcdserverpb.Cluster", "MemberAdd"),
        ("/v3/cluster/member/remove", "etcdserverpb.Cluster", "MemberRemove"),
        ("/v3/cluster/member/update", "etcdserverpb.Cluster", "MemberUpdate"),
        ("/v3/cluster/member/list", "etcdserverpb.Cluster", "MemberList"),
        ("/v3/cluster/member/promote", "etcdserverpb.Cluster", "MemberPromote"),
        ("/v3/maintenance/alarm", "etcdserverpb.Maintenance", "Alarm"),
        ("/v3/maintenance/status", "etcdserverpb.Maintenance", "Status"),
        ("/v3/maintenance/defragment", "etcdserverpb.Maintenance", "Defragment"),
        ("/v3/maintenance/hash", "etcdserverpb.Maintenance", "Hash"),
        ("/v3/maintenance/snapshot", "etcdserverpb.Maintenance", "Snapshot"),
        ("/v3/maintenance/transfer-leadership", "etcdserverpb.Maintenance", "MoveLeader"),
        ("/v3/auth/enable", "etcdserverpb.Auth", "AuthEnable"),
        ("/v3/auth/disable", "etcdserverpb.Auth", "AuthDisable"),
        ("/v3/auth/authenticate", "etcdserverpb.Auth", "Authenticate"),
        ("/v3/auth/user/add", "etcdserverpb.Auth", "UserAdd"),
        ("/v3/auth/user/get", "etcdserverpb.Auth", "UserGet"),
        ("/v3/auth/user/list", "etcdserverpb.Auth", "UserList"),
        ("/v3/auth/user/delete", "etcdserverpb.Auth", "UserDelete"),
        ("/v3/auth/user/changepw", "etcdserverpb.Auth", "UserChangePassword"),
        ("/v3/auth/user/grant", "etcdserverpb.Auth", "UserGrantRole"),
        ("/v3/auth/user/revoke", "etcdserverpb.Auth", "UserRevokeRole"),
        ("/v3/auth/role/add", "etcdserverpb.Auth", "RoleAdd"),
        ("/v3/auth/role/get", "etcdserverpb.Auth", "RoleGet"),
        ("/v3/auth/role/list", "etcdserverpb.Auth", "RoleList"),
        ("/v3/auth/role/delete", "etcdserverpb.Auth", "RoleDelete"),
        ("/v3/auth/role/grant", "etcdserverpb.Auth", "RoleGrantPermission"),
        ("/v3/auth/role/revoke", "etcdserverpb.Auth", "RoleRevokePermission"),
        ("/v3/lock/lock", "v3lockpb.Lock", "Lock"),
        ("/v3/lock/unlock", "v3lockpb.Lock", "Unlock"),
        ("/v3/election/campaign", "v3electionpb.Election", "Campaign"),
        ("/v3/election/proclaim", "v3electionpb.Election", "Proclaim"),
        ("/v3/election/leader", "v3electionpb.Election", "Leader"),
        ("/v3/election/observe", "v3electionpb.Election", "Observe"),
        ("/v3/election/resign", "v3electionpb.Election", "Resign"),
    ];

    /// <summary>Every route by its <c>/v3/</c> path.</summary>
    public static IReadOnlyDictionary<string, GatewayRoute> ByPath { get; } = Build();

    private static Dictionary<string, GatewayRoute> Build()
    {
        var files = new[] { Etcdserverpb.RpcReflection.Descriptor, V3Lockpb.V3LockReflection.Descriptor, V3Electionpb.V3ElectionReflection.Descriptor };
        var services = files.SelectMany(file => file.Services).ToDictionary(service => service.FullName, StringComparer.Ordinal);
        var routes = new Dictionary<string, GatewayRoute>(StringComparer.Ordinal);
        foreach (var (path, service, method) in Table)
        {
            var descriptor = services[service].FindMethodByName(method)
                ?? throw new InvalidOperationException($"{service} has no method {method}");
            routes[path] = new GatewayRoute(path, descriptor);
        }
        return routes;
    }

    /// <summary>
    /// A gRPC method object for <paramref name="route"/> that sends and receives messages of the route's descriptor types
    /// (any <see cref="Google.Protobuf.IMessage"/>): one generic marshaller instead of a stub per service.
    /// </summary>
    public static Method<Google.Protobuf.IMessage, Google.Protobuf.IMessage> GrpcMethod(GatewayRoute route)
    {
        ArgumentNullException.ThrowIfNull(route);
        var method = route.Method;
        var type = (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (true, false) => MethodType.ClientStreaming,
            (false, true) => MethodType.ServerStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var requests = Marshallers.Create<Google.Protobuf.IMessage>(
            message => Google.Protobuf.MessageExtensions.ToByteArray(message), bytes => method.InputType.Parser.ParseFrom(bytes));
        var responses = Marshallers.Create<Google.Protobuf.IMessage>(
            message => Google.Protobuf.MessageExtensions.ToByteArray(message), bytes => method.OutputType.Parser.ParseFrom(bytes));
        return new Method<Google.Protobuf.IMessage, Google.Protobuf.IMessage>(type, method.Service.FullName, method.Name, requests, responses);
    }
}
