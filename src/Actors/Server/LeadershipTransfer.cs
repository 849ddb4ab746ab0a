using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Protos.Errors;
using Microsoft.Extensions.Logging;

namespace Akka.Etcd.Actors.Server;

/// <summary>
/// Moving leadership to another voter (etcd's <c>MoveLeader</c> and <c>TransferLeadership</c>, etcdserver/server.go):
/// what Maintenance.MoveLeader and a graceful stop do. The RaftActor is told to transfer; the move is observed in the
/// member's read model, polled every half heartbeat. Thread-safe; holds no state of its own.
/// </summary>
public static class LeadershipTransfer
{
    /// <summary>
    /// etcd's <c>ErrTimeoutLeaderTransfer</c>: the transferee did not become leader before the deadline. etcd's gRPC
    /// layer has no mapping for it, so clients see code Unknown with this text.
    /// </summary>
    public static EtcdException TimeoutLeaderTransfer =>
        new(RpcStatusCode.Unknown, "etcdserver: request timed out, leader transfer took too long");

    /// <summary>
    /// etcd's <c>TransferLeadership</c>, the first step of a graceful stop: when this member leads a cluster with
    /// other voters, hands leadership to the voter whose peer stream has been connected longest
    /// (<see cref="LongestConnected"/>) and waits until it leads, at most <see cref="MemberGateway.RequestTimeout"/>
    /// (5 s + 2 × election timeout, etcd's <c>ReqTimeout()</c>) or until <paramref name="cancel"/>.
    /// Returns the new leader's member ID, or 0 when nothing had to move (not the leader, or the only voter).
    /// Errors: Unhealthy when no other voter is connected, <see cref="TimeoutLeaderTransfer"/>,
    /// <see cref="OperationCanceledException"/> on <paramref name="cancel"/>.
    /// </summary>
    public static async Task<ulong> TransferAsync(MemberGateway member, CancellationToken cancel = default)
    {
        var logger = member.Loggers.CreateLogger("etcdserver/server");
        var status = member.Status;
        var local = status.MemberId.ToString("x16");
        if (!status.IsLeader)
        {
            logger.LogInformation("skipped leadership transfer; local server is not leader: local-member-id {local} current-leader-member-id {leader}",
                local, status.Leader.ToString("x16"));
            return 0;
        }
        var voters = member.CurrentMembers().Where(m => !m.IsLearner).Select(m => m.ID).ToList();
        if (voters.Count < 2)
        {
            logger.LogInformation("skipped leadership transfer for single voting member cluster: local-member-id {local}", local);
            return 0;
        }
        var transport = member.Transport;
        var transferee = transport is null ? null : LongestConnected(voters.Where(id => id != status.MemberId), transport.ActiveSince);
        if (transferee is not { } target)
        {
            throw EtcdErrors.Unhealthy;
        }
        await MoveAsync(member, target, member.RequestTimeout, cancel).ConfigureAwait(false);
        return target;
    }

    /// <summary>
    /// etcd's <c>longestConnected</c> (etcdserver/util.go): among <paramref name="candidates"/>, the one whose peer
    /// stream connected earliest (<paramref name="activeSince"/> returns null for a member that is down); null when
    /// none is connected. Ties go to the first candidate listed. Pure.
    /// </summary>
    public static ulong? LongestConnected(IEnumerable<ulong> candidates, Func<ulong, DateTime?> activeSince)
    {
        ulong? longest = null;
        var oldest = DateTime.MaxValue;
        foreach (var id in candidates)
        {
            if (activeSince(id) is { } since && since < oldest)
            {
                oldest = since;
                longest = id;
            }
        }
        return longest;
    }

    /// <summary>
    /// etcd's <c>MoveLeader</c>: asks Raft to transfer leadership to <paramref name="transferee"/> (a voter, not this
    /// member) and polls every half heartbeat until it leads. Logs etcd's "leadership transfer starting" and
    /// "leadership transfer finished" lines. Errors: BadLeaderTransferee for an unknown member or a learner,
    /// <see cref="TimeoutLeaderTransfer"/> after <paramref name="timeout"/>, <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task MoveAsync(MemberGateway member, ulong transferee, TimeSpan timeout, CancellationToken cancel)
    {
        var target = member.CurrentMembers().FirstOrDefault(m => m.ID == transferee);
        if (target is null || target.IsLearner)
        {
            throw EtcdErrors.BadLeaderTransferee;
        }
        var logger = member.Loggers.CreateLogger("etcdserver/server");
        var lead = member.Status.Leader;
        var started = System.Diagnostics.Stopwatch.StartNew();
        logger.LogInformation("leadership transfer starting: local-member-id {local} current-leader-member-id {leader} transferee-member-id {transferee}",
            member.Status.MemberId.ToString("x16"), lead.ToString("x16"), transferee.ToString("x16"));
        member.Actors.Raft.Tell(new RaftProtocol.TransferLeadership(transferee));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(5, member.Options.HeartbeatIntervalMs / 2)));
        while (member.Status.Leader != transferee)
        {
            if (started.Elapsed > timeout)
            {
                throw TimeoutLeaderTransfer;
            }
            await poll.WaitForNextTickAsync(cancel).ConfigureAwait(false);
        }
        logger.LogInformation("leadership transfer finished: local-member-id {local} old-leader-member-id {old} new-leader-member-id {leader} took {took}",
            member.Status.MemberId.ToString("x16"), lead.ToString("x16"), transferee.ToString("x16"), started.Elapsed);
    }
}
