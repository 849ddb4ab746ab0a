using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Grpc.Core;

namespace Akka.Etcd.Api.Services;

/// <summary>
/// etcd's Maintenance service (<c>etcdserverpb.Maintenance</c>, rpc.proto): Status (what <c>etcdctl endpoint status</c>
/// prints), Alarm, Defragment, HashKV, MoveLeader and Snapshot (see <see cref="Snapshots.BackendSnapshotStream"/>). A
/// method not overridden here (Hash) answers the generated base's UNIMPLEMENTED, which the error interceptor words as
/// grpc-go does. Stateless and thread-safe.
/// </summary>
public sealed class MaintenanceService : Maintenance.MaintenanceBase
{
    private readonly MemberGateway _member;

    /// <summary>Creates the service over a running member.</summary>
    public MaintenanceService(MemberGateway member) => _member = member;

    /// <summary>Maintenance.Status: version, db sizes (bytes), leader, Raft index and term of this member.</summary>
    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) =>
        StatusAsync(context.CancellationToken);

    /// <summary>Maintenance.Alarm: GET lists the raised alarms (NOSPACE, CORRUPT); ACTIVATE and DEACTIVATE change them.</summary>
    public override Task<AlarmResponse> Alarm(AlarmRequest request, ServerCallContext context) =>
        AlarmAsync(request, context.CancellationToken);

    /// <summary>Maintenance.Defragment: rewrites this member's backend to release free pages.</summary>
    public override Task<DefragmentResponse> Defragment(DefragmentRequest request, ServerCallContext context) =>
        DefragmentAsync(context.CancellationToken);

    /// <summary>Maintenance.HashKV: the hash of the MVCC keyspace up to a revision (0: the current one), with the compact revision.</summary>
    public override Task<HashKVResponse> HashKV(HashKVRequest request, ServerCallContext context) =>
        HashKVAsync(request, context.CancellationToken);

    /// <summary>Maintenance.MoveLeader: hands leadership to the given voter; only the leader accepts it.</summary>
    public override Task<MoveLeaderResponse> MoveLeader(MoveLeaderRequest request, ServerCallContext context) =>
        MoveLeaderAsync(request, context.CancellationToken);

    /// <summary>
    /// Maintenance.Snapshot: streams a consistent point-in-time image of the backend as etcd 3.4's bbolt db, in chunks
    /// with <c>remaining_bytes</c> and the trailing SHA-256 etcdctl checks.
    /// </summary>
    public override Task Snapshot(SnapshotRequest request, IServerStreamWriter<SnapshotResponse> responseStream, ServerCallContext context) =>
        Snapshots.BackendSnapshotStream.For(_member).SendAsync((response, cancel) => responseStream.WriteAsync(response, cancel), context.CancellationToken);

    /// <summary>
    /// Maintenance.Status (etcd's v3rpc/maintenance.go Status): version, backend size and size in use (bytes, from the
    /// store), leader, Raft commit index and term, applied index, learner flag, and etcd's <c>errors</c> (no leader,
    /// raised alarms). Read locally, without a read index. Errors: Stopped, Timeout.
    /// </summary>
    public async Task<StatusResponse> StatusAsync(CancellationToken cancel)
    {
        var store = await _member.ReadAsync<StoreProtocol.StoreStatus>(StoreProtocol.GetStatus.Instance, serializable: true, cancel)
            .ConfigureAwait(false);
        var status = _member.Status;
        var response = new StatusResponse
        {
            Header = ResponseHeaders.Create(status, store.Revision),
            Version = LocalMember.ServerVersion,
            DbSize = store.DbSizeBytes,
            DbSizeInUse = store.DbSizeInUseBytes,
            Leader = status.Leader,
            RaftIndex = status.CommitIndex,
            RaftTerm = status.Term,
            RaftAppliedIndex = status.AppliedIndex,
            IsLearner = _member.IsLearner,
        };
        if (!status.HasLeader)
        {
            response.Errors.Add(EtcdErrors.NoLeader.Message);
        }
        foreach (var alarm in store.Alarms)
        {
            // gogoproto's compact text leaves zero fields out: etcd 3.4.23 raises CORRUPT for member 0.
            var member = alarm.MemberID == 0 ? "" : $"memberID:{alarm.MemberID} ";
            response.Errors.Add($"{member}alarm:{alarm.Alarm.ToString().ToUpperInvariant()} ");
        }
        return response;
    }

    /// <summary>
    /// Maintenance.Alarm, through the log as etcd's <c>Alarm</c> (etcdserver/v3_server.go; every action, GET included,
    /// is an <c>AlarmRequest</c> entry, so the answer reflects every alarm applied before it): GET lists the raised
    /// alarms of the request's type (NONE: all), ACTIVATE raises one for <c>member_id</c>, DEACTIVATE clears it and
    /// answers the cleared alarm (nothing when it was not raised). Never refused for space. Errors: those of a proposal
    /// (NoLeader, Timeout, ...).
    /// </summary>
    public async Task<AlarmResponse> AlarmAsync(AlarmRequest request, CancellationToken cancel) =>
        (AlarmResponse)await _member.ProposeAsync(new InternalRaftRequest { Alarm = request.Clone() }, checkQuota: false, cancel).ConfigureAwait(false);

    /// <summary>
    /// The raised alarms as this member has applied them (etcd's <c>Alarms()</c>, read locally without the log): what
    /// <c>/health</c> and the dashboard check. Errors: Stopped, Timeout.
    /// </summary>
    public static async Task<IReadOnlyList<AlarmMember>> ActiveAlarmsAsync(MemberGateway member, CancellationToken cancel) =>
        (await member.ReadAsync<StoreProtocol.StoreStatus>(StoreProtocol.GetStatus.Instance, serializable: true, cancel).ConfigureAwait(false)).Alarms;

    /// <summary>
    /// Maintenance.Defragment: rewrites this member's backend compacted, returning free pages to the file system; the
    /// copy is made beside the store, which keeps serving, and swapped in with a pause of milliseconds. Errors: Stopped,
    /// Timeout, the backend's I/O errors.
    /// </summary>
    public Task<DefragmentResponse> DefragmentAsync(CancellationToken cancel) =>
        _member.ReadAsync<DefragmentResponse>(StoreProtocol.Defragment.Instance, serializable: true, cancel);

    /// <summary>
    /// Maintenance.HashKV: hash of the MVCC keyspace up to a revision (0 = latest), after a ReadIndex round. Errors:
    /// Compacted, FutureRev, and those of a read index.
    /// </summary>
    public Task<HashKVResponse> HashKVAsync(HashKVRequest request, CancellationToken cancel) =>
        _member.ReadAsync<HashKVResponse>(new StoreProtocol.HashKV(request), serializable: false, cancel);

    /// <summary>
    /// Maintenance.MoveLeader: the leader hands leadership to a voter and answers once it has moved (etcd's
    /// etcdserver/server.go MoveLeader, bounded here by 5 election timeouts or <paramref name="cancel"/>).
    /// Errors: NotLeader on a follower, BadLeaderTransferee for an unknown member or a learner,
    /// <see cref="LeadershipTransfer.TimeoutLeaderTransfer"/> when the target has not become leader in time.
    /// </summary>
    public async Task<MoveLeaderResponse> MoveLeaderAsync(MoveLeaderRequest request, CancellationToken cancel)
    {
        var status = _member.Status;
        if (!status.IsLeader)
        {
            throw EtcdErrors.NotLeader;
        }
        if (request.TargetID != status.MemberId)
        {
            await LeadershipTransfer.MoveAsync(_member, request.TargetID, TimeSpan.FromMilliseconds(_member.Options.ElectionTimeoutMs * 5L), cancel)
                .ConfigureAwait(false);
        }
        else if (_member.CurrentMembers().FirstOrDefault(m => m.ID == request.TargetID) is null)
        {
            throw EtcdErrors.BadLeaderTransferee;
        }
        return new MoveLeaderResponse { Header = ResponseHeaders.Create(_member.Status, _member.Status.Revision) };
    }
}
