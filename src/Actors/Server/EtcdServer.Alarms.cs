using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>The backend quota and the cluster's alarms at the edge (etcd's v3rpc quota.go and EtcdServer.Alarm).</summary>
public sealed partial class EtcdServer
{
    /// <summary>
    /// Maintenance.Alarm, through the log as etcd's <c>EtcdServer.Alarm</c> (every action, GET included, is an
    /// <c>AlarmRequest</c> entry, so the answer reflects every alarm applied before it): GET lists the raised alarms of
    /// the request's type (NONE: all), ACTIVATE raises one for <c>member_id</c>, DEACTIVATE clears it and answers the
    /// cleared alarm (nothing when it was not raised). Never refused for space. Errors: those of a proposal (NoLeader,
    /// Timeout, ...).
    /// </summary>
    public async Task<AlarmResponse> AlarmAsync(AlarmRequest request, CancellationToken cancel) =>
        (AlarmResponse)await ProposeAsync(new InternalRaftRequest { Alarm = request.Clone() }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>
    /// The raised alarms as this member has applied them (etcd's <c>EtcdServer.Alarms()</c>, read locally without the
    /// log): what <c>/health</c> checks. Errors: Stopped, Timeout.
    /// </summary>
    public async Task<IReadOnlyList<AlarmMember>> ActiveAlarmsAsync(CancellationToken cancel) =>
        (await ReadAsync<StoreProtocol.StoreStatus>(StoreProtocol.GetStatus.Instance, serializable: true, cancel).ConfigureAwait(false)).Alarms;

    /// <summary>
    /// The <c>errors</c> of a Maintenance.Status answer, as etcd's: "etcdserver: no leader" without a leader, then each
    /// raised alarm in gogoproto's text form (<c>memberID:N alarm:NOSPACE </c>, trailing space included).
    /// </summary>
    private void AddStatusErrors(StatusResponse response, StoreProtocol.StoreStatus store)
    {
        if (!Status.HasLeader)
        {
            response.Errors.Add(EtcdErrors.NoLeader.Message);
        }
        foreach (var alarm in store.Alarms)
        {
            // gogoproto's compact text leaves zero fields out: etcd 3.4.23 raises CORRUPT for member 0.
            var member = alarm.MemberID == 0 ? "" : $"memberID:{alarm.MemberID} ";
            response.Errors.Add($"{member}alarm:{alarm.Alarm.ToString().ToUpperInvariant()} ");
        }
    }
}
