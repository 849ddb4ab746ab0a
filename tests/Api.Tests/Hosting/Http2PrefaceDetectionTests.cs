using System.IO.Pipelines;
using System.Text;
using Akka.Etcd.Api.Hosting;

namespace Akka.Etcd.Api.Tests.Hosting;

public class Http2PrefaceDetectionTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    // Inline schedulers: when FlushAsync returns, the detector has already processed what was written.
    private static Pipe InlinePipe() => new(new PipeOptions(readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));

    public static TheoryData<byte[], bool> Inputs() => new()
    {
        { Preface.Concat(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }).ToArray(), true },
        { Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), false },
        { Encoding.ASCII.GetBytes("PRI * HTTP/1.1\r\nHost: x\r\n\r\n"), false },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Detects_the_preface_byte_by_byte_without_consuming_anything(byte[] input, bool expectHttp2)
    {
        var pipe = InlinePipe();
        var detection = Http2PrefaceDetection.StartsWithPrefaceAsync(pipe.Reader, CancellationToken.None).AsTask();
        var written = 0;
        while (!detection.IsCompleted && written < input.Length)
        {
            await pipe.Writer.WriteAsync(input.AsMemory(written, 1));
            written++;
        }

        Assert.True(detection.IsCompleted, "no decision after all bytes");
        Assert.Equal(expectHttp2, await detection);
        Assert.Equal(expectHttp2 ? Preface.Length : written, written);

        // The next reader (Kestrel's parser) gets every byte, at once, without waiting for more data.
        var read = pipe.Reader.ReadAsync();
        Assert.True(read.IsCompleted, "the next read must not wait for new data");
        Assert.Equal(input.AsMemory(0, written).ToArray(), System.Buffers.BuffersExtensions.ToArray((await read).Buffer));
    }

    [Fact]
    public async Task A_connection_closed_before_24_bytes_is_not_http2()
    {
        var pipe = InlinePipe();
        await pipe.Writer.WriteAsync(Preface.AsMemory(0, 10));
        await pipe.Writer.CompleteAsync();

        Assert.False(await Http2PrefaceDetection.StartsWithPrefaceAsync(pipe.Reader, CancellationToken.None));
        var read = await pipe.Reader.ReadAsync();
        Assert.Equal(10, read.Buffer.Length);
    }

    [Fact]
    public async Task A_silent_connection_is_given_up_when_the_token_fires()
    {
        var pipe = InlinePipe();
        using var cts = new CancellationTokenSource();
        var detection = Http2PrefaceDetection.StartsWithPrefaceAsync(pipe.Reader, cts.Token).AsTask();
        Assert.False(detection.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => detection);
    }
}
