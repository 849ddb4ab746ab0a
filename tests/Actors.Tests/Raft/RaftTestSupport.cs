using Akka.Etcd.Actors.Raft;
using Raftpb;

namespace Akka.Etcd.Actors.Tests.Raft;

internal static class RaftTestSupport
{
    public static Entry E(ulong term, ulong index, string? data = null) =>
        new() { Term = term, Index = index, Data = data is null ? Google.Protobuf.ByteString.Empty : Google.Protobuf.ByteString.CopyFromUtf8(data) };

    public static MemoryRaftLogStorage LogStorage(params Entry[] entries)
    {
        var storage = new MemoryRaftLogStorage();
        storage.Append(entries);
        return storage;
    }

    public static RaftCore NewRaft(ulong id, ulong[] peers, int election = 10, int heartbeat = 1,
        MemoryRaftLogStorage? storage = null, bool preVote = false, bool checkQuorum = false, int seed = 0) =>
        new(new RaftConfig
        {
            Id = id,
            Peers = peers,
            ElectionTick = election,
            HeartbeatTick = heartbeat,
            PreVote = preVote,
            CheckQuorum = checkQuorum,
            Seed = seed,
        }, storage ?? new MemoryRaftLogStorage());

    /// <summary>Takes the messages the core wants to send.</summary>
    public static List<Message> Read(RaftCore raft)
    {
        var messages = raft.Messages.ToList();
        raft.Messages.Clear();
        return messages;
    }

    public static Message Msg(ulong from, ulong to, MessageType type, ulong term = 0, ulong logTerm = 0, ulong index = 0,
        ulong commit = 0, bool reject = false, params Entry[] entries)
    {
        var m = new Message { From = from, To = to, Type = type, Term = term, LogTerm = logTerm, Index = index, Commit = commit, Reject = reject };
        m.Entries.AddRange(entries);
        return m;
    }
}
