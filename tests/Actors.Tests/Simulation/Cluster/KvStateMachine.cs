using Akka.Etcd.Actors.Tests.Linearizability;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Simulation.Cluster;

/// <summary>The answer to an applied write: Delete tells whether the key existed, Cas whether the comparison held.</summary>
internal readonly record struct KvApplyResult(bool Succeeded);

/// <summary>
/// The replicated key-value store of one member: applies committed writes in index order and serves reads from its
/// current state. Each request id is applied once: a duplicated MsgProp can append the same proposal twice, and the
/// second copy must not act again after its client already got the first answer.
/// </summary>
internal sealed class KvStateMachine
{
    private readonly SortedDictionary<string, string> _data = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _appliedRequests = new(StringComparer.Ordinal);

    /// <summary>The index of the last applied entry.</summary>
    public ulong AppliedIndex { get; private set; }

    public string? Get(string key) => _data.GetValueOrDefault(key);

    /// <summary>Moves past an entry that carries no write (the empty entry of a new leader).</summary>
    public void Skip(ulong index) => Advance(index);

    /// <summary>Applies <paramref name="command"/> at <paramref name="index"/>; null when its request id was already applied.</summary>
    public KvApplyResult? Apply(ulong index, KvCommand command)
    {
        Advance(index);
        if (!_appliedRequests.Add(command.RequestId))
        {
            return null;
        }

        var current = _data.GetValueOrDefault(command.Key);
        switch (command.Kind)
        {
            case KvOperationKind.Put:
                _data[command.Key] = command.Value!;
                return new KvApplyResult(true);
            case KvOperationKind.Delete:
                return new KvApplyResult(_data.Remove(command.Key));
            case KvOperationKind.Cas:
                if (!string.Equals(current, command.Expected, StringComparison.Ordinal))
                {
                    return new KvApplyResult(false);
                }

                _data[command.Key] = command.Value!;
                return new KvApplyResult(true);
            default:
                throw new InvalidOperationException($"{command.Kind} is not a write");
        }
    }

    private void Advance(ulong index)
    {
        if (index != AppliedIndex + 1)
        {
            throw new SimulationInvariantException($"applied index {index} after {AppliedIndex}");
        }

        AppliedIndex = index;
    }

    /// <summary>A hash of the whole state (data and applied request ids), equal on members at the same applied index.</summary>
    public ulong Fingerprint()
    {
        var hash = 14695981039346656037UL;
        foreach (var (key, value) in _data)
        {
            hash = Fnv(Fnv(hash, key), value);
        }

        foreach (var id in _appliedRequests)
        {
            hash = Fnv(hash, id);
        }

        return hash;
    }

    private static ulong Fnv(ulong hash, string text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (hash ^ 0xff) * 1099511628211UL;
    }

    public ByteString ToSnapshot()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(_data.Count);
            foreach (var (key, value) in _data)
            {
                writer.Write(key);
                writer.Write(value);
            }

            writer.Write(_appliedRequests.Count);
            foreach (var id in _appliedRequests)
            {
                writer.Write(id);
            }
        }

        return ByteString.CopyFrom(buffer.ToArray());
    }

    /// <summary>The state saved in a snapshot taken at <paramref name="index"/> (an empty store at index 0).</summary>
    public static KvStateMachine FromSnapshot(ByteString data, ulong index)
    {
        var machine = new KvStateMachine { AppliedIndex = index };
        if (data.IsEmpty)
        {
            return machine;
        }

        using var reader = new BinaryReader(new MemoryStream(data.ToByteArray()));
        for (var n = reader.ReadInt32(); n > 0; n--)
        {
            machine._data[reader.ReadString()] = reader.ReadString();
        }

        for (var n = reader.ReadInt32(); n > 0; n--)
        {
            machine._appliedRequests.Add(reader.ReadString());
        }

        return machine;
    }
}
