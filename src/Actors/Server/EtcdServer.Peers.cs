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

    /// <summary>
    /// A snapshot arrived from the leader with its backend db: the db is kept aside and the MsgSnap handed to Raft,
    /// which decides whether to accept it (a stale snapshot is ignored). Only when Raft's Ready carries the snapshot
    /// does <see cref="InstallAcceptedSnapshotAsync"/> replace the backend with that db.
    /// </summary>
    private Task InstallSnapshotAsync(Message message, string dbPath)
    {
        var index = message.Snapshot?.Metadata?.Index ?? 0;
        string? replaced;
        lock (_receivedSnapshots)
        {
            _receivedSnapshots.TryGetValue(index, out replaced);
            _receivedSnapshots[index] = dbPath;
        }
        if (replaced is not null && replaced != dbPath && File.Exists(replaced))
        {
            File.Delete(replaced);
        }
        _logger.LogInformation("received snapshot from {from} at raft index {index}", message.From.ToString("x16"), index);
        _raft.Tell(new RaftMessage.Step(message));
        return Task.CompletedTask;
    }

    /// <summary>Replaces the backend with the db received for the snapshot Raft has just accepted.</summary>
    private async Task InstallAcceptedSnapshotAsync(Snapshot snapshot)
    {
        string? dbPath;
        lock (_receivedSnapshots)
        {
            _receivedSnapshots.Remove(snapshot.Metadata.Index, out dbPath);
            foreach (var stale in _receivedSnapshots.Where(s => s.Key < snapshot.Metadata.Index).ToList())
            {
                _receivedSnapshots.Remove(stale.Key);
                if (File.Exists(stale.Value))
                {
                    File.Delete(stale.Value);
                }
            }
        }
        if (dbPath is null)
        {
            _logger.LogWarning("raft accepted a snapshot at index {index} without its backend db", snapshot.Metadata.Index);
            return;
        }
        var installed = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.Tell(new StoreMessage.InstallBackend(dbPath, installed));
        var consistentIndex = await installed.Task.ConfigureAwait(false);
        _logger.LogInformation("applied snapshot at raft index {index}; backend consistent index {consistent}",
            snapshot.Metadata.Index, consistentIndex);
    }

    private readonly Dictionary<ulong, string> _receivedSnapshots = new();
}
