namespace Akka.Etcd.Actors.Consensus;

/// <summary>
/// Reads the request ID of a proposed entry without decoding it: the <c>ID</c> field (number 1, varint) of an encoded
/// <c>InternalRaftRequest</c> (etcdserverpb/raft_internal.proto). The RaftActor uses it to find the proposer waiting
/// for a committed entry, as etcd's apply loop does with <c>wait.Trigger(id)</c>.
/// </summary>
public static class ProposalIds
{
    /// <summary>
    /// The value of field 1 when it is a varint, else 0 (0 is never a proposal ID). Other fields before it are skipped;
    /// malformed input gives 0.
    /// </summary>
    public static ulong Read(ReadOnlySpan<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            if (!TryReadVarint(message, ref position, out var tag))
            {
                return 0;
            }
            var field = tag >> 3;
            var wireType = (int)(tag & 7);
            if (field == 1 && wireType == 0)
            {
                return TryReadVarint(message, ref position, out var id) ? id : 0;
            }
            switch (wireType)
            {
                case 0:
                    if (!TryReadVarint(message, ref position, out _))
                    {
                        return 0;
                    }
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    if (!TryReadVarint(message, ref position, out var length) || length > (ulong)(message.Length - position))
                    {
                        return 0;
                    }
                    position += (int)length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    return 0;
            }
        }
        return 0;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }
        return false;
    }
}
