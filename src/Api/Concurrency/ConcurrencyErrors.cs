using Akka.Etcd.Protos.Errors;

namespace Akka.Etcd.Api.Concurrency;

/// <summary>
/// The errors of the Lock and Election services that are not in etcd's rpctypes table. etcd 3.4 returns them
/// as plain Go errors, which gRPC sends with code UNKNOWN and the error text as message; so do we.
/// </summary>
public static class ConcurrencyErrors
{
    /// <summary>UNKNOWN "election: not leader" (clientv3/concurrency ErrElectionNotLeader): Proclaim or Campaign lost the leader key.</summary>
    public static EtcdException ElectionNotLeader => new(RpcStatusCode.Unknown, "election: not leader");

    /// <summary>UNKNOWN "election: no leader" (clientv3/concurrency ErrElectionNoLeader): Leader found no key under the election's prefix.</summary>
    public static EtcdException ElectionNoLeader => new(RpcStatusCode.Unknown, "election: no leader");

    /// <summary>UNKNOWN "\"leader\" field must be provided" (v3election ErrMissingLeaderKey): Proclaim or Resign without a leader key.</summary>
    public static EtcdException MissingLeaderKey => new(RpcStatusCode.Unknown, "\"leader\" field must be provided");
}
