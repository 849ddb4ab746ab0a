using Akka.Actor;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Store;

/// <summary>Lease checkpoints on the apply path (etcd's applierV3backend.LeaseCheckpoint and lessor.Checkpoint).</summary>
public sealed partial class MvccStoreActor
{
    /// <summary>
    /// Applies a <c>LeaseCheckpointRequest</c>: each known lease records its remaining TTL (0 clears it), in the lease
    /// table and, with <see cref="MvccStoreActorSetup.PersistLeaseCheckpoints"/>, in its backend record; unknown leases
    /// are skipped, as etcd does. The lessor is told, so a later promotion counts down from the checkpoint.
    /// </summary>
    private LeaseCheckpointResponse ApplyLeaseCheckpoint(LeaseCheckpointRequest request, ulong index)
    {
        foreach (var checkpoint in request.Checkpoints)
        {
            _leases.Checkpoint(_store.Backend, checkpoint.ID, checkpoint.RemainingTTL, _persistLeaseCheckpoints);
        }
        _store.ApplyNoop(index);
        _lessor.Tell(new LeaseProtocol.ApplyCheckpoint(request.Checkpoints.ToList()));
        return new LeaseCheckpointResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision) };
    }
}
