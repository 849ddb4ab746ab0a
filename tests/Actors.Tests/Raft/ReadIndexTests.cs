using Akka.Etcd.Actors.Raft;
using Akka.Etcd.Actors.Tests.Simulation;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Raft;

/// <summary>ReadIndex on a 3-member cluster (etcd raft's read_only.go, ReadOnlySafe).</summary>
public sealed class ReadIndexTests
{
    private static ByteString Ctx(ulong value)
    {
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return ByteString.CopyFrom(bytes);
    }

    private static RaftNetwork CommittedCluster()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        net[1].Node.Propose(ByteString.CopyFromUtf8("a"));
        net.DeliverAll();
        return net;
    }

    [Fact]
    public void Every_member_gets_its_read_state_when_all_use_the_same_request_context()
    {
        // Each member counts its own read contexts, so the leader sees the same context from several members at
        // once. A leader that keyed its pending reads by context alone answered only the first one.
        var net = CommittedCluster();
        var commit = net[1].Node.Status.Commit;

        net.ReadIndex(1, Ctx(1));
        net.ReadIndex(2, Ctx(1));
        net.ReadIndex(3, Ctx(1));
        net.DeliverAll();

        foreach (var id in new ulong[] { 1, 2, 3 })
        {
            Assert.Equal(new ReadState(commit, Ctx(1)), Assert.Single(net[id].ReadStates));
        }
    }

    [Fact]
    public void Same_context_from_two_followers_while_the_first_is_still_pending_is_answered_for_both()
    {
        var net = CommittedCluster();
        net.ReadIndex(2, Ctx(7));
        // Deliver member 2's MsgReadIndex only, so its confirmation is still pending at the leader.
        var forwarded = net.Queue.FindIndex(m => m.Type == MessageType.MsgReadIndex && m.From == 2);
        net.DeliverAt(forwarded);
        net.Process(1);

        net.ReadIndex(3, Ctx(7));
        net.DeliverAll();

        Assert.Single(net[2].ReadStates);
        Assert.Single(net[3].ReadStates);
    }

    [Fact]
    public void A_read_index_asked_again_with_the_same_context_is_answered_again()
    {
        // RaftActor retries a read whose answer is overdue with the same context; the retry must not be ignored
        // while the first request is pending, and an answer must come even when the first one was lost.
        var net = CommittedCluster();
        net.Drop = m => m.Type == MessageType.MsgReadIndexResp;
        net.ReadIndex(2, Ctx(9));
        net.DeliverAll();
        Assert.Empty(net[2].ReadStates);

        net.Drop = null;
        net.ReadIndex(2, Ctx(9));
        net.DeliverAll();
        Assert.Equal(Ctx(9), Assert.Single(net[2].ReadStates).RequestCtx);
    }

    [Fact]
    public void Later_confirmation_answers_every_earlier_pending_read_in_order()
    {
        var net = CommittedCluster();
        // Hold all heartbeat responses: three reads from different members queue up at the leader.
        net.Drop = m => m.Type == MessageType.MsgHeartbeatResp;
        net.ReadIndex(2, Ctx(1));
        net.ReadIndex(3, Ctx(1));
        net.ReadIndex(1, Ctx(2));
        net.DeliverAll();
        Assert.All(net.Nodes.Values, n => Assert.Empty(n.ReadStates));

        // One more read whose confirmation gets through confirms all of them.
        net.Drop = null;
        net.ReadIndex(1, Ctx(3));
        net.DeliverAll();
        Assert.Equal([Ctx(2), Ctx(3)], net[1].ReadStates.Select(r => r.RequestCtx));
        Assert.Single(net[2].ReadStates);
        Assert.Single(net[3].ReadStates);
    }
}
