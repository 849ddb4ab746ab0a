using Akka.Actor;
using Akka.Configuration;
using Akka.Etcd.Actors.Consensus;
using Akka.Etcd.Actors.Journal;
using Akka.Etcd.Actors.Lease;
using Akka.Etcd.Actors.Server;
using Akka.Etcd.Actors.Store;
using Akka.Etcd.Actors.Supervision;
using Akka.Etcd.Actors.Tests.TestKit;
using Akka.Etcd.Actors.Transport;
using System.Collections.Concurrent;
using Akka.Etcd.Protos.Errors;
using Akka.Persistence;
using Akka.TestKit;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Consensus;

/// <summary>
/// The RaftActor's waiters and reads. It keeps the proposers' waiters itself (etcd's wait registry, which replaced
/// ProposalWaiters): a proposal is answered once applied, a proposal Raft drops fails at once, and a waiter nobody
/// answers is told "request timed out" after the request timeout. A linearizable read whose ReadIndex is lost is asked
/// again after 500 ms with the same context. The RaftActor is a TestActorRef (it handles each message on the sending
/// thread) over a real data dir (Raft log, snapshot files) with TestProbes as its journal, store and lessor and a
/// capturing peer transport; its Raft tick is the <see cref="VirtualClockScheduler"/>'s, so timeouts are reached by
/// advancing virtual time one heartbeat at a time, never by waiting.
/// </summary>
public sealed class RaftActorTests : Akka.TestKit.Xunit2.TestKit
{
    private const int HeartbeatMs = 100;
    private const int ElectionMs = 1000;

