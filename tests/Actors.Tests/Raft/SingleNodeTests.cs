using Akka.Etcd.Actors.Raft;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Raft;

/// <summary>The single-voter lifecycle through RawNode: campaign, propose, Ready/Advance, ReadIndex, restart.</summary>
public sealed class SingleNodeTests
{
    private sealed class Member
    {
        public Member(MemoryRaftLogStorage storage, ulong applied = 0)
        {
            Storage = storage;
            Node = new RawNode(new RaftConfig { Id = 1, Peers = [1], Applied = applied }, storage);
        }

        public MemoryRaftLogStorage Storage { get; }

        public RawNode Node { get; }

        public List<Entry> Applied { get; } = [];

        public List<ReadState> Reads { get; } = [];

        public List<Ready> Handle()
        {
            var readies = new List<Ready>();
            while (Node.HasReady())
            {
                var rd = Node.GetReady();
                if (rd.HardState is { } hs)
                {
                    Storage.SetHardState(hs);
                }

                Storage.Append(rd.Entries);
                Applied.AddRange(rd.CommittedEntries);
                Reads.AddRange(rd.ReadStates);
                Node.Advance(rd);
                readies.Add(rd);
            }

            return readies;
        }
    }

    [Fact]
    public void Campaign_makes_a_single_voter_leader_at_once_and_commits_its_empty_entry()
    {
        var member = new Member(new MemoryRaftLogStorage());
        member.Node.Campaign();

        Assert.True(member.Node.HasReady());
        var rd = member.Node.GetReady();
        Assert.Equal(new SoftState(1, RaftState.Leader), rd.SoftState);
        Assert.Equal(new HardState { Term = 1, Vote = 1, Commit = 1 }, rd.HardState);
        Assert.Equal(1ul, Assert.Single(rd.Entries).Index);
        Assert.Equal(1ul, Assert.Single(rd.CommittedEntries).Index);
        Assert.Empty(rd.Messages);
        Assert.True(rd.MustSync);
        member.Storage.SetHardState(rd.HardState!);
        member.Storage.Append(rd.Entries);
        member.Node.Advance(rd);

        Assert.False(member.Node.HasReady());
        var status = member.Node.Status;
        Assert.Equal(RaftState.Leader, status.State);
        Assert.Equal(1ul, status.Commit);
        Assert.Equal(1ul, status.Applied);
        Assert.Equal(1ul, status.Progress[1].Match);
    }

    [Fact]
    public void Proposals_commit_as_soon_as_they_are_appended()
    {
        var member = new Member(new MemoryRaftLogStorage());
        member.Node.Campaign();
        member.Handle();

        member.Node.Propose(ByteString.CopyFromUtf8("a"));
        member.Node.Propose(new ReadOnlyMemory<byte>("b"u8.ToArray()));
        var rd = Assert.Single(member.Handle());
        Assert.Equal(["a", "b"], rd.Entries.Select(e => e.Data.ToStringUtf8()));
        Assert.Equal(rd.Entries, rd.CommittedEntries);
        Assert.Equal(3ul, rd.HardState!.Commit);
        Assert.True(rd.MustSync);
        Assert.Null(rd.SoftState);
    }

    [Fact]
    public void Commit_only_change_does_not_require_sync()
    {
        var storage = new MemoryRaftLogStorage();
        var member = new Member(storage);
        member.Node.Campaign();
        member.Handle();
        member.Node.ReadIndex(ByteString.CopyFromUtf8("r"));
        var rd = Assert.Single(member.Handle());
        Assert.False(rd.MustSync);
        Assert.Null(rd.HardState);
    }

    [Fact]
    public void ReadIndex_on_a_single_voter_answers_at_once_with_the_commit_index()
    {
        var member = new Member(new MemoryRaftLogStorage());
        member.Node.Campaign();
        member.Handle();
        member.Node.Propose(ByteString.CopyFromUtf8("a"));
        member.Handle();

        member.Node.ReadIndex(ByteString.CopyFromUtf8("ctx-1"));
        member.Handle();
        Assert.Equal(new ReadState(2, ByteString.CopyFromUtf8("ctx-1")), Assert.Single(member.Reads));
    }

