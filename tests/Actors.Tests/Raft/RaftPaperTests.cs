using Akka.Etcd.Actors.Raft;
using Raftpb;
using static Akka.Etcd.Actors.Tests.Raft.RaftTestSupport;

namespace Akka.Etcd.Actors.Tests.Raft;

/// <summary>The Raft paper's rules, case by case, in the spirit of etcd's raft_paper_test.go.</summary>
public sealed class RaftPaperTests
{
    public static TheoryData<RaftState> States => [RaftState.Follower, RaftState.Candidate, RaftState.PreCandidate, RaftState.Leader];

    private static RaftCore InState(RaftState state, ulong[] peers, bool preVote = false)
    {
        var r = NewRaft(1, peers, preVote: preVote);
        switch (state)
        {
            case RaftState.Follower:
                r.BecomeFollower(1, 2);
                break;
            case RaftState.Candidate:
                r.BecomeCandidate();
                break;
            case RaftState.PreCandidate:
                r.BecomePreCandidate();
                break;
            case RaftState.Leader:
                r.BecomeCandidate();
                r.BecomeLeader();
                break;
        }

        return r;
    }

    [Theory]
    [MemberData(nameof(States))]
    public void Any_state_updates_its_term_and_becomes_follower_on_a_higher_term(RaftState state)
    {
        var r = InState(state, [1, 2, 3]);
        r.Step(Msg(2, 1, MessageType.MsgApp, term: 5));
        Assert.Equal(5ul, r.Term);
        Assert.Equal(RaftState.Follower, r.State);
        Assert.Equal(2ul, r.Lead);
    }

    [Fact]
    public void Message_with_a_stale_term_is_ignored()
    {
        var r = NewRaft(1, [1, 2]);
        r.BecomeFollower(2, 2);
        var called = r.Step(Msg(2, 1, MessageType.MsgApp, term: 1, entries: E(1, 1)));
        Assert.True(called);
        Assert.Empty(Read(r));
        Assert.Equal(0ul, r.Log.LastIndex());
    }

    [Fact]
    public void Member_starts_as_follower()
    {
        var r = NewRaft(1, [1, 2, 3]);
        Assert.Equal(RaftState.Follower, r.State);
        Assert.Equal(0ul, r.Lead);
    }

    [Fact]
    public void Leader_broadcasts_heartbeats_every_heartbeat_timeout()
    {
        var r = NewRaft(1, [1, 2, 3], heartbeat: 1);
        r.BecomeCandidate();
        r.BecomeLeader();
        r.Log.CommitTo(r.Log.LastIndex());
        Read(r);

        r.Tick();
        var sent = Read(r);
        Assert.Equal([2ul, 3], sent.Select(m => m.To).Order().ToArray());
        Assert.All(sent, m =>
        {
            Assert.Equal(MessageType.MsgHeartbeat, m.Type);
            Assert.Equal(1ul, m.Term);
            Assert.Equal(0ul, m.Commit); // never past the follower's Match
        });
    }

    [Theory]
    [MemberData(nameof(States))]
    public void Non_leader_starts_an_election_after_its_election_timeout(RaftState state)
    {
        if (state == RaftState.Leader)
        {
            return;
        }

        var r = InState(state, [1, 2, 3]);
        var termBefore = r.Term;
        Read(r);
        List<Message> votes = [];
        for (var i = 0; i < 20 && votes.Count == 0; i++)
        {
            r.Tick();
            votes = Read(r).Where(m => m.Type == MessageType.MsgVote).ToList();
        }

        Assert.Equal(RaftState.Candidate, r.State);
        Assert.Equal(termBefore + 1, r.Term);
        Assert.Equal(1ul, r.Vote);
        Assert.Equal([2ul, 3], votes.Select(m => m.To).Order().ToArray());
        Assert.All(votes, m => Assert.Equal(r.Term, m.Term));
    }

    public static TheoryData<int, ulong[], ulong[], RaftState> OneRoundElections => new()
    {
        // members, granted by, rejected by, resulting state
        { 1, [], [], RaftState.Leader },
        { 3, [2, 3], [], RaftState.Leader },
        { 3, [2], [], RaftState.Leader },
        { 5, [2, 3, 4, 5], [], RaftState.Leader },
        { 5, [2, 3], [], RaftState.Leader },
        { 3, [], [], RaftState.Candidate },
        { 5, [2], [], RaftState.Candidate },
        { 5, [], [2, 3], RaftState.Candidate },
        { 5, [], [2, 3, 4], RaftState.Follower },
        { 5, [2], [3, 4, 5], RaftState.Follower },
        { 5, [], [], RaftState.Candidate },
    };

