using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Transport;
using Etcdserverpb;
using Microsoft.Extensions.Logging;
using Raftpb;

namespace Akka.Etcd.Actors.Server;

/// <summary>How the member is wired to its peer transport (etcd's raftNode transport handling).</summary>
public sealed partial class EtcdServer
{
    private void ConnectTransport(IRaftTransport transport)
    {
        transport.Received += message => _raft.Tell(new RaftMessage.Step(message));
        transport.Unreachable += id => _raft.Tell(new RaftMessage.Unreachable(id));
        transport.SnapshotStatus += (id, ok) => _raft.Tell(new RaftMessage.SnapshotStatus(id, ok));
        transport.RemovedFromCluster += _ =>
        {
            _logger.LogWarning("the member has been permanently removed from the cluster");
            _removed.TrySetResult();
        };
        transport.IsMemberRemoved = Membership.IsRemoved;
        transport.OpenSnapshot = OpenSnapshotForSend;
        transport.SnapshotReceived = InstallSnapshotAsync;
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
        PeerChanged = (change, member) =>
        {
            if (change.NodeID == Status.MemberId)
            {
                return;
            }
            switch (change.Type)
            {
                case ConfChangeType.ConfChangeAddNode:
                case ConfChangeType.ConfChangeAddLearnerNode:
                    if (member is not null && !transport.HasPeer(change.NodeID))
                    {
                        transport.AddPeer(change.NodeID, member.PeerURLs);
                    }
                    break;
                case ConfChangeType.ConfChangeRemoveNode:
                    transport.RemovePeer(change.NodeID);
                    break;
                case ConfChangeType.ConfChangeUpdateNode:
                    if (member is not null)
                    {
                        transport.UpdatePeer(change.NodeID, member.PeerURLs);
                    }
                    break;
            }
        };
        transport.Start();
    }

    /// <summary>A consistent copy of the backend to send with a MsgSnap (deleted when the transport closes it).</summary>
    private Stream OpenSnapshotForSend(Message message)
    {
        var path = Path.Combine(Options.SnapDir, $"send-{message.To:x16}-{Guid.NewGuid():N}.db");
        QueryAsync(0, store =>
        {
            store.ForceCommit(durable: false);
            store.BackupTo(path);
            return path;
        }, _stopping.Token).GetAwaiter().GetResult();
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
    }

    /// <summary>Installs the backend received with a leader's snapshot, then hands the MsgSnap to Raft.</summary>
    private async Task InstallSnapshotAsync(Message message, string dbPath)
    {
        var installed = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.Tell(new StoreMessage.InstallBackend(dbPath, installed));
        var index = await installed.Task.ConfigureAwait(false);
        _logger.LogInformation("installed snapshot from {from} at raft index {index}; backend consistent index {consistent}",
            message.From.ToString("x16"), message.Snapshot?.Metadata?.Index ?? 0, index);
        _raft.Tell(new RaftMessage.Step(message));
    }
}
