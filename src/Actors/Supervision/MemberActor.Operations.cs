using Akka.Actor;
using Akka.Etcd.Actors.Operations;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Supervision;

/// <summary>
/// The member's operations actors (etcd 3.4's background jobs besides Raft and apply): the auto-compactor and the
/// periodic corruption check, each started only when its flag asks for it. They hold no state the member needs:
/// a failure restarts them (the member's strategy restarts every non-fatal child) and the member's stop ends them.
/// </summary>
public sealed partial class MemberActor
{
    private void StartOperations()
    {
        var opened = _setup.Opened;
        var operations = opened.Options.Operations;
        if (operations.AutoCompactionEnabled)
        {
            Context.ActorOf(AutoCompactorActor.Props(new AutoCompactorSetup(operations, opened.Status, _raft, _setup.RequestIds,
                opened.Loggers.CreateLogger("etcdserver/api/v3compactor"))), "compactor");
        }
        if (operations.CorruptCheckInterval > TimeSpan.Zero)
        {
            var logger = opened.Loggers.CreateLogger("etcdserver/corrupt");
            Context.ActorOf(CorruptionCheckActor.Props(new CorruptionCheckSetup(operations.CorruptCheckInterval, opened.Status, _store,
                _raft, _setup.PeerHashKV, _setup.RequestIds, logger)), "corruption-check");
        }
    }
}
