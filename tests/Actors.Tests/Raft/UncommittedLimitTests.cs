using Akka.Etcd.Actors.Raft;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Raft;

/// <summary>etcd raft's MaxUncommittedEntriesSize (raft_test.go TestUncommittedEntryLimit): a leader that cannot commit stops growing.</summary>
public class UncommittedLimitTests
{
    private static RawNode Leader(ulong limit, out MemoryRaftLogStorage storage)
    {
        // Three voters, so nothing commits while the followers never answer.
        storage = new MemoryRaftLogStorage();
        var node = new RawNode(new RaftConfig
        {
            Id = 1,
            Peers = [1, 2, 3],
            ElectionTick = 10,
            HeartbeatTick = 1,
            MaxUncommittedEntriesSize = limit,
        }, storage);
        node.Campaign();
        node.Step(new Message { From = 2, To = 1, Type = MessageType.MsgVoteResp, Term = node.Status.Term });
        Assert.Equal(RaftState.Leader, node.Status.State);
        var ready = node.GetReady();
        storage.Append(ready.Entries);
        node.Advance(ready);
        return node;
    }

    private static ByteString Payload(int bytes) => ByteString.CopyFrom(new byte[bytes]);

    [Fact]
    public void Proposals_past_the_limit_are_dropped_as_too_many_requests_until_entries_commit()
    {
        var node = Leader(limit: 1000, out var storage);
        for (var i = 0; i < 10; i++)
        {
            node.Propose(Payload(100));
        }
        var dropped = Assert.Throws<ProposalDroppedException>(() => node.Propose(Payload(100)));
        Assert.True(dropped.UncommittedLimit);

        // Followers acknowledge everything: the entries commit, are handed out and applied, and room is made.
        var ready = node.GetReady();
        storage.Append(ready.Entries);
        node.Advance(ready);
        var last = storage.LastIndex();
        node.Step(new Message { From = 2, To = 1, Type = MessageType.MsgAppResp, Term = node.Status.Term, Index = last });
        ready = node.GetReady();
        Assert.Equal(10, ready.CommittedEntries.Count(e => e.Data.Length == 100));
        node.Advance(ready);
        node.Propose(Payload(100));
    }

    [Fact]
    public void A_single_proposal_larger_than_the_limit_is_accepted_when_nothing_is_uncommitted()
    {
        var node = Leader(limit: 1000, out _);
        node.Propose(Payload(5000));
        Assert.True(Assert.Throws<ProposalDroppedException>(() => node.Propose(Payload(1))).UncommittedLimit);
    }

    [Fact]
    public void No_limit_by_default()
    {
        var node = Leader(limit: 0, out _);
        for (var i = 0; i < 100; i++)
        {
            node.Propose(Payload(100_000));
        }
    }
}