    [Fact]
    public void Proposal_before_any_leader_is_dropped()
    {
        var member = new Member(new MemoryRaftLogStorage());
        var error = Assert.Throws<ProposalDroppedException>(() => member.Node.Propose(ByteString.CopyFromUtf8("a")));
        Assert.Equal("raft proposal dropped", error.Message);
    }

    [Fact]
    public void Local_message_types_cannot_be_stepped()
    {
        var member = new Member(new MemoryRaftLogStorage());
        Assert.Throws<ArgumentException>(() => member.Node.Step(new Message { Type = MessageType.MsgHup }));
        Assert.Throws<ArgumentException>(() => member.Node.Step(new Message { Type = MessageType.MsgBeat }));
    }

    [Fact]
    public void Restart_from_storage_keeps_term_vote_and_every_entry()
    {
        var storage = new MemoryRaftLogStorage();
        var first = new Member(storage);
        first.Node.Campaign();
        first.Handle();
        first.Node.Propose(ByteString.CopyFromUtf8("a"));
        first.Node.Propose(ByteString.CopyFromUtf8("b"));
        first.Handle();

        // Restart telling Raft what was applied: nothing is handed out again.
        var restarted = new Member(storage, applied: 3);
        Assert.Equal(1ul, restarted.Node.Status.Term);
        Assert.Equal(1ul, restarted.Node.Status.Vote);
        Assert.Equal(3ul, restarted.Node.Status.Commit);
        Assert.Equal(RaftState.Follower, restarted.Node.Status.State);
        restarted.Handle();
        Assert.Empty(restarted.Applied);

        restarted.Node.Campaign();
        restarted.Handle();
        Assert.Equal(2ul, restarted.Node.Status.Term);
        restarted.Node.Propose(ByteString.CopyFromUtf8("c"));
        restarted.Handle();
        Assert.Equal(["", "c"], restarted.Applied.Select(e => e.Data.ToStringUtf8()));
        Assert.Equal(5ul, storage.LastIndex());
    }

    [Fact]
    public void Restart_without_applied_index_hands_committed_entries_out_again()
    {
        var storage = new MemoryRaftLogStorage();
        var first = new Member(storage);
        first.Node.Campaign();
        first.Handle();
        first.Node.Propose(ByteString.CopyFromUtf8("a"));
        first.Handle();

        var restarted = new Member(storage);
        restarted.Handle();
        Assert.Equal(first.Applied, restarted.Applied);
    }

    [Fact]
    public void Restart_after_compaction_starts_from_the_snapshot()
    {
        var storage = new MemoryRaftLogStorage();
        var first = new Member(storage);
        first.Node.Campaign();
        first.Handle();
        for (var i = 0; i < 5; i++)
        {
            first.Node.Propose(ByteString.CopyFromUtf8($"v{i}"));
        }

        first.Handle();
        var confState = new ConfState { Voters = { 1 } };
        storage.CreateSnapshot(4, confState, "state"u8.ToArray());
        storage.Compact(4);

        var restarted = new Member(storage, applied: 4);
        restarted.Handle();
        Assert.Equal(["v3", "v4"], restarted.Applied.Select(e => e.Data.ToStringUtf8()));
        restarted.Node.Campaign();
        restarted.Handle();
        Assert.Equal(RaftState.Leader, restarted.Node.Status.State);
    }

    [Fact]
    public void Conf_change_commits_and_applies_on_a_single_voter()
    {
        var member = new Member(new MemoryRaftLogStorage());
        member.Node.Campaign();
        member.Handle();
        member.Node.ProposeConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddLearnerNode, NodeID = 2 });
        var rd = Assert.Single(member.Handle());
        var entry = Assert.Single(rd.CommittedEntries);
        Assert.Equal(EntryType.EntryConfChange, entry.Type);
        var confState = member.Node.ApplyConfChange(ConfChange.Parser.ParseFrom(entry.Data));
        Assert.Equal([1ul], confState.Voters);
        Assert.Equal([2ul], confState.Learners);
        Assert.True(member.Node.Status.Progress[2].IsLearner);
    }
}
