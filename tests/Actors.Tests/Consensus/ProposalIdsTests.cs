using Akka.Etcd.Actors.Consensus;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Actors.Tests.Consensus;

/// <summary>ProposalIds.Read: the ID (field 1, varint) of an encoded InternalRaftRequest, found without decoding it.</summary>
public sealed class ProposalIdsTests
{
    [Theory]
    [InlineData(1UL)]
    [InlineData(127UL)]
    [InlineData(128UL)]
    [InlineData(0x8e9e_05c5_2164_694dUL)]
    [InlineData(ulong.MaxValue)]
    public void Reads_the_id_of_an_encoded_request(ulong id)
    {
        var request = new InternalRaftRequest { ID = id, Header = new RequestHeader { ID = id }, Put = new PutRequest { Key = ByteString.CopyFromUtf8("k") } };
        Assert.Equal(id, ProposalIds.Read(request.ToByteArray()));
    }

    [Fact]
    public void Fields_of_every_wire_type_before_field_1_are_skipped()
    {
        var bytes = Encode(output =>
        {
            output.WriteTag(100, WireFormat.WireType.LengthDelimited); // header
            output.WriteBytes(ByteString.CopyFrom(new byte[] { 8, 1, 8, 2 }));
            output.WriteTag(2, WireFormat.WireType.Varint);
            output.WriteUInt64(ulong.MaxValue);
            output.WriteTag(3, WireFormat.WireType.Fixed64);
            output.WriteFixed64(0x0808080808080808);
            output.WriteTag(4, WireFormat.WireType.Fixed32);
            output.WriteFixed32(0x08080808);
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteUInt64(4242);
            output.WriteTag(1, WireFormat.WireType.Varint); // a later value of field 1 is not read
            output.WriteUInt64(7);
        });
        Assert.Equal(4242UL, ProposalIds.Read(bytes));
    }

    [Fact]
    public void Field_1_with_another_wire_type_is_skipped_like_any_field()
    {
        var bytes = Encode(output =>
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(new byte[] { 8, 99 }));
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteUInt64(5);
        });
        Assert.Equal(5UL, ProposalIds.Read(bytes));
        Assert.Equal(0UL, ProposalIds.Read(Encode(output =>
        {
            output.WriteTag(1, WireFormat.WireType.Fixed64);
            output.WriteFixed64(5);
        })));
    }

    [Theory]
    [InlineData(new byte[0])] // empty: no ID at all
    [InlineData(new byte[] { 0x08 })] // tag of field 1, no value
    [InlineData(new byte[] { 0x08, 0x80, 0x80 })] // truncated varint
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // varint longer than 10 bytes
    [InlineData(new byte[] { 0x80 })] // truncated tag
    [InlineData(new byte[] { 0x12, 0x05, 0x01 })] // length-delimited field longer than the input
    [InlineData(new byte[] { 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x08, 0x01 })] // length past the end (then a valid field 1)
    [InlineData(new byte[] { 0x0B, 0x08, 0x01 })] // wire type 3 (start group): not in InternalRaftRequest
    [InlineData(new byte[] { 0x0E, 0x08, 0x01 })] // wire type 6: invalid
    [InlineData(new byte[] { 0x11, 0x01, 0x02 })] // fixed64 cut short
    [InlineData(new byte[] { 0x10, 0x01 })] // only field 2
    public void Malformed_or_id_less_input_gives_0(byte[] bytes)
    {
        Assert.Equal(0UL, ProposalIds.Read(bytes));
    }

    [Fact]
    public void Random_requests_of_every_kind_give_their_id()
    {
        var random = new Random(20261203);
        for (var i = 0; i < 2_000; i++)
        {
            var request = RandomRequest(random);
            var bytes = request.ToByteArray();
            Assert.Equal(request.ID, ProposalIds.Read(bytes));
        }
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 40)];
            random.NextBytes(bytes);
            var id = ProposalIds.Read(bytes);
            if (bytes.Length > 0 && bytes[0] == 0x08 && TryDecodeLeadingId(bytes, out var expected))
            {
                Assert.Equal(expected, id); // when the input starts with a well-formed field 1, that is what is read
            }
        }
    }

    private static InternalRaftRequest RandomRequest(Random random)
    {
        var id = random.Next(4) switch
        {
            0 => (ulong)random.Next(1, 128),
            1 => (ulong)random.NextInt64(),
            2 => ulong.MaxValue - (ulong)random.Next(1000),
            _ => ((ulong)random.Next(1, 0xFFFF) << 48) | (ulong)random.NextInt64(1L << 48),
        };
        var request = new InternalRaftRequest { ID = id };
        if (random.Next(2) == 0)
        {
            request.Header = new RequestHeader { ID = id, Username = RandomText(random), AuthRevision = (ulong)random.Next() };
        }
        switch (random.Next(7))
        {
            case 0:
                request.Put = new PutRequest { Key = RandomBytes(random), Value = RandomBytes(random), Lease = random.NextInt64(), PrevKv = random.Next(2) == 0 };
                break;
            case 1:
                request.DeleteRange = new DeleteRangeRequest { Key = RandomBytes(random), RangeEnd = RandomBytes(random) };
                break;
            case 2:
                request.Txn = new TxnRequest
                {
                    Compare = { new Compare { Key = RandomBytes(random), Version = random.NextInt64(), Target = Compare.Types.CompareTarget.Version } },
                    Success = { new RequestOp { RequestPut = new PutRequest { Key = RandomBytes(random), Value = RandomBytes(random) } } },
                    Failure = { new RequestOp { RequestRange = new RangeRequest { Key = RandomBytes(random) } } },
                };
                break;
            case 3:
                request.LeaseGrant = new LeaseGrantRequest { ID = random.NextInt64(), TTL = random.Next() };
                break;
            case 4:
                request.LeaseRevoke = new LeaseRevokeRequest { ID = random.NextInt64() };
                break;
            case 5:
                request.Compaction = new CompactionRequest { Revision = random.NextInt64(), Physical = random.Next(2) == 0 };
                break;
            default:
                break; // a quorum no-op: the ID alone
        }
        return request;
    }

    private static ByteString RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 300)];
        random.NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }

    private static string RandomText(Random random) => new(Enumerable.Range(0, random.Next(0, 20)).Select(_ => (char)random.Next('a', 'z' + 1)).ToArray());

    private static bool TryDecodeLeadingId(byte[] bytes, out ulong id)
    {
        id = 0;
        var shift = 0;
        for (var i = 1; i < bytes.Length && shift < 64; i++, shift += 7)
        {
            id |= (ulong)(bytes[i] & 0x7F) << shift;
            if (bytes[i] < 0x80)
            {
                return true;
            }
        }
        return false;
    }

    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }
}
