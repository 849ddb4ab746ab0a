using System.Buffers;
using System.IO.Pipelines;
using Akka.Etcd.Api.Grpc;
using BenchmarkDotNet.Attributes;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.MicroBenchmarks.Grpc;

/// <summary>
/// The gRPC length-prefixed framing (src/Api/Grpc/Protocol): framing a PutRequest into a pooled buffer or a
/// pipe, and reading a batch of framed messages back through <see cref="GrpcMessageReader"/> as the server does.
/// </summary>
[MemoryDiagnoser]
public class GrpcFramingBenchmarks
{
    private const int BatchSize = 64;
    private PutRequest _put = null!;
    private int _putSize;
    private byte[] _batch = null!;
    private ArrayBufferWriter<byte> _writer = null!;

    /// <summary>Builds a PutRequest (8-byte key, 256-byte value) and 64 frames of it back to back.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _put = new PutRequest { Key = ByteString.CopyFrom(new byte[8]), Value = ByteString.CopyFrom(new byte[256]) };
        _putSize = _put.CalculateSize();
        var writer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < BatchSize; i++)
            GrpcFrame.WriteMessage(writer, _put, _putSize);
        _batch = writer.WrittenSpan.ToArray();
        _writer = new ArrayBufferWriter<byte>(64 * 1024);
    }

    /// <summary>One frame into an <see cref="ArrayPool{T}"/> buffer (the client's request path).</summary>
    [Benchmark]
    public int RentFramed()
    {
        var buffer = GrpcFrame.RentFramed(_put, _putSize, out var length);
        ArrayPool<byte>.Shared.Return(buffer);
        return length;
    }

    /// <summary>One frame into an <see cref="IBufferWriter{T}"/> (the server's response path).</summary>
    [Benchmark]
    public int WriteMessage()
    {
        _writer.ResetWrittenCount();
        GrpcFrame.WriteMessage(_writer, _put, _putSize);
        return _writer.WrittenCount;
    }

    /// <summary>64 frames read and parsed from a pipe (per-operation cost is this divided by 64).</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public async Task<int> ReadBatchFromPipe()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(_batch);
        await pipe.Writer.CompleteAsync();
        var reader = new GrpcMessageReader(pipe.Reader, int.MaxValue, null);
        var count = 0;
        while (await reader.ReadAsync(PutRequest.Parser, CancellationToken.None) is not null)
            count++;
        await pipe.Reader.CompleteAsync();
        return count;
    }
}
