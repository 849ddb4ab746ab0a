using Akka.Actor;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Transport;
using Microsoft.Extensions.Logging;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>How the member is wired to its peer transport (etcd's raftNode transport handling).</summary>
public sealed partial class EtcdServer
{
    private void ConnectTransport(IRaftTransport transport)
    {
        var raft = _refs.Raft;
        transport.Received += message => raft.Tell(new RaftProtocol.Step(message));
        transport.Unreachable += id => raft.Tell(new RaftProtocol.Unreachable(id));
        transport.SnapshotStatus += (id, ok) => raft.Tell(new RaftProtocol.SnapshotStatus(id, ok));
        transport.RemovedFromCluster += _ =>
        {
            _logger.LogWarning("the member has been permanently removed from the cluster");
            _member.Tell(new Supervision.MemberProtocol.RemovedFromCluster(Status.MemberId));
        };
        transport.IsMemberRemoved = Membership.IsRemoved;
        transport.OpenSnapshot = OpenSnapshotForSend;
        transport.SnapshotReceived = (message, dbPath) =>
        {
            // Raft decides whether to accept it (a stale snapshot is ignored); only then is the backend replaced.
            raft.Tell(new RaftProtocol.SnapshotArrived(message, dbPath));
            return Task.CompletedTask;
        };
        if (transport is IPeerRequests peers)
        {
            peers.Serve = ServePeerRequestAsync;
        }
        if (transport is RemoteRaftTransport remote)
        {
            remote.IsRaftLeader = () => Status.IsLeader;
        }
        foreach (var member in CurrentMembers())
        {
            if (member.ID != Status.MemberId)
            {
                transport.AddPeer(member.ID, member.PeerURLs);
            }
        }
        foreach (var (id, peerUrls) in Options.JoinPeers)
        {
            if (id != Status.MemberId && !transport.HasPeer(id))
            {
                transport.AddPeer(id, peerUrls);
            }
        }
        transport.Start();
    }

    /// <summary>
    /// Serves a request another member sent over the peer transport (<see cref="IPeerRequests.Serve"/>): a follower's
    /// forwarded lease keep-alive (<see cref="RenewForwardedLeaseAsync"/>) and time-to-live
    /// (<see cref="ForwardedLeaseTimeToLiveAsync"/>), a forwarded MemberPromote (served only as the leader, NotLeader
    /// otherwise, so the follower retries with the right one), the member list a joining member asks for (its
    /// header carries the cluster ID and this member's ID), and a corruption check's HashKV at a revision
    /// (<see cref="LocalHashKVAsync"/>). Errors go back to the asker with their code and text.
    /// To serve a new peer request type, add it to <see cref="PeerRequestTypes"/> and a case here.
    /// </summary>
    /// <exception cref="EtcdException">The request's own errors; Unimplemented for a type not served here.</exception>
    public async Task<IMessage> ServePeerRequestAsync(ulong from, IMessage request, CancellationToken cancel)
    {
        switch (request)
        {
            case LeaseKeepAliveRequest renew:
                return new LeaseKeepAliveResponse { ID = renew.ID, TTL = await RenewForwardedLeaseAsync(renew.ID, cancel).ConfigureAwait(false) };
            case LeaseTimeToLiveRequest timeToLive:
                return await ForwardedLeaseTimeToLiveAsync(timeToLive, cancel).ConfigureAwait(false);
            case MemberPromoteRequest promote:
                if (!Status.IsLeader)
                {
                    throw EtcdErrors.NotLeader;
                }
                return await MemberPromoteAsync(promote, cancel).ConfigureAwait(false);
            case MemberListRequest:
                return MemberList();
            case HashKVRequest hashKV:
                return await LocalHashKVAsync(hashKV.Revision, cancel).ConfigureAwait(false);
            default:
                throw new EtcdException(RpcStatusCode.Unimplemented, $"unknown peer request {request.Descriptor.FullName}");
        }
    }

    /// <summary>
    /// A consistent copy of the backend to send with a MsgSnap (deleted when the transport closes it). Called on a
    /// transport thread, which waits for the store to write the copy.
    /// </summary>
    private Stream OpenSnapshotForSend(Message message)
    {
        var path = Path.Combine(Options.SnapDir, $"send-{message.To:x16}-{Guid.NewGuid():N}.db");
        AskAsync<StoreProtocol.BackupWritten>(_refs.Store, new StoreProtocol.RunQuery(0, new StoreProtocol.Backup(path)), _stopping.Token)
            .GetAwaiter().GetResult();
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
    }
}
