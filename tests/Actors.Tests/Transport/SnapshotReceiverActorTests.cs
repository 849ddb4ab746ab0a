using System.Security.Cryptography;
using Akka.Actor;
using Akka.Etcd.Actors.Transport;
using Akka.Etcd.Protos.Peer;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Transport;

/// <summary>The receiving end of a snapshot transfer refuses what does not add up, and keeps no partial file.</summary>
public sealed class SnapshotReceiverActorTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"akka-etcd-snap-recv-{Guid.NewGuid():N}");

    [Fact]
    public void A_snapshot_whose_checksum_does_not_match_is_refused_and_its_file_deleted()
    {
        var data = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
        var sender = CreateTestProbe();
        var installed = false;
        var receiver = Sys.ActorOf(SnapshotReceiverActor.Props(new SnapshotReceiverActor.Setup(
            Offer(size: 10), sender.Ref, (_, _) => { installed = true; return Task.CompletedTask; }, Options())));
        Assert.Equal(0UL, sender.ExpectMsg<SnapshotAck>().Received);

        receiver.Tell(new SnapshotChunk { TransferId = 9, Offset = 0, Data = ByteString.CopyFrom(data, 0, 6) });
        Assert.Equal(6UL, sender.ExpectMsg<SnapshotAck>().Received);
        var wrong = SHA256.HashData(data);
        wrong[0] ^= 0xff;
        receiver.Tell(new SnapshotChunk { TransferId = 9, Offset = 6, Data = ByteString.CopyFrom(data, 6, 4), Last = true, Sha256 = ByteString.CopyFrom(wrong) });

        Assert.Equal("snapshot checksum mismatch", sender.ExpectMsg<SnapshotAck>().Error);
        Watch(receiver);
        ExpectTerminated(receiver);
        Assert.False(installed);
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Fact]
    public void Chunks_out_of_order_or_beyond_the_offered_size_end_the_transfer()
    {
        var sender = CreateTestProbe();
        var receiver = Sys.ActorOf(SnapshotReceiverActor.Props(new SnapshotReceiverActor.Setup(
            Offer(size: 4), sender.Ref, (_, _) => Task.CompletedTask, Options())));
        sender.ExpectMsg<SnapshotAck>();

        receiver.Tell(new SnapshotChunk { TransferId = 9, Offset = 0, Data = ByteString.CopyFrom(new byte[5]) });

        Assert.Equal("the snapshot is larger than the 4 bytes offered", sender.ExpectMsg<SnapshotAck>().Error);

        var second = Sys.ActorOf(SnapshotReceiverActor.Props(new SnapshotReceiverActor.Setup(
            Offer(size: 4), sender.Ref, (_, _) => Task.CompletedTask, Options())));
        sender.ExpectMsg<SnapshotAck>();
        second.Tell(new SnapshotChunk { TransferId = 9, Offset = 2, Data = ByteString.CopyFrom(new byte[2]) });
        Assert.Equal("snapshot chunk out of order: expected offset 0, got 2", sender.ExpectMsg<SnapshotAck>().Error);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    private RaftTransportOptions Options() => new() { SnapshotDirectory = _directory };

    private static SnapshotOffer Offer(ulong size) => new()
    {
        ClusterId = 1,
        From = 1,
        To = 2,
        TransferId = 9,
        Size = size,
        Message = new Message { Type = MessageType.MsgSnap, From = 1, To = 2, Snapshot = new Snapshot { Metadata = new SnapshotMetadata { Index = 3, Term = 1 } } },
    };
}