    [Theory]
    [MemberData(nameof(OneRoundElections))]
    public void Election_is_won_by_a_majority_and_lost_by_a_majority_of_rejections(int size, ulong[] granted, ulong[] rejected, RaftState expected)
    {
        var peers = Enumerable.Range(1, size).Select(i => (ulong)i).ToArray();
        var r = NewRaft(1, peers);
        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgHup });
        foreach (var id in granted)
        {
            r.Step(Msg(id, 1, MessageType.MsgVoteResp, term: r.Term));
        }

        foreach (var id in rejected)
        {
            r.Step(Msg(id, 1, MessageType.MsgVoteResp, term: r.Term, reject: true));
        }

        Assert.Equal(expected, r.State);
        Assert.Equal(1ul, r.Term);
    }

    [Theory]
    [InlineData(0ul, 2ul, false)]
    [InlineData(0ul, 3ul, false)]
    [InlineData(2ul, 2ul, false)]
    [InlineData(3ul, 3ul, false)]
    [InlineData(2ul, 3ul, true)]
    [InlineData(3ul, 2ul, true)]
    public void Follower_votes_at_most_once_per_term_first_come_first_served(ulong votedFor, ulong candidate, bool rejected)
    {
        var storage = new MemoryRaftLogStorage();
        storage.SetHardState(new HardState { Term = 1, Vote = votedFor });
        var r = NewRaft(1, [1, 2, 3], storage: storage);
        r.Step(Msg(candidate, 1, MessageType.MsgVote, term: 1));
        var response = Assert.Single(Read(r));
        Assert.Equal(MessageType.MsgVoteResp, response.Type);
        Assert.Equal(candidate, response.To);
        Assert.Equal(rejected, response.Reject);
    }

    [Fact]
    public void Candidate_falls_back_to_follower_on_an_append_from_a_leader_of_its_term()
    {
        var r = NewRaft(1, [1, 2, 3]);
        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgHup });
        r.Step(Msg(2, 1, MessageType.MsgApp, term: r.Term));
        Assert.Equal(RaftState.Follower, r.State);
        Assert.Equal(2ul, r.Lead);
    }

    [Fact]
    public void Election_timeouts_are_randomized_within_one_to_two_election_ticks()
    {
        var seen = new HashSet<int>();
        for (var seed = 0; seed < 200; seed++)
        {
            var r = NewRaft(1, [1, 2, 3], election: 10, seed: seed);
            var ticks = 0;
            while (r.State == RaftState.Follower)
            {
                r.Tick();
                ticks++;
            }

            Assert.InRange(ticks, 10, 19);
            seen.Add(ticks);
        }

        Assert.True(seen.Count > 5, "timeouts should spread over the range");
    }

    public static TheoryData<Entry[], ulong, ulong, bool> VoteLogChecks => new()
    {
        // voter's log, candidate's last log term, candidate's last index, rejected
        { [E(1, 1)], 1, 1, false },
        { [E(1, 1)], 1, 2, false },
        { [E(1, 1), E(1, 2)], 1, 1, true },
        { [E(1, 1)], 2, 1, false },
        { [E(1, 1)], 2, 2, false },
        { [E(1, 1), E(1, 2)], 2, 1, false },
        { [E(2, 1)], 1, 1, true },
        { [E(2, 1)], 1, 2, true },
        { [E(2, 1), E(1, 2)], 1, 1, true },
    };

    [Theory]
    [MemberData(nameof(VoteLogChecks))]
    public void Vote_is_only_granted_to_a_candidate_whose_log_is_at_least_as_up_to_date(Entry[] log, ulong logTerm, ulong index, bool rejected)
    {
        var r = NewRaft(1, [1, 2], storage: LogStorage(log));
        r.Step(Msg(2, 1, MessageType.MsgVote, term: 3, logTerm: logTerm, index: index));
        var response = Assert.Single(Read(r));
        Assert.Equal(MessageType.MsgVoteResp, response.Type);
        Assert.Equal(rejected, response.Reject);
    }

    [Theory]
    [InlineData(1ul, 0ul)]
    [InlineData(2ul, 0ul)]
    [InlineData(3ul, 3ul)]
    public void Leader_commits_only_by_counting_replicas_of_current_term_entries(ulong acknowledged, ulong expectedCommit)
    {
        // Figure 8: entries of terms 1 and 2 from earlier leaders must not be committed by counting replicas.
        var storage = LogStorage(E(1, 1), E(2, 2));
        storage.SetHardState(new HardState { Term = 2 });
        var r = NewRaft(1, [1, 2], storage: storage);
        r.BecomeCandidate();
        r.BecomeLeader(); // term 3, empty entry at index 3
        Read(r);

        r.Step(Msg(2, 1, MessageType.MsgAppResp, term: r.Term, index: acknowledged));
        Assert.Equal(expectedCommit, r.Log.Committed);
    }

    [Fact]
    public void Leader_commits_an_entry_once_a_majority_stored_it_and_tells_followers()
    {
        var r = NewRaft(1, [1, 2, 3]);
        r.BecomeCandidate();
        r.BecomeLeader();
        r.Step(Msg(2, 1, MessageType.MsgAppResp, term: r.Term, index: 1));
        Read(r);

        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgProp, Entries = { new Entry { Data = Google.Protobuf.ByteString.CopyFromUtf8("x") } } });
        Assert.Equal(1ul, r.Log.Committed);
        r.Step(Msg(2, 1, MessageType.MsgAppResp, term: r.Term, index: 2));
        Assert.Equal(2ul, r.Log.Committed);
        var appends = Read(r).Where(m => m.Type == MessageType.MsgApp).ToList();
        Assert.Contains(appends, m => m.To == 2 && m.Commit == 2);
        Assert.DoesNotContain(appends, m => m.To == 3); // 3 is probing and has an unanswered append
    }

    public static TheoryData<ulong, ulong, Entry[], Entry[], Entry[]> FollowerAppends => new()
    {
        // prev index, prev term, sent entries, resulting log, resulting unstable entries
        { 2, 2, [E(3, 3)], [E(1, 1), E(2, 2), E(3, 3)], [E(3, 3)] },
        { 1, 1, [E(3, 2), E(4, 3)], [E(1, 1), E(3, 2), E(4, 3)], [E(3, 2), E(4, 3)] },
        { 0, 0, [E(1, 1)], [E(1, 1), E(2, 2)], [] },
        { 0, 0, [E(3, 1)], [E(3, 1)], [E(3, 1)] },
    };

    [Theory]
    [MemberData(nameof(FollowerAppends))]
    public void Follower_appends_matching_entries_and_replaces_conflicting_ones(ulong index, ulong term, Entry[] sent, Entry[] log, Entry[] unstable)
    {
        var r = NewRaft(1, [1, 2, 3], storage: LogStorage(E(1, 1), E(2, 2)));
        r.BecomeFollower(2, 2);
        r.Step(Msg(2, 1, MessageType.MsgApp, term: 2, logTerm: term, index: index, entries: sent));
        Assert.Equal(log, r.Log.AllEntries());
        Assert.Equal(unstable, r.Log.UnstableEntries());
    }

    [Theory]
    [InlineData(0ul, 0ul, 1ul, false, 0ul)] // below the commit index: answer with the commit index
    [InlineData(1ul, 1ul, 1ul, false, 0ul)]
    [InlineData(2ul, 2ul, 2ul, false, 0ul)]
    [InlineData(1ul, 2ul, 2ul, true, 2ul)] // term mismatch at index 2
    [InlineData(3ul, 3ul, 3ul, true, 2ul)] // index 3 is missing: the hint is our last index
    public void Follower_rejects_an_append_whose_previous_entry_does_not_match(ulong term, ulong index, ulong expectedIndex, bool rejected, ulong hint)
    {
        var storage = LogStorage(E(1, 1), E(2, 2));
        storage.SetHardState(new HardState { Term = 2, Commit = 1 });
        var r = NewRaft(1, [1, 2, 3], storage: storage);
        r.BecomeFollower(2, 2);
        r.Step(Msg(2, 1, MessageType.MsgApp, term: 2, logTerm: term, index: index));
        var response = Assert.Single(Read(r));
        Assert.Equal(MessageType.MsgAppResp, response.Type);
        Assert.Equal(expectedIndex, response.Index);
        Assert.Equal(rejected, response.Reject);
        Assert.Equal(hint, response.RejectHint);
    }

    [Fact]
    public void Leader_backs_off_next_index_with_the_reject_hint_in_one_step()
    {
        var storage = LogStorage(Enumerable.Range(1, 10).Select(i => E(1, (ulong)i)).ToArray());
        storage.SetHardState(new HardState { Term = 1 });
        var r = NewRaft(1, [1, 2], storage: storage);
        r.BecomeCandidate();
        r.BecomeLeader(); // last index 11
        Read(r);

        // The follower has only 3 entries: it rejects the probe at 10 and hints 3.
        r.Step(Msg(2, 1, MessageType.MsgAppResp, term: r.Term, index: 10, reject: true) is var m ? WithHint(m, 3) : m);
        var probe = Assert.Single(Read(r));
        Assert.Equal(MessageType.MsgApp, probe.Type);
        Assert.Equal(3ul, probe.Index);
        Assert.Equal(1ul, probe.LogTerm);
    }

    private static Message WithHint(Message m, ulong hint)
    {
        m.RejectHint = hint;
        return m;
    }

    [Fact]
    public void New_leader_appends_an_empty_entry_of_its_term()
    {
        var r = NewRaft(1, [1, 2, 3]);
        r.BecomeCandidate();
        r.BecomeLeader();
        var entry = Assert.Single(r.Log.UnstableEntries());
        Assert.Equal(1ul, entry.Term);
        Assert.Equal(1ul, entry.Index);
        Assert.True(entry.Data.IsEmpty);
    }

    [Fact]
    public void Pre_vote_does_not_raise_the_term_until_a_majority_grants_it()
    {
        var r = NewRaft(1, [1, 2, 3], preVote: true);
        r.Step(new Message { From = 1, To = 1, Type = MessageType.MsgHup });
        Assert.Equal(RaftState.PreCandidate, r.State);
        Assert.Equal(0ul, r.Term);
        var preVotes = Read(r);
        Assert.All(preVotes, m =>
        {
            Assert.Equal(MessageType.MsgPreVote, m.Type);
            Assert.Equal(1ul, m.Term);
        });

        r.Step(Msg(2, 1, MessageType.MsgPreVoteResp, term: 1));
        Assert.Equal(RaftState.Candidate, r.State);
        Assert.Equal(1ul, r.Term);
    }

    [Fact]
    public void Pre_vote_is_rejected_by_a_member_with_a_newer_log_and_leaves_its_term_alone()
    {
        var storage = LogStorage(E(2, 1));
        storage.SetHardState(new HardState { Term = 2 });
        var r = NewRaft(1, [1, 2, 3], storage: storage, preVote: true);
        r.Step(Msg(2, 1, MessageType.MsgPreVote, term: 3, logTerm: 1, index: 5));
        var response = Assert.Single(Read(r));
        Assert.Equal(MessageType.MsgPreVoteResp, response.Type);
        Assert.True(response.Reject);
        Assert.Equal(2ul, r.Term);
    }

    [Fact]
    public void Member_in_leader_lease_ignores_vote_requests_with_check_quorum()
    {
        var r = NewRaft(1, [1, 2, 3], checkQuorum: true);
        r.BecomeFollower(1, 2);
        r.Step(Msg(3, 1, MessageType.MsgVote, term: 2, logTerm: 0, index: 0));
        Assert.Empty(Read(r));
        Assert.Equal(1ul, r.Term);
    }

    [Fact]
    public void Leader_steps_down_without_quorum_activity_with_check_quorum()
    {
        var r = NewRaft(1, [1, 2, 3], checkQuorum: true);
        r.BecomeCandidate();
        r.BecomeLeader();
        for (var i = 0; i < 9; i++)
        {
            r.Tick();
            r.Step(Msg(2, 1, MessageType.MsgHeartbeatResp, term: r.Term));
        }

        r.Tick(); // election timeout: 1 and 2 were active
        Assert.Equal(RaftState.Leader, r.State);

        for (var i = 0; i < 10; i++)
        {
            r.Tick(); // nobody answers for a whole election timeout
        }

        Assert.Equal(RaftState.Follower, r.State);
        Assert.Equal(0ul, r.Lead);
    }

    [Fact]
    public void Heartbeat_commits_up_to_the_leaders_commit_on_a_follower()
    {
        var r = NewRaft(1, [1, 2], storage: LogStorage(E(1, 1), E(1, 2), E(1, 3)));
        r.BecomeFollower(1, 2);
        r.Step(Msg(2, 1, MessageType.MsgHeartbeat, term: 1, commit: 2));
        Assert.Equal(2ul, r.Log.Committed);
        Assert.Equal(MessageType.MsgHeartbeatResp, Assert.Single(Read(r)).Type);
    }
}
