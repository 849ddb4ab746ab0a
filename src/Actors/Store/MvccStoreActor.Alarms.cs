using Akka.Etcd.Actors.Server;
using Akka.Event;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;

namespace Akka.Etcd.Actors.Store;

/// <summary>
/// Alarms on the apply path (etcd's <c>applierV3backend.Alarm</c>, <c>applierV3Capped</c> and <c>applierV3Corrupt</c>):
/// an applied <c>AlarmRequest</c> changes the cluster-wide <see cref="AlarmStore"/>, and while an alarm is raised the
/// requests it forbids fail at apply on every member alike.
/// </summary>
public sealed partial class MvccStoreActor
{
    private readonly AlarmStore _alarms = new();

    /// <summary>
    /// Applies an <c>AlarmRequest</c>: GET answers the raised alarms of its type (NONE: all); ACTIVATE raises the alarm
    /// for its member (the answer holds it, also when it was already raised); DEACTIVATE clears it (the answer holds the
    /// cleared alarm, or nothing when it was not raised). Logs "alarm raised" / "alarm disarmed" at warn when the first
    /// alarm of a type is raised or the last one cleared, as etcd. The answer has no header, as etcd's.
    /// </summary>
    private AlarmResponse ApplyAlarm(AlarmRequest request, ulong index)
    {
        var response = new AlarmResponse();
        switch (request.Action)
        {
            case AlarmRequest.Types.AlarmAction.Get:
                response.Alarms.AddRange(_alarms.Get(request.Alarm));
                break;
            case AlarmRequest.Types.AlarmAction.Activate:
            {
                var wasRaised = _alarms.IsRaised(request.Alarm);
                var (alarm, _) = _alarms.Activate(_store.Backend, request.MemberID, request.Alarm);
                response.Alarms.Add(alarm);
                if (!wasRaised)
                {
                    _log.Warning("alarm raised: alarm {0} from {1:x16}", alarm.Alarm.ToString().ToUpperInvariant(), alarm.MemberID);
                }
                break;
            }
            case AlarmRequest.Types.AlarmAction.Deactivate:
            {
                var cleared = _alarms.Deactivate(_store.Backend, request.MemberID, request.Alarm);
                if (cleared is not null)
                {
                    response.Alarms.Add(cleared);
                    if (!_alarms.IsRaised(request.Alarm))
                    {
                        _log.Warning("alarm disarmed: alarm {0} from {1:x16}", cleared.Alarm.ToString().ToUpperInvariant(), cleared.MemberID);
                    }
                }
                break;
            }
        }
        _store.ApplyNoop(index);
        return response;
    }

    /// <summary>
    /// Refuses what a raised alarm forbids, before anything is applied: with CORRUPT every KV write, compaction, lease
    /// grant and revoke (<see cref="EtcdErrors.Corrupt"/>, etcd's applierV3Corrupt); with NOSPACE a put, a txn whose
    /// larger branch puts anything (etcd's quota cost), and a lease grant (<see cref="EtcdErrors.NoSpace"/>, etcd's
    /// applierV3Capped). Deletes, compaction and revokes stay allowed under NOSPACE so space can be freed.
    /// </summary>
    /// <exception cref="EtcdException">The request is refused.</exception>
    private void RefuseUnderAlarms(InternalRaftRequest request)
    {
        if (_alarms.IsEmpty)
        {
            return;
        }
        if (_alarms.IsRaised(AlarmType.Corrupt)
            && (request.Put is not null || request.DeleteRange is not null || request.Txn is not null || request.Compaction is not null
                || request.LeaseGrant is not null || request.LeaseRevoke is not null))
        {
            throw EtcdErrors.Corrupt;
        }
        if (_alarms.IsRaised(AlarmType.Nospace)
            && (request.Put is not null || request.LeaseGrant is not null || (request.Txn is { } txn && QuotaCost.Of(txn) > 0)))
        {
            throw EtcdErrors.NoSpace;
        }
    }
}
