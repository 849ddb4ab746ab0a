namespace Akka.Etcd.Actors.Server;

/// <summary>What a learner member may serve (etcd 3.4's v3rpc interceptors and isRPCSupportedForLearner).</summary>
public sealed partial class EtcdServer
{
    /// <summary>
    /// True while this member is a learner in the applied member list (added with <c>member add --learner</c> and not
    /// promoted yet). A learner serves only Maintenance.Status and serializable KV.Range; everything else is answered
    /// <see cref="Protos.Errors.EtcdErrors.NotSupportedForLearner"/>. Lock-free (the member list is an immutable snapshot).
    /// </summary>
    public bool IsLearner => Gateway.IsLearner;
}
