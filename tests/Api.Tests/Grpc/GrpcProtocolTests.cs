using System.Buffers;
using System.IO.Pipelines;
using Akka.Etcd.Api.Grpc;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Tests.Grpc;

public class GrpcProtocolTests
{
    private static byte[] Framed(params IMessage[] messages)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var m in messages)
            GrpcFrame.WriteMessage(buffer, m, m.CalculateSize());
        return buffer.WrittenSpan.ToArray();
    }

    private static RangeRequest Request(string key) => new() { Key = ByteString.CopyFromUtf8(key), Limit = key.Length };

    [Fact]
    public void Frame_prefix_is_flag_then_big_endian_length()
    {
        var message = Request(new string('k', 300));
        var bytes = Framed(message);
        Assert.Equal(0, bytes[0]);
        Assert.Equal(message.CalculateSize(), (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]);
        Assert.Equal(GrpcFrame.HeaderLength + message.CalculateSize(), bytes.Length);
    }

    [Fact]
    public void Parser_reads_messages_split_at_every_position()
    {
        var messages = new[] { Request("a"), new RangeRequest(), Request(new string('b', 200)) };
        var bytes = Framed(messages);
        for (var split = 0; split <= bytes.Length; split++)
        {
            var sequence = TwoSegments(bytes, split);
            var parsed = new List<RangeRequest>();
            while (GrpcFrame.TryReadMessage(ref sequence, out var compressed, out var payload))
            {
                Assert.False(compressed);
                parsed.Add(RangeRequest.Parser.ParseFrom(payload));
            }

            Assert.True(sequence.IsEmpty, $"split {split}: bytes left over");
            Assert.Equal(messages, parsed);
        }
    }

    [Fact]
    public void Parser_waits_for_an_incomplete_frame()
    {
        var bytes = Framed(Request("abc"));
        for (var length = 0; length < bytes.Length; length++)
        {
            var sequence = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.False(GrpcFrame.TryReadMessage(ref sequence, out _, out _));
            Assert.Equal(length, sequence.Length);
        }
    }

    [Fact]
    public async Task Reader_parses_messages_fed_one_byte_at_a_time()
    {
        var messages = new[] { Request("x"), Request("yy"), new RangeRequest() };
        var bytes = Framed(messages);
        var pipe = new Pipe();
        var reader = new GrpcMessageReader(pipe.Reader, 1024, null);
        var feeding = Task.Run(async () =>
        {
            foreach (var b in bytes)
                await pipe.Writer.WriteAsync(new[] { b });
            await pipe.Writer.CompleteAsync();
        });

        var parsed = new List<RangeRequest>();
        while (await reader.ReadAsync(RangeRequest.Parser, CancellationToken.None) is { } m)
            parsed.Add(m);
        await feeding;
        Assert.Equal(messages, parsed);
    }

    [Fact]
    public async Task Reader_rejects_an_oversize_message_from_its_prefix_alone()
    {
        var pipe = new Pipe();
        // Only the 5-byte prefix announcing 5000 bytes: the reader must not wait for the body.
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 0x13, 0x88 });
        var reader = new GrpcMessageReader(pipe.Reader, 4096, null);
        var e = await Assert.ThrowsAsync<EtcdException>(() => reader.ReadAsync(RangeRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RpcStatusCode.ResourceExhausted, e.Code);
        Assert.Equal("grpc: received message larger than max (5000 vs. 4096)", e.Message);
    }

    [Fact]
    public async Task Reader_rejects_compressed_messages_and_truncated_streams()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 1, 0, 0, 0, 0 });
        var e = await Assert.ThrowsAsync<EtcdException>(() =>
            new GrpcMessageReader(pipe.Reader, 4096, null).ReadAsync(RangeRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RpcStatusCode.Internal, e.Code);

        pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 1, 0, 0, 0, 0 });
        e = await Assert.ThrowsAsync<EtcdException>(() =>
            new GrpcMessageReader(pipe.Reader, 4096, "gzip").ReadAsync(RangeRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RpcStatusCode.Unimplemented, e.Code);

        pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 9, 1, 2 });
        await pipe.Writer.CompleteAsync();
        e = await Assert.ThrowsAsync<EtcdException>(() =>
            new GrpcMessageReader(pipe.Reader, 4096, null).ReadAsync(RangeRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RpcStatusCode.Internal, e.Code);
    }

    [Theory]
    [InlineData("etcdserver: no leader", "etcdserver: no leader")]
    [InlineData("100%", "100%25")]
    [InlineData("line1\nline2", "line1%0Aline2")]
    [InlineData("naïve ✓", "na%C3%AFve %E2%9C%93")]
    public void Status_message_percent_encoding_round_trips(string text, string encoded)
    {
        Assert.Equal(encoded, GrpcStatusMessage.Encode(text));
        Assert.Equal(text, GrpcStatusMessage.Decode(encoded));
    }

    [Fact]
    public void Status_message_decoding_keeps_malformed_escapes()
    {
        Assert.Equal("50%zz", GrpcStatusMessage.Decode("50%zz"));
        Assert.Equal("end%4", GrpcStatusMessage.Decode("end%4"));
    }

    [Theory]
    [InlineData(0L, "0n")]
    [InlineData(10_000L, "1000000n")]
    [InlineData(50_000_000L, "5000000u")]
    [InlineData(108_000_000_000L, "10800000m")]
    [InlineData(345_600_000_000_000L, "34560000S")]
    [InlineData(TimeSpan.TicksPerHour * 2_000_000L, "2000000H")]
    [InlineData(-10_000_000L, "0n")]
    public void Timeout_format_uses_the_finest_unit_that_fits_eight_digits(long ticks, string header) =>
        Assert.Equal(header, GrpcTimeout.Format(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void Timeout_format_rounds_up()
    {
        // 1 s + 1 tick: too long for 8 digits of ns, so microseconds, rounded up (never less time than the client has).
        Assert.Equal("1000001u", GrpcTimeout.Format(TimeSpan.FromTicks(TimeSpan.TicksPerSecond + 1)));
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("Application/GRPC; charset=utf-8", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Content_type_check(string? contentType, bool expected) =>
        Assert.Equal(expected, GrpcHeaders.IsGrpcContentType(contentType));

    private static ReadOnlySequence<byte> TwoSegments(byte[] bytes, int split)
    {
        if (split == 0 || split == bytes.Length)
            return new ReadOnlySequence<byte>(bytes);
        var first = new Segment(bytes.AsMemory(0, split), 0);
        var last = first.Append(bytes.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