    private static readonly Config SpecConfig = ActorTestConfig.VirtualTime;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "akka-etcd-raft-actor-" + Guid.NewGuid().ToString("N"));
    private readonly TestProbe _journal;
    private readonly TestProbe _store;
    private readonly TestProbe _lessor;
    private readonly JournalPilot _journalPilot = new();
    private OpenedMember? _opened;

    public RaftActorTests()
        : base(SpecConfig)
    {
        _journal = CreateTestProbe("journal");
        _store = CreateTestProbe("store");
        _lessor = CreateTestProbe("lessor");
        _journal.SetAutoPilot(_journalPilot);
    }

    private VirtualClockScheduler Clock => (VirtualClockScheduler)Sys.Scheduler;

    private static readonly ServerOptions BaseOptions = new()
    {
        HeartbeatIntervalMs = HeartbeatMs,
        ElectionTimeoutMs = ElectionMs,
        InitialClusterToken = "raft-actor-spec",
    };

    /// <summary>Request timeout in Raft ticks: etcd's 5 s + 2 election timeouts, one tick per heartbeat.</summary>
    private static long RequestTimeoutTicks =>
        ((long)RaftActor.RequestTimeout(BaseOptions).TotalMilliseconds + HeartbeatMs - 1) / HeartbeatMs;

    private IActorRef StartRaft(int members, IRaftTransport? transport = null, bool walJournal = false)
    {
        var names = Enumerable.Range(1, members).Select(i => $"m{i}").ToList();
        var options = BaseOptions with
        {
            Name = "m1",
            DataDir = _dir,
            InitialCluster = names.ToDictionary(n => n, n => (IReadOnlyList<string>)[$"http://127.0.0.1:{24800 + int.Parse(n[1..])}"]),
            AdvertisePeerUrls = ["http://127.0.0.1:24801"],
        };
        _opened = OpenedMember.OpenAsync(Sys, options, NullLoggerFactory.Instance).GetAwaiter().GetResult();
        // The RaftActor writes to a probe in the journal plugin's place (the log was replayed by the real one).
        var journal = new RaftLogJournal(_journal.Ref, "probe", _opened.Journal.PersistenceId, _opened.Journal.NextSequenceNr - 1, new EntrySequenceNrs())
        {
            KeepsLogOpen = walJournal, // true: written as the WAL journal is, with AppendLog
        };
        var setup = new RaftActorSetup(_opened.Node, _opened.Storage, _opened.Status, options, _opened.Snapshots,
            transport, journal, _store.Ref, _lessor.Ref);
        return ActorOfAsTestActorRef<RaftActor>(RaftActor.Props(setup), "raft"); // started synchronously, on the calling thread
    }

    private ulong MemberIdOf(string name) => _opened!.BootstrapMembers.Single(m => m.Name == name).ID;

    private static RaftProtocol.Propose PutProposal(ulong id, string key)
    {
        var request = new InternalRaftRequest
        {
            ID = id,
            Header = new RequestHeader { ID = id },
            Put = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("v") },
        };
        return new RaftProtocol.Propose(id, request.ToByteString());
    }

    private static void Drain(TestProbe probe)
    {
        while (probe.HasMessages)
        {
            probe.ReceiveOne(TimeSpan.Zero);
        }
    }

    /// <summary>Advances one heartbeat interval: exactly one Raft tick, handled before this returns.</summary>
    private void AdvanceTick() => Clock.Advance(TimeSpan.FromMilliseconds(HeartbeatMs));

    [Fact]
    public async Task Ticks_fired_in_a_burst_after_a_stall_count_as_one_so_a_follower_does_not_start_an_election()
    {
        var raft = StartRaft(members: 3);
        var term = _opened!.Status.Term;

        // Three election timeouts' worth of ticks at one instant: what Akka's scheduler fires as it catches up after a
        // stall of its thread or of the process. Counted one by one they would start an election.
        for (var i = 0; i < 3 * ElectionMs / HeartbeatMs; i++)
        {
            raft.Tell(RaftProtocol.Tick.Instance);
        }
        var status = await raft.Ask<Akka.Etcd.Actors.Raft.RaftStatus>(RaftProtocol.GetStatus.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(Akka.Etcd.Actors.Raft.RaftState.Follower, status.State);
        Assert.Equal(term, status.Term);

        // Ticks a heartbeat interval apart count: within two election timeouts without a leader it campaigns.
        for (var i = 0; i < 2 * ElectionMs / HeartbeatMs; i++)
        {
            AdvanceTick();
        }
        Assert.True(_opened.Status.Term > term, $"term {_opened.Status.Term} after {term}");
    }

    [Fact]
    public void A_proposal_is_handed_to_the_store_with_its_waiter_once_durable_and_answered_when_applied()
    {
        var raft = StartRaft(members: 1);
        AwaitCondition(() => _opened!.Status.IsLeader); // a single voter elects itself at once
        _lessor.ExpectMsg<LeaseProtocol.Promote>(p => p.ExtendMs == ElectionMs);
        Drain(_store);
        Drain(_journal);

        _journalPilot.Answering = false;
        var proposer = CreateTestProbe();
        var propose = PutProposal(0x1234, "k");
        raft.Tell(propose, proposer.Ref);

        // The entry goes to the journal; nothing is applied before the journal says it is durable.
        var save = _journal.ExpectMsg<WriteMessages>();
        var write = Assert.IsType<AtomicWrite>(Assert.Single(save.Messages));
        var entry = Assert.Single(((IEnumerable<IPersistentRepresentation>)write.Payload).Select(e => e.Payload).OfType<Entry>());
        Assert.Equal(propose.Data, entry.Data);
        Assert.False(_store.HasMessages);
        AdvanceTick(); // input that arrives meanwhile waits (stashed), the round is not re-run
        Assert.False(_store.HasMessages);

        _journalPilot.Answering = true;
        _journal.Reply(WriteMessagesSuccessful.Instance);
        var apply = _store.FishForMessage<StoreProtocol.Apply>(a => a.Replies?.ContainsKey(propose.Id) == true);
        Assert.Contains(apply.Entries, e => e.Index == entry.Index && e.Data == propose.Data);
        Assert.Equal(proposer.Ref, apply.Replies![propose.Id]);

        // The store answers the proposer directly with the apply's response.
        var response = new PutResponse { Header = new ResponseHeader { Revision = 2 } };
        apply.Replies[propose.Id].Tell(response);
        Assert.Same(response, proposer.ExpectMsg<PutResponse>());

        // The waiter went with the entry: no "request timed out" for it later.
        for (var i = 0; i <= RequestTimeoutTicks; i++)
        {
            AdvanceTick();
        }
        Assert.False(proposer.HasMessages);
    }

    [Fact]
    public void A_follower_applies_a_newly_committed_entry_without_waiting_for_an_fsync_of_the_commit_index()
    {
        var transport = new CapturingTransport();
        var raft = StartRaft(members: 3, transport, walJournal: true);
        var leader = MemberIdOf("m2");
        var self = _opened!.Status.MemberId;
        raft.Tell(new RaftProtocol.Step(new Message { Type = MessageType.MsgHeartbeat, From = leader, To = self, Term = 2, Commit = 3 }));
        AwaitCondition(() => transport.Take(MessageType.MsgHeartbeatResp).Count > 0);
        Drain(_journal);
        Drain(_store);

        // An entry: appended and fsynced (a synced AppendLog) before the follower acknowledges it.
        var entry = new Entry { Term = 2, Index = 4, Data = PutProposal(0x77, "k").Data };
        raft.Tell(new RaftProtocol.Step(new Message
        {
            Type = MessageType.MsgApp, From = leader, To = self, Term = 2, Index = 3, LogTerm = 1, Commit = 3, Entries = { entry },
        }));
        var append = _journal.ExpectMsg<WalJournal.AppendLog>();
        Assert.True(append.Sync);
        AwaitCondition(() => transport.Take(MessageType.MsgAppResp).Any(r => r.Index == 4 && !r.Reject));

        // The leader says it is committed: the commit index alone moved, so the HardState is appended without an fsync
        // (etcd's raft.MustSync) and the entry is applied without waiting for the journal.
        _journalPilot.Answering = false;
        raft.Tell(new RaftProtocol.Step(new Message { Type = MessageType.MsgHeartbeat, From = leader, To = self, Term = 2, Commit = 4 }));
        var commit = _journal.ExpectMsg<WalJournal.AppendLog>();
        Assert.False(commit.Sync);
        var hardState = Assert.IsType<HardState>(Assert.Single((IEnumerable<IPersistentRepresentation>)commit.Write.Payload).Payload);
        Assert.Equal((2UL, 4UL), (hardState.Term, hardState.Commit));
        var apply = _store.FishForMessage<StoreProtocol.Apply>(a => a.Entries.Any(e => e.Index == 4));
        Assert.Equal(entry.Data, apply.Entries.Single(e => e.Index == 4).Data);
    }

    [Fact]
    public void A_proposal_raft_drops_for_lack_of_a_leader_fails_at_once_with_no_leader()
    {
        var raft = StartRaft(members: 3); // alone: no peer will ever vote
        Assert.False(_opened!.Status.HasLeader);
        Drain(_journal);

        var proposer = CreateTestProbe();
        raft.Tell(PutProposal(0x42, "k"), proposer.Ref);

        // At once: no tick has passed.
        var failure = proposer.ExpectMsg<Status.Failure>();
        var error = Assert.IsType<EtcdException>(failure.Cause);
        Assert.Equal((EtcdErrors.NoLeader.Code, "etcdserver: no leader"), (error.Code, error.Message));
        Assert.False(_journal.HasMessages); // never appended

        // And no waiter was kept for it.
        for (var i = 0; i <= RequestTimeoutTicks; i++)
        {
            AdvanceTick();
        }
        Assert.False(proposer.HasMessages);
    }

    [Fact]
    public void A_waiter_nobody_answers_is_told_request_timed_out_after_the_request_timeout()
    {
        var raft = StartRaft(members: 3);
        var leader = MemberIdOf("m2");
        var heartbeat = new Message { Type = MessageType.MsgHeartbeat, From = leader, To = _opened!.Status.MemberId, Term = 2 };
        raft.Tell(new RaftProtocol.Step(heartbeat));
        Assert.Equal(leader, _opened.Status.Leader);

        // Forwarded to the leader, which never commits them (the messages go nowhere here). The second is proposed
        // ten ticks after the first: each waiter has its own deadline.
        const int later = 10;
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        raft.Tell(PutProposal(0x77, "k"), first.Ref);
        for (var tick = 1; tick < RequestTimeoutTicks + later; tick++)
        {
            AdvanceTick();
            raft.Tell(new RaftProtocol.Step(heartbeat)); // the leader stays known
            if (tick == later)
            {
                raft.Tell(PutProposal(0x78, "k"), second.Ref);
            }
            if (tick == RequestTimeoutTicks)
            {
                AssertTimedOut(first);
            }
            Assert.False(first.HasMessages || second.HasMessages, $"answered after {tick} ticks, before the request timeout");
        }
        AdvanceTick();
        AssertTimedOut(second);
        Assert.Equal(70, RequestTimeoutTicks); // 7 s at 100 ms per tick

        static void AssertTimedOut(TestProbe proposer)
        {
            var error = Assert.IsType<EtcdException>(proposer.ExpectMsg<Status.Failure>().Cause);
            Assert.Equal((EtcdErrors.Timeout.Code, "etcdserver: request timed out"), (error.Code, error.Message));
        }
    }

    [Fact]
    public void A_linearizable_read_whose_read_index_is_lost_asks_again_with_the_same_context_after_500_ms()
    {
        var transport = new CapturingTransport();
        var raft = StartRaft(members: 3, transport);
        var leader = MemberIdOf("m2");
        var heartbeat = new Message { Type = MessageType.MsgHeartbeat, From = leader, To = _opened!.Status.MemberId, Term = 2 };
        raft.Tell(new RaftProtocol.Step(heartbeat));
        var reader = CreateTestProbe();
        var query = new StoreProtocol.Range(new RangeRequest { Key = ByteString.CopyFromUtf8("k") });

        raft.Tell(new RaftProtocol.LinearizableRead(query), reader.Ref);
        var asked = Assert.Single(transport.Take(MessageType.MsgReadIndex));
        Assert.Equal(leader, asked.To);
        var context = Assert.Single(asked.Entries).Data;

        // Lost on the way: nothing for 500 ms (5 ticks), then the same context again.
        var retryTicks = RaftActor.ReadIndexRetryMs / HeartbeatMs;
        for (var tick = 1; tick < retryTicks; tick++)
        {
            AdvanceTick();
            raft.Tell(new RaftProtocol.Step(heartbeat));
            Assert.Empty(transport.Take(MessageType.MsgReadIndex));
        }
        AdvanceTick();
        Assert.Equal(context, Assert.Single(Assert.Single(transport.Take(MessageType.MsgReadIndex)).Entries).Data);

        // The leader's answer hands the query to the store, to run once the read index is applied, answering the reader.
        var answer = new Message { Type = MessageType.MsgReadIndexResp, From = leader, To = asked.From, Term = 2, Index = 3, Entries = { new Entry { Data = context } } };
        raft.Tell(new RaftProtocol.Step(answer));
        var run = _store.FishForMessage<StoreProtocol.RunQuery>(_ => true);
        Assert.Equal((3UL, (StoreProtocol.Query)query), (run.MinAppliedIndex, run.Query));
        Assert.Equal(reader.Ref, _store.LastSender);

        raft.Tell(new RaftProtocol.Step(answer)); // the answer to the retry: already done
        Assert.False(_store.HasMessages);
        Assert.False(reader.HasMessages);
    }

    [Fact]
    public void Reads_arriving_while_a_read_index_round_is_out_share_the_next_round()
    {
        var transport = new CapturingTransport();
        var raft = StartRaft(members: 3, transport);
        var leader = MemberIdOf("m2");
        raft.Tell(new RaftProtocol.Step(new Message { Type = MessageType.MsgHeartbeat, From = leader, To = _opened!.Status.MemberId, Term = 2 }));
        var readers = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToList();
        var query = new StoreProtocol.Range(new RangeRequest { Key = ByteString.CopyFromUtf8("k") });
        Message Answer(Message asked, ulong index) => new()
        {
            Type = MessageType.MsgReadIndexResp, From = leader, To = asked.From, Term = 2, Index = index,
            Entries = { new Entry { Data = Assert.Single(asked.Entries).Data } },
        };

        raft.Tell(new RaftProtocol.LinearizableRead(query), readers[0].Ref);
        var first = Assert.Single(transport.Take(MessageType.MsgReadIndex));
        raft.Tell(new RaftProtocol.LinearizableRead(query), readers[1].Ref);
        raft.Tell(new RaftProtocol.LinearizableRead(query), readers[2].Ref);
        Assert.Empty(transport.Take(MessageType.MsgReadIndex)); // one round at a time

        // The first round's answer runs its read and starts one round for the two that waited.
        raft.Tell(new RaftProtocol.Step(Answer(first, 3)));
        Assert.Equal(3UL, _store.FishForMessage<StoreProtocol.RunQuery>(_ => true).MinAppliedIndex);
        Assert.Equal(readers[0].Ref, _store.LastSender);
        var second = Assert.Single(transport.Take(MessageType.MsgReadIndex));
        Assert.NotEqual(Assert.Single(first.Entries).Data, Assert.Single(second.Entries).Data);

        raft.Tell(new RaftProtocol.Step(Answer(second, 4)));
        var served = new HashSet<IActorRef>();
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(4UL, _store.FishForMessage<StoreProtocol.RunQuery>(_ => true).MinAppliedIndex);
            served.Add(_store.LastSender);
        }
        Assert.Equal(new HashSet<IActorRef> { readers[1].Ref, readers[2].Ref }, served);
    }

    [Fact]
    public void A_read_in_flight_when_the_leader_changes_fails_with_leader_changed_and_without_a_leader_at_once()
    {
        var raft = StartRaft(members: 3, new CapturingTransport());
        var reader = CreateTestProbe();
        var query = new StoreProtocol.Range(new RangeRequest { Key = ByteString.CopyFromUtf8("k") });
        raft.Tell(new RaftProtocol.LinearizableRead(query), reader.Ref);
        var noLeader = Assert.IsType<EtcdException>(reader.ExpectMsg<Status.Failure>().Cause);
        Assert.Equal(EtcdErrors.NoLeader.Message, noLeader.Message);

        var self = _opened!.Status.MemberId;
        raft.Tell(new RaftProtocol.Step(new Message { Type = MessageType.MsgHeartbeat, From = MemberIdOf("m2"), To = self, Term = 2 }));
        raft.Tell(new RaftProtocol.LinearizableRead(query), reader.Ref);
        Assert.False(reader.HasMessages);
        raft.Tell(new RaftProtocol.Step(new Message { Type = MessageType.MsgHeartbeat, From = MemberIdOf("m3"), To = self, Term = 3 }));
        var changed = Assert.IsType<EtcdException>(reader.ExpectMsg<Status.Failure>().Cause);
        Assert.Equal(EtcdErrors.LeaderChanged.Message, changed.Message);
    }

    [Fact]
    public void Waiters_are_told_the_server_stopped_when_the_raft_actor_stops()
    {
        var raft = StartRaft(members: 3);
        var leader = MemberIdOf("m2");
        raft.Tell(new RaftProtocol.Step(new Message { Type = MessageType.MsgHeartbeat, From = leader, To = _opened!.Status.MemberId, Term = 2 }));
        var proposer = CreateTestProbe();
        raft.Tell(PutProposal(0x99, "k"), proposer.Ref);

        Sys.Stop(raft);

        var error = Assert.IsType<EtcdException>(proposer.ExpectMsg<Status.Failure>().Cause);
        Assert.Equal(EtcdErrors.Stopped.Message, error.Message);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _opened is not null)
        {
            _opened.Store.Dispose();
        }
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A peer transport that keeps what the RaftActor sends (peers are never reached).</summary>
    private sealed class CapturingTransport : IRaftTransport
    {
        private readonly ConcurrentQueue<Message> _sent = new();

        public ulong LocalId => 0;

        public event Action<Message>? Received { add { } remove { } }

        public event Action<ulong>? Unreachable { add { } remove { } }

        public event Action<ulong, bool>? SnapshotStatus { add { } remove { } }

        public event Action<ulong>? RemovedFromCluster { add { } remove { } }

        public Func<Message, Stream>? OpenSnapshot { get; set; }

        public Func<Message, string, Task>? SnapshotReceived { get; set; }

        public Func<ulong, bool>? IsMemberRemoved { get; set; }

        public IReadOnlyList<ulong> ActivePeers => [];

        /// <summary>Takes every message sent so far and returns those of <paramref name="type"/>.</summary>
        public List<Message> Take(MessageType type)
        {
            var taken = new List<Message>();
            while (_sent.TryDequeue(out var message))
            {
                if (message.Type == type)
                {
                    taken.Add(message);
                }
            }
            return taken;
        }

        public void Send(IReadOnlyList<Message> messages)
        {
            foreach (var message in messages)
            {
                _sent.Enqueue(message);
            }
        }

        public void Start()
        {
        }

        public Task StopAsync() => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public void AddPeer(ulong id, IReadOnlyList<string> peerUrls)
        {
        }

        public void RemovePeer(ulong id)
        {
        }

        public void UpdatePeer(ulong id, IReadOnlyList<string> peerUrls)
        {
        }

        public bool HasPeer(ulong id) => true;

        public bool IsActive(ulong id) => true;

        public DateTime? ActiveSince(ulong id) => null;
    }

    /// <summary>Answers every WriteMessages with WriteMessagesSuccessful at once (as a journal does once the write is
    /// durable), unless turned off.</summary>
    private sealed class JournalPilot : AutoPilot
    {
        public volatile bool Answering = true;

        public override AutoPilot Run(IActorRef sender, object message)
        {
            if (Answering && message is WriteMessages write)
            {
                write.PersistentActor.Tell(WriteMessagesSuccessful.Instance);
            }
            if (Answering && message is WalJournal.AppendLog { Sync: true } append)
            {
                append.ReplyTo.Tell(WriteMessagesSuccessful.Instance);
            }
            return this;
        }
    }
}
