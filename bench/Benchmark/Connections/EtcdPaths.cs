namespace Akka.Etcd.Benchmark.Connections;

/// <summary>gRPC method paths of etcd's v3 API (etcdserverpb/rpc.proto) used by the benchmark.</summary>
internal static class EtcdPaths
{
    public const string Range = "/etcdserverpb.KV/Range";
    public const string Put = "/etcdserverpb.KV/Put";
    public const string Txn = "/etcdserverpb.KV/Txn";
    public const string Watch = "/etcdserverpb.Watch/Watch";
    public const string LeaseGrant = "/etcdserverpb.Lease/LeaseGrant";
    public const string LeaseRevoke = "/etcdserverpb.Lease/LeaseRevoke";
    public const string LeaseKeepAlive = "/etcdserverpb.Lease/LeaseKeepAlive";
}
