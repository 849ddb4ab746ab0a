using Akka.Actor;
using Akka.Etcd.Protos.Peer;
using Akka.Event;
using Raftpb;

namespace Akka.Etcd.Actors.Transport;

/// <summary>The snapshot pipeline of the peer actor: one child per transfer, each way.</summary>
public sealed partial class PeerActor
{
    private readonly Dictionary<ulong, OutgoingTransfer> _outgoing = new();
    private readonly Dictionary<(Address Address, ulong TransferId), IActorRef> _incoming = new();
    private ulong _nextTransferId;

    private void ReceiveSnapshots()
    {
        Receive<SnapshotSenderActor.Finished>(finished =>
        {
            if (_outgoing.Remove(finished.TransferId, out var transfer))
            {
                ReportSnapshot(transfer.PeerId, finished.Succeeded);
            }
        });
        Receive<SnapshotSenderActor.ChunkSent>(sent =>
        {
            if (_outgoing.TryGetValue(sent.TransferId, out var transfer) && _links.TryGetValue(transfer.PeerId, out var link))
            {
                Sent(link, sent.Bytes);
            }
        });
        Receive<SnapshotAck>(ack =>
        {
            if (_outgoing.TryGetValue(ack.TransferId, out var transfer) && transfer.Address == Sender.Path.Address)
            {
                ReceivedFrom(Sender.Path.Address, ack);
                transfer.Sender.Tell(ack);
            }
        });
        Receive<SnapshotOffer>(OnSnapshotOffer);
        Receive<SnapshotChunk>(chunk =>
        {
            if (_incoming.TryGetValue((Sender.Path.Address, chunk.TransferId), out var receiver))
            {
                ReceivedFrom(Sender.Path.Address, chunk);
                receiver.Forward(chunk);
            }
        });
        Receive<Terminated>(terminated =>
        {
            foreach (var key in _incoming.Where(i => i.Value.Equals(terminated.ActorRef)).Select(i => i.Key).ToList())
            {
                _incoming.Remove(key);
            }
        });
    }

    private void StartSnapshotSend(Link link, Message message)
    {
        var transferId = _nextTransferId++;
        var member = _member!;
        var sender = Context.ActorOf(SnapshotSenderActor.Props(new SnapshotSenderActor.Setup(
            transferId, _clusterId, _localId, link.Id, link.Remote, message, member.OpenSnapshot, _options)),
            $"snapshot-to-{PeerAddress.FormatId(link.Id)}-{transferId}");
        _outgoing[transferId] = new OutgoingTransfer(link.Id, link.Address, sender);
    }

    private void ReportSnapshot(ulong peerId, bool succeeded)
    {
        if (!succeeded)
        {
            _member?.OnUnreachable(peerId);
        }
        _member?.OnSnapshotStatus(peerId, succeeded);
    }

    private void OnSnapshotOffer(SnapshotOffer offer)
    {
        if (!Accept(offer.ClusterId, offer.From, offer.To, out var link))
        {
            return;
        }
        Received(link, offer);
        var key = (Sender.Path.Address, offer.TransferId);
        if (_incoming.Remove(key, out var previous))
        {
            Context.Stop(previous);
        }
        if (offer.Message is not { Type: MessageType.MsgSnap })
        {
            Sender.Tell(new SnapshotAck { TransferId = offer.TransferId, Error = "wrong raft message type" }, Self);
            return;
        }
        if (offer.Size > (ulong)_options.MaxSnapshotBytes)
        {
            _log.Error("refused a snapshot of {0} bytes from peer {1}: more than the limit of {2} bytes", offer.Size,
                PeerAddress.FormatId(offer.From), _options.MaxSnapshotBytes);
            Sender.Tell(new SnapshotAck { TransferId = offer.TransferId, Error = $"snapshot of {offer.Size} bytes exceeds the limit of {_options.MaxSnapshotBytes} bytes" }, Self);
            return;
        }
        var receiver = Context.ActorOf(SnapshotReceiverActor.Props(new SnapshotReceiverActor.Setup(
            offer, Sender, _member!.InstallSnapshotAsync, _options)), $"snapshot-from-{PeerAddress.FormatId(offer.From)}-{offer.TransferId}");
        Context.Watch(receiver);
        _incoming[key] = receiver;
    }

    private void StopTransfersTo(ulong peerId)
    {
        foreach (var (transferId, transfer) in _outgoing.Where(t => t.Value.PeerId == peerId).ToList())
        {
            _outgoing.Remove(transferId);
            Context.Stop(transfer.Sender);
            ReportSnapshot(peerId, false);
        }
    }

    private void StopSnapshotTransfers()
    {
        foreach (var transfer in _outgoing.Values)
        {
            Context.Stop(transfer.Sender);
            ReportSnapshot(transfer.PeerId, false);
        }
        _outgoing.Clear();
        foreach (var receiver in _incoming.Values)
        {
            Context.Stop(receiver);
        }
        _incoming.Clear();
    }

    private sealed record OutgoingTransfer(ulong PeerId, Address Address, IActorRef Sender);
}
