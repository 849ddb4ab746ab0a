using Akka.Event;
using Akka.Actor;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store.Apply;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Store;

/// <summary>The apply path (etcd's etcdserver/apply.go): one method per request type.</summary>
public sealed partial class MvccStoreActor
{
    /// <summary>An apply slower than this counts in etcd_server_slow_apply_total (etcd's warnApplyDuration).</summary>
    private static readonly TimeSpan SlowApplyThreshold = TimeSpan.FromMilliseconds(100);

    private void ApplyEntry(Entry entry, Dictionary<ulong, IActorRef>? replies)
    {
        if (entry.Index <= _applied)
        {
            return; // already in the backend (replayed WAL entry at or below the consistent index)
        }
        _applied = entry.Index;
        if (entry.Type == EntryType.EntryConfChange)
        {
            ApplyConfChange(entry, replies);
            return;
        }
        if (entry.Type != EntryType.EntryNormal || entry.Data.IsEmpty)
        {
            _store.ApplyNoop(entry.Index);
            return;
        }
        InternalRaftRequest request;
        try
        {
            request = InternalRaftRequest.Parser.ParseFrom(entry.Data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            _log.Error(ex, "skipping undecodable entry at index {0}", entry.Index);
            _store.ApplyNoop(entry.Index);
            return;
        }
        IActorRef? replyTo = null;
        replies?.Remove(request.ID, out replyTo);
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var response = ApplyRequest(request, entry.Index);
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > SlowApplyThreshold)
                Metrics.EtcdMetrics.SlowApplies.Inc();
            replyTo?.Tell(response);
        }
        catch (EtcdException ex)
        {
            _store.ApplyNoop(entry.Index);
            replyTo?.Tell(new Status.Failure(ex));
        }
    }

    /// <summary>
    /// Applies a membership change (etcd's applyConfChange, membership side): the RaftActor has already applied it to
    /// the Raft core; here the member list is updated and persisted with the consistent index, and the proposer (waiting
    /// on the ConfChange ID) gets the new member list.
    /// </summary>
    private void ApplyConfChange(Entry entry, Dictionary<ulong, IActorRef>? replies)
    {
        ConfChange change;
        try
        {
            change = ConfChange.Parser.ParseFrom(entry.Data);
        }
        catch (InvalidProtocolBufferException ex)
        {
            _log.Error(ex, "skipping undecodable conf change at index {0}", entry.Index);
            _store.ApplyNoop(entry.Index);
            return;
        }
        var member = change.Context.IsEmpty ? new Member { ID = change.NodeID } : Member.Parser.ParseFrom(change.Context);
        var backend = _store.Backend;
        switch (change.Type)
        {
            case ConfChangeType.ConfChangeAddNode:
                member.IsLearner = false;
                _membership.AddOrPromote(backend, member);
                break;
            case ConfChangeType.ConfChangeAddLearnerNode:
                member.IsLearner = true;
                _membership.AddOrPromote(backend, member);
                break;
            case ConfChangeType.ConfChangeRemoveNode:
                _membership.Remove(backend, change.NodeID);
                break;
            case ConfChangeType.ConfChangeUpdateNode:
                _membership.UpdatePeerUrls(backend, change.NodeID, member.PeerURLs);
                break;
        }
        _store.ApplyNoop(entry.Index);
        _log.Info("applied conf change {0} of member {1:x16} at index {2}", change.Type, change.NodeID, entry.Index);
        if (replies is not null && replies.Remove(change.ID, out var replyTo))
        {
            var response = new MemberListResponse { Header = ResponseHeaders.Create(_status, 0) }; // no revision, as etcd's Cluster service
            response.Members.AddRange(_membership.Members);
            replyTo.Tell(response);
        }
    }

    private IMessage ApplyRequest(InternalRaftRequest request, ulong index)
    {
        var response = ApplyWrite(request, index);
        PublishLastEvents();
        return response;
    }

    private LeaseGrantResponse ApplyLeaseGrant(LeaseGrantRequest grant, ulong index)
    {
        if (grant.TTL > LessorOptions.MaxTtlSeconds)
        {
            throw EtcdErrors.LeaseTTLTooLarge;
        }
        if (grant.ID == 0)
        {
            throw EtcdErrors.LeaseNotFound;
        }
        if (_leases.Contains(grant.ID))
        {
            throw EtcdErrors.LeaseExist;
        }
        var ttl = Math.Max(grant.TTL, _minLeaseTtlSeconds);
        _leases.Grant(_store.Backend, grant.ID, ttl);
        _store.ApplyNoop(index);
        _lessor.Tell(new LeaseProtocol.ApplyGrant(grant.ID, ttl));
        Metrics.EtcdMetrics.LeasesGranted.Inc();
        Metrics.EtcdMetrics.LeaseTtls.Observe(ttl);
        return new LeaseGrantResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision), ID = grant.ID, TTL = ttl };
    }

    private LeaseRevokeResponse ApplyLeaseRevoke(LeaseRevokeRequest revoke, ulong index)
    {
        if (!_leases.Contains(revoke.ID))
        {
            throw EtcdErrors.LeaseNotFound;
        }
        var keys = _leases.KeysOf(revoke.ID);
        if (keys.Count > 0)
        {
            // Every attached key goes in ONE revision, as etcd's lessor Revoke does in one txn.
            var deletes = new TxnRequest();
            foreach (var key in keys)
            {
                deletes.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
            }
            KvApplier.Txn(_store, deletes, index); // its events are published by ApplyRequest
        }
        else
        {
            _store.ApplyNoop(index);
        }
        _leases.Revoke(_store.Backend, revoke.ID);
        _lessor.Tell(new LeaseProtocol.ApplyRevoke(revoke.ID));
        Metrics.EtcdMetrics.LeasesRevoked.Inc();
        return new LeaseRevokeResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision) };
    }

    private IMessage ApplyWrite(InternalRaftRequest request, ulong index)
    {
        if (request.Alarm is { } alarm)
        {
            return ApplyAlarm(alarm, index);
        }
        RefuseUnderAlarms(request);
        if (ApplyAuth(request, index) is { } authResponse)
        {
            return authResponse;
        }
        if (request.LeaseGrant is { } grant)
        {
            return ApplyLeaseGrant(grant, index);
        }
        if (request.LeaseRevoke is { } revoke)
        {
            return ApplyLeaseRevoke(revoke, index);
        }
        if (request.LeaseCheckpoint is { } checkpoint)
        {
            return ApplyLeaseCheckpoint(checkpoint, index);
        }
        if (request.ClusterVersionSet is { } version)
        {
            _membership.SetClusterVersion(_store.Backend, version.Ver);
            _store.ApplyNoop(index);
            return new EmptyResponse();
        }
        if (request.Put is null && request.DeleteRange is null && request.Txn is null && request.Compaction is null
            && request.ClusterMemberAttrSet is null && request.LeaseCheckpoint is null)
        {
            // A quorum no-op: the request only had to pass through the log.
            _store.ApplyNoop(index);
            return new EmptyResponse();
        }
        if (request.ClusterMemberAttrSet is { } attributes)
        {
            _membership.SetAttributes(_store.Backend, attributes.MemberID, attributes.MemberAttributes);
            _store.ApplyNoop(index);
            var members = new MemberListResponse { Header = ResponseHeaders.Create(_status, _store.CurrentRevision) };
            members.Members.AddRange(_membership.Members);
            return members;
        }
        if (request.Put is { } put)
        {
            var response = KvApplier.Put(_store, put, index);
            ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), _status);
            return response;
        }
        if (request.DeleteRange is { } delete)
        {
            var response = KvApplier.DeleteRange(_store, delete, index);
            ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), _status);
            return response;
        }
        if (request.Txn is { } txn)
        {
            var response = KvApplier.Txn(_store, txn, index);
            ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), _status);
            return response;
        }
        if (request.Compaction is { } compaction)
        {
            var response = KvApplier.Compaction(_store, compaction, index);
            ResponseHeaders.Fill(response.Header ??= new ResponseHeader(), _status);
            return response;
        }
        _store.ApplyNoop(index);
        throw new EtcdException(RpcStatusCode.Unimplemented, "etcdserver: unsupported request in raft entry");
    }
}
