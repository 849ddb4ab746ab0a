using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Akka.Etcd.Api.Hosting;
using Akka.Etcd.Api.Tests.Grpc;
using Xunit.Abstractions;
using static Akka.Etcd.Api.Tests.Hosting.Frames;
using static Akka.Etcd.Api.Tests.Hosting.HpackBuild;

namespace Akka.Etcd.Api.Tests.Hosting;

public class Http2AuthorityRewritingReaderTests(ITestOutputHelper output)
{
    private const string Url = "http://127.0.0.1:2379";
    private const string Authority = "127.0.0.1:2379";

    private static readonly byte[] ClientSettings = Frame(Settings, 0, 0, [0, 3, 0, 0, 0, 100]);
    private static readonly byte[] WindowUpdateFrame = Frame(WindowUpdate, 0, 0, [0, 0x0f, 0, 0]);
    private static readonly byte[] PingFrame = Frame(Ping, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]);
    private static readonly byte[] PriorityBytes = [0x80, 0, 0, 0x01, 0x0f]; // exclusive, depends on stream 1, weight 16

    /// <summary>A grpc-go request block; the :authority value Huffman-coded like everything else unless told otherwise.</summary>
    private static byte[] Request(string authority, bool authorityHuffman = true) => Block(
        Indexed(3), Indexed(6),
        Literal(IncrementalIndexing, 4, "/etcdserverpb.Maintenance/Status", true),
        Literal(IncrementalIndexing, 1, authority, authorityHuffman),
        Literal(IncrementalIndexing, 31, "application/grpc", true),
        Literal(IncrementalIndexing, "te", false, "trailers", true));

    private static readonly byte[] Sent = Request(Url);
    private static readonly byte[] Received = Request(Authority, authorityHuffman: false);
    private static readonly byte[] SecondRequest = Block(Indexed(3), Indexed(6), Indexed(65), Indexed(64), Indexed(63), Indexed(62));

    private static byte[] Message(int length) => Frame(Data, EndStream, 1, Enumerable.Range(0, length).Select(i => (byte)i).ToArray());

    public static TheoryData<string, byte[], byte[]> Streams()
    {
        var data = new TheoryData<string, byte[], byte[]>();

        data.Add("two requests, the first rewritten, the second by dynamic index",
            Concat(Preface, ClientSettings, WindowUpdateFrame, Frame(Headers, EndHeaders, 1, Sent), Message(7),
                Frame(Headers, EndHeaders, 3, SecondRequest), Message(5), PingFrame),
            Concat(Preface, ClientSettings, WindowUpdateFrame, Frame(Headers, EndHeaders, 1, Received), Message(7),
                Frame(Headers, EndHeaders, 3, SecondRequest), Message(5), PingFrame));

        data.Add("padding dropped, priority and END_STREAM kept",
            Concat(Preface, ClientSettings,
                Frame(Headers, Padded | PriorityFlag | EndHeaders | EndStream, 3, Concat([4], PriorityBytes, Sent, [0, 0, 0, 0])), PingFrame),
            Concat(Preface, ClientSettings,
                Frame(Headers, PriorityFlag | EndHeaders | EndStream, 3, Concat(PriorityBytes, Received)), PingFrame));

        var padded = Frame(Headers, Padded | EndHeaders, 1, Concat([2], Request("127.0.0.1:1"), [0, 0]));
        data.Add("a padded block without a URL passes as it is", Concat(Preface, padded, PingFrame), Concat(Preface, padded, PingFrame));

        var authorityAt = Sent.Length - 30; // inside the Huffman-coded :authority value
        data.Add("CONTINUATION frames reassembled into one HEADERS frame",
            Concat(Preface, ClientSettings,
                Frame(Headers, Padded | EndStream, 1, Concat([1], Sent[..authorityAt], [0])),
                Frame(Continuation, 0, 1, Sent[authorityAt..(authorityAt + 3)]),
                Frame(Continuation, 0, 1, []),
                Frame(Continuation, EndHeaders, 1, Sent[(authorityAt + 3)..]),
                Message(3)),
            Concat(Preface, ClientSettings, Frame(Headers, EndHeaders | EndStream, 1, Received), Message(3)));

        var split = Concat(
            Frame(Headers, 0, 1, Request("127.0.0.1:1")[..10]), Frame(Continuation, EndHeaders, 1, Request("127.0.0.1:1")[10..]));
        data.Add("CONTINUATION frames without a URL pass as they are", Concat(Preface, split, Message(2)), Concat(Preface, split, Message(2)));

        return data;
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Frames_split_at_every_octet_boundary_come_out_the_same(string description, byte[] input, byte[] expected)
    {
        Assert.NotEmpty(description);
        for (var cut = 1; cut < input.Length; cut++)
            Assert.Equal(expected, await RunAsync(input, [cut]));
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Frames_written_one_octet_at_a_time_come_out_the_same(string description, byte[] input, byte[] expected)
    {
        Assert.NotEmpty(description);
        Assert.Equal(expected, await RunAsync(input, Enumerable.Range(1, input.Length - 1)));
        Assert.Equal(expected, await RunAsync(input, []));
    }

    [Fact]
    public async Task A_block_too_large_to_reassemble_passes_as_it_is_and_later_blocks_are_still_rewritten()
    {
        const int maxFrameSize = 100;
        var large = Block(Sent, Literal(WithoutIndexing, "x-large", false, new string('x', 60), false));
        Assert.InRange(large.Length, maxFrameSize + 1, 2 * maxFrameSize - 30);
        var input = Concat(Preface,
            Frame(Headers, 0, 1, large[..30]), Frame(Continuation, 0, 1, large[30..70]), Frame(Continuation, EndHeaders, 1, large[70..]),
            Frame(Headers, EndHeaders, 3, Sent), PingFrame);
        var expected = Concat(Preface,
            Frame(Headers, 0, 1, large[..30]), Frame(Continuation, 0, 1, large[30..70]), Frame(Continuation, EndHeaders, 1, large[70..]),
            Frame(Headers, EndHeaders, 3, Received), PingFrame);

        Assert.Equal(expected, await RunAsync(input, [], maxFrameSize));
        Assert.Equal(expected, await RunAsync(input, Enumerable.Range(1, input.Length - 1), maxFrameSize));
    }

    [Fact]
    public async Task A_rewritten_block_that_would_not_fit_one_frame_passes_as_it_is()
    {
        const int maxFrameSize = 100;
        var block = Literal(IncrementalIndexing, 1, "http://" + new string('a', 110) + ":1", true); // 'a' has a 5-bit code
        Assert.InRange(block.Length, 50, maxFrameSize);
        var input = Concat(Preface, Frame(Headers, EndHeaders, 1, block), Frame(Headers, EndHeaders, 3, Sent), PingFrame);
        var expected = Concat(Preface, Frame(Headers, EndHeaders, 1, block), Frame(Headers, EndHeaders, 3, Received), PingFrame);
        Assert.Equal(expected, await RunAsync(input, [30, 60], maxFrameSize));
    }

    public static TheoryData<string, byte[]> Malformed() => new()
    {
        { "invalid HPACK (index 0)", Frame(Headers, EndHeaders, 1, [0x80]) },
        { "a frame over the maximum size", Frame(Headers, EndHeaders, 1, new byte[101]) },
        { "a pad length beyond the payload", Frame(Headers, Padded | EndHeaders, 1, [9, 0x82]) },
        { "a padded frame without a pad length", Frame(Headers, Padded | EndHeaders, 1, []) },
        { "a priority frame too short for its fields", Frame(Headers, PriorityFlag | EndHeaders, 1, [0, 0, 1]) },
        { "a missing CONTINUATION", Concat(Frame(Headers, 0, 1, Sent[..5]), Message(1)) },
        { "a CONTINUATION of another stream", Concat(Frame(Headers, 0, 1, Sent[..5]), Frame(Continuation, EndHeaders, 3, Sent[5..])) },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task After_anything_malformed_the_connection_passes_through_untouched(string description, byte[] malformed)
    {
        Assert.NotEmpty(description);
        var input = Concat(Preface, malformed, Frame(Headers, EndHeaders, 5, Sent), PingFrame);
        Assert.Equal(input, await RunAsync(input, [], maxFrameSize: 100));
        Assert.Equal(input, await RunAsync(input, Enumerable.Range(1, input.Length - 1), maxFrameSize: 100));
    }

    [Fact]
    public async Task A_connection_ending_inside_a_header_block_hands_over_what_there_is()
    {
        var input = Concat(Preface, ClientSettings, Frame(Headers, EndHeaders, 1, Sent)[..20]);
        Assert.Equal(input, await RunAsync(input, [30, 40]));
    }

    [Fact]
    public async Task A_read_waits_for_the_rest_of_a_held_back_block_then_returns_the_rewritten_frame()
    {
        var pipe = new Pipe();
        var reader = new Http2AuthorityRewritingReader(pipe.Reader);
        var headers = Frame(Headers, EndHeaders, 1, Sent);
        await pipe.Writer.WriteAsync(Concat(Preface, ClientSettings, headers[..12]));

        var first = await reader.ReadAsync().AsTask().WaitAsync(TestHost.Timeout);
        Assert.Equal(Concat(Preface, ClientSettings), first.Buffer.ToArray());
        reader.AdvanceTo(first.Buffer.End);

        var second = reader.ReadAsync();
        Assert.False(second.IsCompleted, "the read must wait for the rest of the header block");
        await pipe.Writer.WriteAsync(headers[12..]);
        var rewritten = await second.AsTask().WaitAsync(TestHost.Timeout);
        Assert.Equal(Frame(Headers, EndHeaders, 1, Received), rewritten.Buffer.ToArray());
        reader.AdvanceTo(rewritten.Buffer.Start, rewritten.Buffer.End); // examined, not consumed: waits for more octets

        var third = reader.ReadAsync();
        Assert.False(third.IsCompleted, "everything was examined: the read must wait for new octets");
        await pipe.Writer.WriteAsync(PingFrame);
        var again = await third.AsTask().WaitAsync(TestHost.Timeout);
        Assert.Equal(Frame(Headers, EndHeaders, 1, Received), again.Buffer.ToArray());
        reader.AdvanceTo(again.Buffer.End);

        Assert.True(reader.TryRead(out var ping));
        Assert.Equal(PingFrame, ping.Buffer.ToArray());
        reader.AdvanceTo(ping.Buffer.End);
        Assert.False(reader.TryRead(out _));

        reader.CancelPendingRead();
        Assert.True((await reader.ReadAsync()).IsCanceled);
        reader.Complete();
        await pipe.Writer.CompleteAsync();
    }

    [Fact]
    public async Task A_flood_of_empty_continuation_frames_is_held_back_boundedly_and_scanned_once()
    {
        // 80,000 empty CONTINUATION frames after a HEADERS frame without END_HEADERS, arriving 1,000 at a time: the reader
        // must neither hold them all back (unbounded memory) nor rescan the block on every read (quadratic CPU).
        const int frames = 80_000;
        const int perWrite = 1_000;
        var emptyContinuation = Frame(Continuation, 0, 1, []);
        var pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 0, useSynchronizationContext: false));
        var reader = new Http2AuthorityRewritingReader(pipe.Reader);
        var progress = new ConsumerProgress();
        var consumer = Task.Run(() => ConsumeAsync(reader, skipPreface: true, copy: false, progress));
        long written = 0;
        async Task WriteAsync(byte[] octets)
        {
            await pipe.Writer.WriteAsync(octets);
            written += octets.Length;
        }

        await WriteAsync(Concat(Preface, ClientSettings, Frame(Headers, 0, 1, Sent[..10])));
        var burst = Concat(Enumerable.Repeat(emptyContinuation, perWrite).ToArray());
        var maxHeldBack = 0L;
        for (var i = 0; i < frames / perWrite; i++)
        {
            await WriteAsync(burst);
            await WaitUntilAsync(() => written - progress.Octets <= MaxHeldBack, () => $"{written - progress.Octets} octets held back");
            maxHeldBack = Math.Max(maxHeldBack, written - progress.Octets);
        }

        await WriteAsync(Frame(Continuation, EndHeaders, 1, Sent[10..]));
        await pipe.Writer.CompleteAsync();
        var (length, _) = await consumer.WaitAsync(TestHost.Timeout);

        Assert.Equal(written, length); // everything passed, unchanged in length (no rewrite once flooding)
        Assert.InRange(maxHeldBack, 0, MaxHeldBack);
        Assert.InRange(reader.FrameHeadersScanned, 0, 2 * (Http2AuthorityRewritingReader.MaxContinuationFrames + 1));
    }

    [Fact]
    public async Task A_block_arriving_one_continuation_at_a_time_is_scanned_once_and_still_rewritten()
    {
        // The same block as in Streams(), with 30 empty CONTINUATION frames (under the cap) before the last fragment,
        // written one frame per read: every frame header is looked at once.
        var continuations = Enumerable.Repeat(Frame(Continuation, 0, 1, []), 30).ToArray();
        var input = Concat(Preface, ClientSettings, Frame(Headers, 0, 1, Sent[..10]), Concat(continuations),
            Frame(Continuation, EndHeaders, 1, Sent[10..]), Message(3));
        var cuts = new List<int>();
        var position = Preface.Length + ClientSettings.Length;
        while (position < input.Length)
        {
            position += 9 + ((input[position] << 16) | (input[position + 1] << 8) | input[position + 2]);
            cuts.Add(position);
        }

        cuts.RemoveAt(cuts.Count - 1);
        Assert.Equal(Concat(Preface, ClientSettings, Frame(Headers, EndHeaders, 1, Received), Message(3)), await RunAsync(input, cuts));
    }

    /// <summary>One HEADERS frame and the CONTINUATION frames the reader may hold back, at most (see MaxContinuationFrames).</summary>
    private const long MaxHeldBack = 2 * (9 + Http2AuthorityRewritingReader.DefaultMaxFrameSize) + 9 * (Http2AuthorityRewritingReader.MaxContinuationFrames + 1);

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> state)
    {
        using var deadline = new CancellationTokenSource(TestHost.Timeout);
        while (!condition())
        {
            Assert.False(deadline.IsCancellationRequested, "timed out: " + state());
            await Task.Yield();
        }
    }

    [Fact]
    public async Task Throughput_is_printed_for_bulk_data_and_for_small_grpc_requests()
    {
        var dataFrame = Frame(Data, 0, 1, new byte[16_384]);
        var bulk = Concat(Enumerable.Repeat(dataFrame, 64).ToArray()); // 1 MiB
        var unary = Concat(Enumerable.Repeat(Concat(Frame(Headers, EndHeaders, 3, SecondRequest), Frame(Data, EndStream, 3, new byte[24])), 10_000).ToArray());
        foreach (var (name, chunk, repeats) in new[] { ("16 KiB DATA frames", bulk, 32), ("HEADERS + 24-octet DATA frame pairs", unary, 10) })
        {
            double baseline = 0, rewriting = 0;
            for (var round = 0; round < 3; round++) // best of three: the first round warms up
            {
                baseline = Math.Max(baseline, await MeasureAsync(chunk, repeats, rewrite: false));
                rewriting = Math.Max(rewriting, await MeasureAsync(chunk, repeats, rewrite: true));
            }

            output.WriteLine($"{name}: {rewriting:F0} MB/s through the rewriting reader, {baseline:F0} MB/s straight from the pipe");
        }
    }

    private static async Task<double> MeasureAsync(byte[] chunk, int repeats, bool rewrite)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20, useSynchronizationContext: false));
        PipeReader reader = rewrite ? new Http2AuthorityRewritingReader(pipe.Reader) : pipe.Reader;
        var stopwatch = Stopwatch.StartNew();
        var consumer = ConsumeAsync(reader, skipPreface: rewrite, copy: false);
        if (rewrite)
            await pipe.Writer.WriteAsync(Preface);
        for (var i = 0; i < repeats; i++)
            await pipe.Writer.WriteAsync(chunk);
        await pipe.Writer.CompleteAsync();
        var octets = (await consumer.WaitAsync(TimeSpan.FromSeconds(60))).Length;
        Assert.Equal((long)chunk.Length * repeats + (rewrite ? Preface.Length : 0), octets);
        return octets / stopwatch.Elapsed.TotalSeconds / 1e6;
    }

    /// <summary>
    /// Feeds <paramref name="input"/> cut at <paramref name="cuts"/> through the reader to a Kestrel-like frame consumer.
    /// After each write the consumer must hold every unit (a frame, or a whole header block) the input holds so far:
    /// nothing complete may be held back waiting for further octets.
    /// </summary>
    private static Task<byte[]> RunAsync(byte[] input, IEnumerable<int> cuts, int maxFrameSize = Http2AuthorityRewritingReader.DefaultMaxFrameSize) =>
        // Off xUnit's synchronization context, where task continuations would not run inline.
        Task.Run(() => FeedAsync(input, cuts, maxFrameSize));

    private static async Task<byte[]> FeedAsync(byte[] input, IEnumerable<int> cuts, int maxFrameSize)
    {
        // Inline schedulers and no context: each write is processed by the consumer before WriteAsync returns.
        var pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        var progress = new ConsumerProgress();
        var consumer = ConsumeAsync(new Http2AuthorityRewritingReader(pipe.Reader, maxFrameSize), skipPreface: true, copy: true, progress);
        var start = 0;
        foreach (var cut in cuts.Append(input.Length))
        {
            await pipe.Writer.WriteAsync(input.AsMemory(start, cut - start)).ConfigureAwait(false);
            start = cut;
            Assert.Equal(CompleteUnits(input.AsSpan(0, cut)), progress.Units);
        }

        await pipe.Writer.CompleteAsync().ConfigureAwait(false);
        return (await consumer.WaitAsync(TestHost.Timeout).ConfigureAwait(false)).Output;
    }

    private sealed class ConsumerProgress
    {
        public int Units;
        public long Octets;
    }

    /// <summary>Frames other than HEADERS/CONTINUATION, and END_HEADERS frames, complete a unit.</summary>
    private static int CompleteUnits(ReadOnlySpan<byte> stream)
    {
        var units = 0;
        var position = Preface.Length;
        while (stream.Length - position >= 9)
        {
            var length = 9 + ((stream[position] << 16) | (stream[position + 1] << 8) | stream[position + 2]);
            if (stream.Length - position < length)
                break;
            if (EndsUnit(stream.Slice(position, 9)))
                units++;
            position += length;
        }

        return units;
    }

    private static bool EndsUnit(ReadOnlySpan<byte> header) =>
        header[3] is not (Headers or Continuation) || (header[4] & EndHeaders) != 0;

    /// <summary>
    /// Reads like Kestrel's HTTP/2 connection: the preface, then whole frames only, consuming what it parsed and examining
    /// everything; at the end of the input it takes what is left. Returns the octets taken (and their copy when asked).
    /// </summary>
    private static async Task<(long Length, byte[] Output)> ConsumeAsync(PipeReader reader, bool skipPreface, bool copy, ConsumerProgress? progress = null)
    {
        var taken = new ArrayBufferWriter<byte>();
        var header = new byte[9];
        long length = 0;
        var prefaceSeen = !skipPreface;
        while (true)
        {
            var result = await reader.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            var parsed = buffer;
            if (!prefaceSeen && parsed.Length >= Preface.Length)
            {
                parsed = parsed.Slice(Preface.Length);
                prefaceSeen = true;
            }

            while (prefaceSeen && parsed.Length >= 9)
            {
                parsed.Slice(0, 9).CopyTo(header);
                var frameLength = 9 + ((header[0] << 16) | (header[1] << 8) | header[2]);
                if (parsed.Length < frameLength)
                    break;
                if (progress is not null && EndsUnit(header))
                    progress.Units++;
                parsed = parsed.Slice(frameLength);
            }

            if (result.IsCompleted)
                parsed = parsed.Slice(parsed.End);
            var consumed = buffer.Slice(0, parsed.Start);
            length += consumed.Length;
            if (progress is not null)
                Volatile.Write(ref progress.Octets, length);
            if (copy)
            {
                foreach (var segment in consumed)
                    taken.Write(segment.Span);
            }

            reader.AdvanceTo(parsed.Start, parsed.End);
            if (result.IsCompleted)
                break;
        }

        reader.Complete();
        return (length, taken.WrittenSpan.ToArray());
    }
}
