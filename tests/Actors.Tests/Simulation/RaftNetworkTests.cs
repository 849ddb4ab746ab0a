using Akka.Etcd.Actors.Raft;
using Google.Protobuf;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Simulation;

public sealed class RaftNetworkTests
{
    private static void Propose(SimNode node, string value) => node.Node.Propose(ByteString.CopyFromUtf8(value));

    [Fact]
    public void Three_members_elect_one_leader_and_replicate_to_all()
    {
        var net = new RaftNetwork(3);
        net.RunUntil(() => net.Leader() is not null, what: "a leader");
        var leader = net.Leader()!;

        Propose(leader, "a");
        Propose(leader, "b");
        net.DeliverAll();

        foreach (var node in net.Nodes.Values)
        {
            Assert.Equal(["a", "b"], RaftNetwork.Values(node));
            Assert.Equal(leader.Id, node.Node.Status.Lead);
        }

        Assert.All(net.LeaderOfTerm, kv => Assert.Equal(leader.Id, net.LeaderOfTerm[leader.Node.Status.Term]));
    }

    [Fact]
    public void Follower_forwards_proposals_to_the_leader()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);

        Propose(net[3], "from-follower");
        net.DeliverAll();

        Assert.All(net.Nodes.Values, n => Assert.Equal(["from-follower"], RaftNetwork.Values(n)));
    }

    [Fact]
    public void Proposal_without_leader_is_dropped()
    {
        var net = new RaftNetwork(3);
        Assert.Throws<ProposalDroppedException>(() => Propose(net[1], "x"));
    }

    [Fact]
    public void Minority_leader_cannot_commit_and_majority_elects_a_new_leader_then_heals()
    {
        var net = new RaftNetwork(5, id => new RaftConfig { Id = id, PreVote = true, CheckQuorum = true });
        net.ElectLeader(1);
        Propose(net[1], "before");
        net.DeliverAll();

        net.Partition([1, 2], [3, 4, 5]);
        Propose(net[1], "lost");
        net.DeliverAll();
        Assert.DoesNotContain("lost", RaftNetwork.Values(net[1]));

        net.RunUntil(() => new ulong[] { 3, 4, 5 }.Any(id => net[id].Node.Status.State == RaftState.Leader), what: "majority leader");
        var newLeader = new ulong[] { 3, 4, 5 }.Select(id => net[id]).Single(n => n.Node.Status.State == RaftState.Leader);
        Propose(newLeader, "after");
        net.DeliverAll();

        // CheckQuorum: the old leader steps down once it misses its quorum for an election timeout.
        net.RunUntil(() => net[1].Node.Status.State != RaftState.Leader, what: "old leader steps down");

        net.Heal();
        net.RunUntil(
            () => net.Nodes.Values.All(n => RaftNetwork.Values(n).SequenceEqual(["before", "after"])),
            what: "all members converge");
        Assert.DoesNotContain("lost", RaftNetwork.Values(net[1]));
    }

    [Fact]
    public void Isolated_member_with_prevote_does_not_disrupt_the_leader_on_rejoin()
    {
        var net = new RaftNetwork(3, id => new RaftConfig { Id = id, PreVote = true });
        net.ElectLeader(1);
        var term = net[1].Node.Status.Term;

        net.Isolate(3);
        for (var i = 0; i < 50; i++)
        {
            net.Tick(3);
            net.DeliverAll();
        }

        // Pre-votes fail without a quorum, so member 3 never raised its term.
        Assert.Equal(term, net[3].Node.Status.Term);
        net.Heal();
        net.RunUntil(() => net[3].Node.Status.Lead == 1, what: "member 3 follows 1 again");
        Assert.Equal(RaftState.Leader, net[1].Node.Status.State);
        Assert.Equal(term, net[1].Node.Status.Term);
    }

    [Fact]
    public void Isolated_member_without_prevote_raises_its_term_and_forces_a_new_election()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        var term = net[1].Node.Status.Term;

        net.Isolate(3);
        for (var i = 0; i < 50; i++)
        {
            net.Tick(3);
            net.DeliverAll();
        }

        Assert.True(net[3].Node.Status.Term > term);
        net.Heal();
        net.RunUntil(() => net.Leader() is { } l && net.Nodes.Values.All(n => n.Node.Status.Lead == l.Id), what: "new leader");
        Assert.True(net.Leader()!.Node.Status.Term > term);
    }

    [Fact]
    public void Leader_transfer_hands_leadership_to_an_up_to_date_follower()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        Propose(net[1], "a");
        net.DeliverAll();

        net[1].Node.TransferLeader(3);
        net.Process(1);
        net.DeliverAll();

        Assert.Equal(RaftState.Leader, net[3].Node.Status.State);
        Assert.Equal(RaftState.Follower, net[1].Node.Status.State);
        Propose(net[3], "b");
        net.DeliverAll();
        Assert.All(net.Nodes.Values, n => Assert.Equal(["a", "b"], RaftNetwork.Values(n)));
    }

    [Fact]
    public void Leader_transfer_catches_a_lagging_transferee_up_first_and_drops_proposals_meanwhile()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        net.Isolate(3);
        Propose(net[1], "a");
        net.DeliverAll();
        net.Heal();

        net[1].Node.TransferLeader(3);
        Assert.Equal(3ul, net[1].Node.Status.LeadTransferee);
        Assert.Throws<ProposalDroppedException>(() => Propose(net[1], "during-transfer"));
        net.DeliverAll();

        Assert.Equal(RaftState.Leader, net[3].Node.Status.State);
        Assert.Equal(["a"], RaftNetwork.Values(net[3]));
    }

    [Fact]
    public void Leader_transfer_to_an_unreachable_member_is_aborted_after_an_election_timeout()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        net.Isolate(3);
        net[1].Node.TransferLeader(3);
        net.DeliverAll();
        Assert.Equal(3ul, net[1].Node.Status.LeadTransferee);

        for (var i = 0; i < 10; i++)
        {
            net.Tick(1);
        }

        Assert.Equal(0ul, net[1].Node.Status.LeadTransferee);
        Assert.Equal(RaftState.Leader, net[1].Node.Status.State);
    }

    [Fact]
    public void ReadIndex_on_leader_and_follower_returns_the_commit_index_after_quorum_confirmation()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        Propose(net[1], "a");
        net.DeliverAll();
        var commit = net[1].Node.Status.Commit;

        net[1].Node.ReadIndex(ByteString.CopyFromUtf8("leader-read"));
        net.Process(1);
        Assert.Empty(net[1].ReadStates); // waits for heartbeat acknowledgements
        net.DeliverAll();
        Assert.Equal(new ReadState(commit, ByteString.CopyFromUtf8("leader-read")), Assert.Single(net[1].ReadStates));

        net[2].Node.ReadIndex(ByteString.CopyFromUtf8("follower-read"));
        net.DeliverAll();
        Assert.Equal(new ReadState(commit, ByteString.CopyFromUtf8("follower-read")), Assert.Single(net[2].ReadStates));
    }

    [Fact]
    public void ReadIndex_is_not_answered_by_a_leader_cut_off_from_its_quorum()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        net.Isolate(1);
        net[1].Node.ReadIndex(ByteString.CopyFromUtf8("stale"));
        net.DeliverAll();
        Assert.Empty(net[1].ReadStates);
    }

    [Fact]
    public void ReadIndex_of_a_new_leader_waits_for_its_first_commit_in_its_term()
    {
        var net = new RaftNetwork(3);
        net[1].Node.Campaign();
        net.Process(1);
        // Deliver only the votes, so the leader's empty entry is not committed yet.
        net.Drop = m => m.Type == MessageType.MsgApp;
        net.DeliverAll();
        Assert.Equal(RaftState.Leader, net[1].Node.Status.State);

        net[1].Node.ReadIndex(ByteString.CopyFromUtf8("early"));
        net.DeliverAll();
        Assert.Empty(net[1].ReadStates);

        net.Drop = null;
        net.RunUntil(() => net[1].ReadStates.Count == 1, what: "read state after first commit");
        Assert.Equal(net[1].Node.Raft.Log.Committed, net[1].ReadStates[0].Index);
    }

    [Fact]
    public void Lagging_follower_catches_up_through_a_snapshot_after_compaction()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        net.Isolate(3);
        for (var i = 0; i < 20; i++)
        {
            Propose(net[1], $"v{i}");
        }

        net.DeliverAll();
        net[1].Compact();
        Assert.True(net[1].Storage.FirstIndex() > net[3].Node.Status.Commit + 1);

        net.Heal();
        net.RunUntil(() => net[3].AppliedIndex == net[1].AppliedIndex, what: "member 3 catches up");
        Assert.Equal(RaftNetwork.Values(net[1]), RaftNetwork.Values(net[3]));

        Propose(net[1], "after-snapshot");
        net.DeliverAll();
        Assert.Equal("after-snapshot", RaftNetwork.Values(net[3])[^1]);
    }

    [Fact]
    public void Follower_with_conflicting_uncommitted_entries_is_repaired_by_the_new_leader()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        Propose(net[1], "a");
        net.DeliverAll();

        // Leader 1 appends entries nobody else receives, then loses leadership.
        net.Isolate(1);
        Propose(net[1], "orphan1");
        Propose(net[1], "orphan2");
        net.DeliverAll();
        net.Heal();
        net.Isolate(1);
        net.ElectLeader(2);
        Propose(net[2], "b");
        net.DeliverAll();

        net.Heal();
        net.RunUntil(() => RaftNetwork.Values(net[1]).SequenceEqual(["a", "b"]), what: "old leader repaired");
        Assert.DoesNotContain(net[1].Storage.Entries(net[1].Storage.FirstIndex(), net[1].Storage.LastIndex() + 1, ulong.MaxValue),
            e => e.Data.ToStringUtf8().StartsWith("orphan", StringComparison.Ordinal));
    }

    [Fact]
    public void Member_added_through_a_conf_change_catches_up_and_counts_for_quorum()
    {
        var net = new RaftNetwork(4, id => new RaftConfig { Id = id, Peers = id == 4 ? [] : [1, 2, 3] }, joining: new HashSet<ulong> { 4 });
        // Member 4 starts with an empty configuration: it only learns it from the leader.
        net.ElectLeader(1);
        Propose(net[1], "a");
        net.DeliverAll();

        net[1].Node.ProposeConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeID = 4 });
        net.DeliverAll();
        Assert.Equal([1ul, 2, 3, 4], net[1].ConfState.Voters.Order().ToArray());
        net.RunUntil(() => RaftNetwork.Values(net[4]).SequenceEqual(["a"]), what: "member 4 catches up");

        // With 4 voters, 3 are needed: 1 and 4 alone cannot commit; 1, 2 and 4 can.
        net.Partition([1, 4], [2, 3]);
        Propose(net[1], "two-of-four");
        net.DeliverAll();
        Assert.DoesNotContain("two-of-four", RaftNetwork.Values(net[1]));
        net.Heal();
        net.RunUntil(() => RaftNetwork.Values(net[2]).Contains("two-of-four"), what: "commit after heal");
    }

    [Fact]
    public void Only_one_conf_change_may_be_pending()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        net.DeliverAll();
        net.Isolate(1); // nothing commits, so the first change stays pending

        net[1].Node.ProposeConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeID = 3 });
        net[1].Node.ProposeConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeID = 2 });
        net.Process(1);

        var log = net[1].Storage.Entries(net[1].Storage.FirstIndex(), net[1].Storage.LastIndex() + 1, ulong.MaxValue);
        Assert.Single(log, e => e.Type == EntryType.EntryConfChange);
        Assert.Equal(EntryType.EntryNormal, log[^1].Type);
        Assert.True(log[^1].Data.IsEmpty);
    }

    [Fact]
    public void Learner_receives_the_log_but_never_votes_for_quorum_nor_campaigns()
    {
        var net = new RaftNetwork(3, id => new RaftConfig { Id = id, Peers = [1, 2], Learners = [3] });
        net.ElectLeader(1);
        Propose(net[1], "a");
        net.DeliverAll();
        Assert.Equal(["a"], RaftNetwork.Values(net[3]));
        Assert.True(net[1].Node.Status.Progress[3].IsLearner);

        // 1 + learner 3 are not a quorum of {1, 2}.
        net.Isolate(2);
        Propose(net[1], "b");
        net.DeliverAll();
        Assert.DoesNotContain("b", RaftNetwork.Values(net[1]));

        // The learner never campaigns, however long it waits.
        net.Isolate(3);
        for (var i = 0; i < 100; i++)
        {
            net.Tick(3);
        }

        Assert.Equal(RaftState.Follower, net[3].Node.Status.State);
    }

    [Fact]
    public void Learner_promoted_to_voter_counts_for_quorum()
    {
        var net = new RaftNetwork(3, id => new RaftConfig { Id = id, Peers = [1, 2], Learners = [3] });
        net.ElectLeader(1);
        net[1].Node.ProposeConfChange(new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeID = 3 });
        net.DeliverAll();
        Assert.Equal([1ul, 2, 3], net[3].ConfState.Voters.Order().ToArray());
        Assert.Empty(net[3].ConfState.Learners);

        net.Isolate(2);
        Propose(net[1], "with-3");
        net.DeliverAll();
        Assert.Contains("with-3", RaftNetwork.Values(net[3]));
    }

    [Fact]
    public void Removed_member_no_longer_counts_for_quorum()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        net[1].Node.ProposeConfChange(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeID = 3 });
        net.DeliverAll();
        Assert.Equal([1ul, 2], net[1].ConfState.Voters.Order().ToArray());

        net[3].Down = true;
        Propose(net[1], "two-members");
        net.DeliverAll();
        Assert.Contains("two-members", RaftNetwork.Values(net[2]));
    }

    [Fact]
    public void Crashed_follower_restarts_from_storage_and_catches_up()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        Propose(net[1], "a");
        net.DeliverAll();

        net[2].Down = true;
        Propose(net[1], "b");
        net.DeliverAll();
        net[2].Restart();
        net.Process(2); // re-applies what the stored HardState says is committed
        Assert.Equal(["a"], RaftNetwork.Values(net[2]));

        net.RunUntil(() => RaftNetwork.Values(net[2]).SequenceEqual(["a", "b"]), what: "restarted member catches up");
    }

    [Fact]
    public void Unreachable_report_moves_a_replicating_follower_back_to_probe()
    {
        var net = new RaftNetwork(3);
        net.ElectLeader(1);
        Propose(net[1], "a");
        net.DeliverAll();
        Assert.Equal(ProgressState.Replicate, net[1].Node.Status.Progress[2].State);

        net[1].Node.ReportUnreachable(2);
        Assert.Equal(ProgressState.Probe, net[1].Node.Status.Progress[2].State);
    }
}
